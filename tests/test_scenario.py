"""Scenario files: defaults, bundled files, and clear errors for bad input."""

import math
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import PARAMS, Scenario, ScenarioError, load_scenario, scenario_from_toml
from sim.scenario import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))


def test_every_parameter_is_documented_with_unit_and_range():
    for p in PARAMS:
        assert p.doc and p.unit, p.key
        if p.kind in (int, float):
            assert p.low is not None and p.high is not None, p.key
            assert p.low <= p.default <= p.high, p.key
        if p.choices:
            assert p.default in p.choices
    Scenario()  # the defaults pass their own validation


def test_at_least_eight_bundled_scenarios_each_with_its_question():
    assert len(BUNDLED) >= 8
    assert (ROOT / "scenarios" / "baseline.toml") in BUNDLED
    for f in BUNDLED:
        sc = load_scenario(f)
        assert "?" in sc.description.splitlines()[0], f"{f.name}: first comment must ask a question"


def test_file_states_only_what_it_changes(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("[leadership]\nturnover_a = 1.2\n")
    sc = load_scenario(f)
    assert sc.changes == {"leadership.turnover_a": 1.2}
    assert sc["leadership.turnover_b"] == Scenario()["leadership.turnover_b"]


def test_round_trip_through_toml():
    sc = Scenario(
        {
            "leadership.turnover_a": 1.2,
            "staff.union_stance": "partner",
            "mechanisms.unions": False,
            "organisations.staff_a": 300,
        }
    )
    again = scenario_from_toml(sc.to_toml())
    assert again == sc


@pytest.mark.parametrize(
    "text, key, fragment",
    [
        ("[leadership]\nturnover_aa = 1.0\n", "leadership.turnover_aa", "did you mean 'turnover_a'"),
        ("[leadershp]\nturnover_a = 1.0\n", "leadershp", "did you mean 'leadership'"),
        ('[leadership]\nturnover_a = "high"\n', "leadership.turnover_a", "expected a number from 0 to 52"),
        ("[leadership]\nturnover_a = 99.0\n", "leadership.turnover_a", "out of range"),
        ("[organisations]\nstaff_a = 10.5\n", "organisations.staff_a", "expected an integer"),
        ("[organisations]\nstaff_a = true\n", "organisations.staff_a", "got a boolean"),
        ('[staff]\nunion_stance = "partners"\n', "staff.union_stance", "did you mean 'partner'"),
        ("[mechanisms]\nmessaging = 1\n", "mechanisms.messaging", "expected true or false"),
        ("leadership = 3\n", "leadership", "expected a table"),
        (
            "[organisations]\nshare_clinical = 0.8\nshare_managerial = 0.3\n",
            "organisations.share_managerial",
            "must not exceed 1",
        ),
        ("[organisations]\nculture_a = 0.02\nattitude_sd = 0.3\n", "organisations.attitude_sd", "too wide"),
        ("[system]\nhistory = nan\n", "system.history", "expected a number"),
    ],
)
def test_bad_values_are_named(tmp_path, text, key, fragment):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert str(f) in msg and key in msg and fragment in msg, msg


def test_malformed_toml_names_its_line(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[run]\nsteps = 10\n\n[system\ncompetition = 0.5\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert str(f) in str(err.value) and "line 4" in str(err.value)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.toml")
    f = tmp_path / "latin.toml"
    f.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(f)
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_scenario_text_is_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    f = tmp_path / "evil.toml"
    f.write_text(f"[staff]\nunion_stance = \"__import__('os').system('touch {marker}')\"\n")
    with pytest.raises(ScenarioError, match="expected one of"):
        load_scenario(f)
    assert not marker.exists()


# --- fuzzing: generated TOML documents never produce anything but a Scenario or a ScenarioError
_names = st.sampled_from([p.name for p in PARAMS]) | st.text(string.ascii_lowercase + "_", min_size=1, max_size=12)
_values = (
    st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.text(max_size=10)
    | st.lists(st.integers(), max_size=3)
)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return '"' + "".join(c if c.isalnum() else "_" for c in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


@given(
    st.dictionaries(
        st.sampled_from(SECTIONS) | st.text(string.ascii_lowercase, min_size=1, max_size=8),
        st.dictionaries(_names, _values, max_size=5),
        max_size=4,
    )
)
def test_generated_documents_never_traceback(doc):
    text = "".join(
        f"[{sec}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in body.items()) for sec, body in doc.items()
    )
    try:
        sc = scenario_from_toml(text, source="fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml: ")  # noqa: PT017  (a fuzz test: either outcome is allowed)
    else:
        assert isinstance(sc, Scenario)


# Timelines: entries with likely and unlikely keys, conditions made of metric names, operators and junk,
# parameter tables with real and made-up keys.
_condition_words = st.sampled_from(
    ["partner_trust_a", "trust_min", "week", "board_min", "nope", "<", "<=", ">", "==", "!=", "=", "and", "or",
     "not", "(", ")", "0.3", "-1", "52", "1e9", "3abc", "&&", "__import__", "'x'"]
)  # fmt: skip
_conditions = st.lists(_condition_words, max_size=8).map(" ".join) | st.text(max_size=20)
_param_tables = st.dictionaries(
    st.sampled_from([p.key for p in PARAMS]) | st.text(string.ascii_lowercase + "._", min_size=1, max_size=12),
    _values,
    max_size=3,
)
_actions = st.sampled_from(
    ["set", "replace_chief_executive", "replace_board_member", "buddy_withdraws", "union_stance", "new_initiative"]
)
_random_entries = st.dictionaries(
    st.sampled_from(
        ["at", "when", "repeat", "min_gap", "action", "label", "set", "org", "seat", "interim", "stance", "count", "x"]
    ),
    _values | _conditions | _param_tables | _actions | st.sampled_from(["A", "b", "partner"]),
    max_size=6,
)
_plausible_entries = st.builds(
    lambda action, trigger, extra: {"action": action, **trigger, **extra},
    _actions,
    st.one_of(
        st.integers(-2, 320).map(lambda w: {"at": w}),
        _conditions.map(lambda c: {"when": c}),
        st.sampled_from(["trust_min < 0.3", "week >= 52 and not board_min > 0.5"]).map(lambda c: {"when": c}),
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "org": st.sampled_from(["A", "b", "C"]),
            "seat": st.integers(-1, 8),
            "stance": st.sampled_from(["partner", "excluded", "hostile"]),
            "count": st.integers(0, 120),
            "interim": st.booleans(),
            "repeat": st.booleans(),
            "min_gap": st.integers(0, 60),
            "set": st.dictionaries(
                st.sampled_from(
                    ["leadership.message_alignment", "system.competition", "organisations.staff_a", "run.steps",
                     "staff.union_stance", "leadership.turnover_x"]
                ),
                st.floats(-0.5, 1.5, allow_nan=False) | st.sampled_from(["partner", "wide"]),
                max_size=2,
            ),
        },
    ),
)  # fmt: skip
_timeline_entries = _random_entries | _plausible_entries


def _toml_any(v):
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_any(x)}' for k, x in v.items()) + " }"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _toml_value(v)


@given(st.lists(_plausible_entries, max_size=3) | st.lists(_timeline_entries, max_size=4), st.integers(1, 300))
def test_generated_timelines_never_traceback(entries, steps):
    text = f"[run]\nsteps = {steps}\n" + "".join(
        "\n[[timeline]]\n" + "".join(f"{k} = {_toml_any(v)}\n" for k, v in e.items()) for e in entries
    )
    try:
        sc = scenario_from_toml(text, source="fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml: ")  # noqa: PT017  (a fuzz test: either outcome is allowed)
        key = exc.key
        assert key is None or key.startswith("timeline") or key == "run.steps", key
    else:
        assert len(sc.timeline) == len(entries)
        assert scenario_from_toml(sc.to_toml()) == sc


@given(st.text(max_size=200))
def test_arbitrary_text_never_tracebacks(text):
    try:
        scenario_from_toml(text, source="fuzz.toml")
    except ScenarioError:
        pass


def test_odd_documents_every_parameter_with_its_current_default():
    """docs/ODD.md must not drift from the schema: its parameter tables are generated from it (and from the
    calibration's priors) and up to date, and every parameter but the switches sits in one of them."""
    import re
    import subprocess
    import sys

    check = subprocess.run([sys.executable, str(ROOT / "docs" / "build_tables.py"), "--check"], capture_output=True,
                           text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    text = (ROOT / "docs" / "ODD.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+\.[a-z0-9_]+)` \|", text, flags=re.M)
    missing = [p.key for p in PARAMS if p.section != "mechanisms" and p.key not in rows]
    assert missing == []
    for p in PARAMS:
        if p.section == "mechanisms":
            assert f"`{p.name}`" in text, p.key


# --- what broke the loader before (issue 13, case 7): each a clear ScenarioError now ---------------------------
@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[run]\nsteps = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
        ("[run]\nsteps = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n", "nested too deeply"),
        ("[run]\nsteps = " + "9" * 4400 + "\n", "more than 4,300 digits (line 2)"),
        ("[system]\nhistory = " + "9" * 400 + "\n", "an integer of 400 digits is out of range"),
        ("[leadership]\nturnover_a = " + "9" * 4000 + "\n", "out of range"),
        ('[staff]\nunion_stance = "a\\u0000b"\n', "expected one of"),
        ('[staff]\nunion_stance = "\\u001b[2J"\n', "expected one of"),
    ],
)
def test_hostile_documents_are_clear_errors(text, fragment):
    with pytest.raises(ScenarioError) as err:
        scenario_from_toml(text, source="hostile.toml")
    msg = str(err.value)
    assert msg.startswith("hostile.toml: ") and fragment in msg, msg
    assert "\x00" not in msg and "\x1b" not in msg and len(msg) < 600, "input is echoed escaped and cut short"


def test_hostile_paths_are_clear_errors(tmp_path):
    for path, fragment in (
        ("a\x00b.toml", "NUL byte"),
        (tmp_path, "is a directory"),
        ("/dev/zero", "too large"),
        (tmp_path / ("x" * 300 + ".toml"), "cannot read"),
    ):
        with pytest.raises(ScenarioError, match=fragment):
            load_scenario(path)


def test_validate_checks_every_file_and_reports_each(tmp_path, capsys):
    from sim.cli import main

    files = []
    for name, text in (
        ("deep.toml", "[run]\nsteps = " + "[" * 1000 + "]" * 1000 + "\n"),
        ("ok.toml", "[run]\nsteps = 10\n"),
        ("long.toml", "[run]\nsteps = " + "1" * 5000 + "\n"),
        ("float.toml", "[system]\nhistory = " + "9" * 400 + "\n"),
        ("exp.toml", '[experiment]\nreplications = 2\n[vary."system.competition"]\nvalues = [0.1, 0.9]\n'),
        ("badexp.toml", '[record]\nseries = ["trust_min", "trust_min"]\n'),
    ):
        f = tmp_path / name
        f.write_text(text)
        files.append(str(f))
    assert main(["validate", *files]) == 2
    out, err = capsys.readouterr()
    assert (
        out.count("ok: ") == 2 and "ok.toml" in out and "exp.toml (experiment: grid design, 2 point(s), 4 runs)" in out
    )
    for name in ("deep.toml", "long.toml", "float.toml", "badexp.toml"):
        assert name in err, err
    assert "4 of 6 files have errors" in err and "Traceback" not in err


# --- scenarios built on another (base = ...) -----------------------------------------------------------------
def test_every_bundled_scenario_builds_on_the_baseline_and_states_only_what_differs():
    baseline = load_scenario("baseline")
    for f in BUNDLED:
        if f.stem == "baseline":
            continue
        sc = load_scenario(f)
        own = scenario_from_toml(f.read_text().replace('base = "baseline"', ""), source=str(f))
        changed = {k for k in dict(own) if own[k] != Scenario()[k]}
        assert changed or sc.timeline, f"{f.name} changes nothing"
        for key in PARAMS:
            k = key.key
            assert sc[k] == (own[k] if k in changed else baseline[k]), (f.name, k)


def test_a_file_builds_on_another_file_and_overrides_it(tmp_path):
    (tmp_path / "parent.toml").write_text("[system]\ncompetition = 0.8\nplace_identity = 0.1\n")
    (tmp_path / "sub").mkdir()
    child = tmp_path / "sub" / "child.toml"
    child.write_text('base = "../parent.toml"\n[system]\ncompetition = 0.2\n')
    sc = load_scenario(child)
    assert sc["system.competition"] == 0.2 and sc["system.place_identity"] == 0.1
    grandchild = tmp_path / "g.toml"
    grandchild.write_text('base = "sub/child.toml"\n[run]\nsteps = 20\n')
    g = load_scenario(grandchild)
    assert (g["system.competition"], g["system.place_identity"], g["run.steps"]) == (0.2, 0.1, 20)


@pytest.mark.parametrize(
    "files, fragment",
    [
        ({"a.toml": 'base = "a.toml"\n'}, "a loop of base scenarios"),
        ({"a.toml": 'base = "b.toml"\n', "b.toml": 'base = "a.toml"\n'}, "a loop of base scenarios"),
        ({"a.toml": 'base = "baseline_typo"\n'}, "no bundled scenario of that name and no such file"),
        ({"a.toml": "base = 3\n"}, "expected the name of a bundled scenario or the path of a scenario file"),
        ({"a.toml": '[run]\nbase = "baseline"\n'}, "goes at the top of the file"),
        ({"a.toml": 'base = "b.toml"\n', "b.toml": "[system]\ncompetition = 7\n"}, "system.competition"),
        (
            {
                "a.toml": 'base = "b.toml"\n',
                "b.toml": '[[timeline]]\nat = 5\naction = "buddy_withdraws"\n',
            },
            "they are not inherited",
        ),
    ],
)
def test_bad_bases_are_clear_errors(tmp_path, files, fragment):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ScenarioError, match=fragment) as info:
        load_scenario(tmp_path / "a.toml")
    assert "a.toml" in str(info.value) or "b.toml" in str(info.value)


def test_a_chain_of_bases_has_a_limit(tmp_path):
    from sim.scenario import MAX_BASE_DEPTH

    for i in range(MAX_BASE_DEPTH + 2):
        (tmp_path / f"s{i}.toml").write_text(f'base = "s{i + 1}.toml"\n' if i <= MAX_BASE_DEPTH else "")
    with pytest.raises(ScenarioError, match="built on one another"):
        load_scenario(tmp_path / "s0.toml")
    assert load_scenario(tmp_path / f"s{2}.toml")["run.steps"] == Scenario()["run.steps"]
