"""The briefing's claims as paired experiments: loading, judging, and the command."""

import subprocess
import sys
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


def test_a_certain_effect_holds_and_its_opposite_is_contradicted(tmp_path):
    f = tmp_path / "claims.toml"
    f.write_text(
        """
[[claim]]
id = "goodwill"
claim = "goodwill and co-design raise bedding in"
briefing = "test"
measure = "bedded_in"
direction = "higher"
scenario = "%s"
[claim.without]
"system.history" = -1.0
"system.competition" = 1.0
[claim.with]
"system.history" = 1.0
"system.competition" = 0.0

[[claim]]
id = "goodwill_backwards"
claim = "the same, predicted the wrong way"
briefing = "test"
measure = "bedded_in"
direction = "lower"
scenario = "%s"
[claim.without]
"system.history" = -1.0
"system.competition" = 1.0
[claim.with]
"system.history" = 1.0
"system.competition" = 0.0

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
    table = check_claims(load_claims(f), replications=30, seed=3, changes=SMALL)
    verdicts = dict(zip(table["id"], table["verdict"]))
    assert verdicts == {"goodwill": "holds", "goodwill_backwards": "contradicted", "nothing": "not shown"}
    nothing = table[table["id"] == "nothing"].iloc[0]
    assert nothing["effect"] == 0 and nothing["low"] < 0 < nothing["high"]
    assert "**holds**" in to_markdown(table)


def test_bad_claims_files_are_named(tmp_path):
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
    p = subprocess.run(
        [sys.executable, "-m", "sim", "evidence", f, "-r", "2"], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 2 and "system.competiton" in p.stderr and "did you mean" in p.stderr
    assert "Traceback" not in p.stderr
