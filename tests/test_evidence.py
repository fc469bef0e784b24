"""The briefing's claims as paired experiments: loading, judging, and the command."""

from pathlib import Path

import pytest

from sim import ScenarioError
from sim.validation.evidence import check_claims, load_claims, to_markdown

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"organisations.staff_a": 80, "organisations.staff_b": 120, "organisations.team_size": 10, "run.steps": 60}


def test_bundled_claims_cover_the_briefing():
    claims = load_claims(ROOT / "validation" / "claims.toml")
    ids = {c.id for c in claims}
    assert {
        "stable_visible_leadership",
        "consistent_messaging",
        "authentic_engagement",
        "time_to_build_relationships",
        "regulatory_alignment",
        "competition",
        "simultaneous_changes",
        "leadership_churn",
        "rivalry_history",
        "compatible_culture",
        "similar_size",
    } <= ids
    for c in claims:
        assert set(c.with_) == set(c.without), f"{c.id}: both arms must set the same parameters"


#: The planted effect is certain by construction, not a property of the model's rules or its calibration: in
#: the "with" arm the bed-in thresholds are 0 (every run beds in after 13 weeks unless it fails first), in the
#: "without" arm partner trust must reach 1.0 (no run's mean ever does). So the test checks the evidence
#: machinery (paired arms, Newcombe's interval, verdicts) for any seed and any calibration
#: (tests/seeds_evidence.py re-checks seeds 0-19).
PLANTED = {**SMALL, "run.steps": 52}


def judge_planted_claims(tmp_path, seed):
    f = tmp_path / "claims.toml"
    f.write_text(
        """
[[claim]]
id = "goodwill"
claim = "bed-in thresholds that every run meets raise bedding in"
briefing = "test"
measure = "bedded_in"
direction = "higher"
scenario = "%s"
[claim.without]
"outcome.bed_in_trust" = 1.0
"outcome.bed_in_adoption" = 1.0
"outcome.bed_in_weeks" = 13
[claim.with]
"outcome.bed_in_trust" = 0.0
"outcome.bed_in_adoption" = 0.0
"outcome.bed_in_weeks" = 13

[[claim]]
id = "goodwill_backwards"
claim = "the same, predicted the wrong way"
briefing = "test"
measure = "bedded_in"
direction = "lower"
scenario = "%s"
[claim.without]
"outcome.bed_in_trust" = 1.0
"outcome.bed_in_adoption" = 1.0
"outcome.bed_in_weeks" = 13
[claim.with]
"outcome.bed_in_trust" = 0.0
"outcome.bed_in_adoption" = 0.0
"outcome.bed_in_weeks" = 13

[[claim]]
id = "nothing"
claim = "a factor that changes nothing"
briefing = "test"
measure = "failed"
direction = "higher"
[claim.without]
"mechanisms.unions" = true
[claim.with]
"mechanisms.unions" = true
""".replace("%s", (ROOT / "scenarios" / "place_based_goodwill.toml").as_posix())
    )
    return check_claims(load_claims(f), replications=30, seed=seed, changes=PLANTED)


def test_a_certain_effect_holds_and_its_opposite_is_contradicted(tmp_path):
    table = judge_planted_claims(tmp_path, seed=3)
    verdicts = dict(zip(table["id"], table["verdict"]))
    assert verdicts == {"goodwill": "holds", "goodwill_backwards": "contradicted", "nothing": "not shown"}
    nothing = table[table["id"] == "nothing"].iloc[0]
    assert nothing["effect"] == 0 and nothing["low"] < 0 < nothing["high"]
    assert "**holds**" in to_markdown(table)


def test_bad_claims_files_are_named(tmp_path, cli):
    f = tmp_path / "claims.toml"
    f.write_text(
        '[[claim]]\nid = "x"\nclaim = "x"\nbriefing = "x"\nmeasure = "bedded"\ndirection = "higher"\n'
        "[claim.with]\n[claim.without]\n"
    )
    with pytest.raises(ScenarioError, match=r"claim\[0\]\.measure"):
        load_claims(f)
    f.write_text(
        '[[claim]]\nid = "x"\nclaim = "x"\nbriefing = "x"\nmeasure = "failed"\ndirection = "higher"\n'
        '[claim.with]\n"system.competiton" = 1.0\n[claim.without]\n'
    )
    code, _, err = cli("evidence", f, "-r", 2, "--out", tmp_path / "out")
    assert code == 2 and "system.competiton" in err and "did you mean" in err
    assert not (tmp_path / "out").exists()
