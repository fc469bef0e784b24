"""Fuzzing the inputs (issue 13, case 7): generated scenario files, experiment files and command lines give a
result or one clear message (exit 2), never a traceback. Each fuzzer runs at least 2,000 examples in-process
(a few milliseconds each), including what broke the loaders before: arrays and tables nested ~1,000 deep,
integers of more than 4,300 digits, huge integers where a number is expected, NUL bytes and terminal
escapes in strings and paths, duplicate names, empty tables.

Set BUDDYSIM_FUZZ_COUNTS=<file> to write the counts (inputs, accepted, clean rejections) as JSON."""

from __future__ import annotations

import json
import os
import string
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import PARAMS, Scenario, ScenarioError, scenario_from_toml
from sim.model.metrics import METRICS
from sim.model.statistics import STATISTICS
from sim.scenario import SECTIONS, load_scenario
from sim.sweep import Experiment, ExperimentError, experiment_from_toml

EXAMPLES = 2000
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
COUNTS: dict[str, Counter] = {}


def _record(name: str, outcome: str) -> None:
    COUNTS.setdefault(name, Counter())[outcome] += 1
    path = os.environ.get("BUDDYSIM_FUZZ_COUNTS")
    if path and COUNTS[name]["inputs"] % 500 == 0:
        _dump(path)


def _dump(path: str) -> None:
    Path(path).write_text(json.dumps({k: dict(v) for k, v in COUNTS.items()}, indent=1))


def _finish(name: str) -> Counter:
    path = os.environ.get("BUDDYSIM_FUZZ_COUNTS")
    if path:
        _dump(path)
    return COUNTS[name]


# --- TOML values, from ordinary to hostile -------------------------------------------------------------------
def _int_text(n: int) -> str:
    return str(n)


huge_ints = st.builds(lambda k, sign: ("-" if sign else "") + "9" * k, st.integers(300, 5200), st.booleans())
ints = st.integers(-(10**6), 10**6).map(_int_text) | st.integers(-(2**70), 2**70).map(_int_text) | huge_ints
floats = st.sampled_from(
    ["0.5", "1e308", "-1e308", "1e-320", "inf", "-inf", "nan", "1.5e3", "0.0", "-0.0"]
) | st.floats(-1e6, 1e6, allow_nan=False).map(repr)
hostile_chars = st.sampled_from(["\\u0000", "\\u001b[31m", "\\t", "\\n", "é", "../", "\\\\", "'", "%s", "{}"])
strings = st.lists(hostile_chars | st.text(string.ascii_letters + "_.- ", max_size=6), max_size=4).map(
    lambda parts: '"' + "".join(parts).replace('"', "") + '"'
)
choice_words = st.sampled_from(['"wide"', '"leaders"', '"partner"', '"excluded"', '"neutral"', '"managers"'])
scalars = ints | floats | st.sampled_from(["true", "false"]) | strings | choice_words | st.just("1979-05-27")


def nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "1" + "]" * depth
    return "{a = " * depth + "1" + "}" * depth


deep = st.builds(nested, st.integers(50, 1500), st.sampled_from(["array", "table"]))
values = scalars | st.lists(scalars, max_size=3).map(lambda v: "[" + ", ".join(v) + "]") | deep | st.just("{}")
param_names = st.sampled_from([p.name for p in PARAMS])
keys = param_names | st.text(string.ascii_lowercase + "_", min_size=1, max_size=10) | st.just('"a\\u0000b"')


def good_value(p) -> st.SearchStrategy[str]:
    """A value the schema accepts alone (rules across parameters may still refuse it)."""
    if p.choices:
        return st.sampled_from([f'"{c}"' for c in p.choices])
    if p.kind is bool:
        return st.sampled_from(["true", "false"])
    if p.kind is int:
        return st.integers(int(p.low), min(int(p.high), int(p.low) + 1000)).map(str)
    return st.floats(p.low, p.high, allow_nan=False).map(repr)


good_pairs = st.one_of([st.tuples(st.just(p.section), st.just(p.name), good_value(p)) for p in PARAMS])
hostile_pairs = st.tuples(
    st.sampled_from(SECTIONS) | st.text(string.ascii_lowercase, min_size=1, max_size=8), keys, values
)


@st.composite
def scenario_documents(draw) -> str:
    """Mostly sound documents with a few hostile entries (so both the accepting and the refusing paths run)."""
    by_section: dict[str, list[str]] = {}
    for _ in range(draw(st.integers(0, 6))):
        section, key, value = draw(good_pairs if draw(st.integers(0, 3)) else hostile_pairs)
        by_section.setdefault(section, []).append(f"{key} = {value}")
    lines = []
    for section, entries in by_section.items():
        lines.append(f"[{section}]")
        lines.extend(dict.fromkeys(entries))  # a key given twice is a TOML error: keep most documents parseable
    if draw(st.integers(0, 9)) == 0:  # a duplicate key or table now and then
        lines.append(draw(st.sampled_from(["[run]\nsteps = 5\n[run]", "[zz]\nx = 1\nx = 2"])))
    return "\n".join(lines) + "\n"


@FUZZ
@given(scenario_documents())
def _fuzz_scenarios(text):
    _record("scenario files", "inputs")
    error = None
    try:
        sc = scenario_from_toml(text, source="fuzz.toml")
    except ScenarioError as exc:
        error = str(exc)
    if error is None:
        assert isinstance(sc, Scenario)
        _record("scenario files", "accepted")
    else:
        assert error.startswith("fuzz.toml")
        assert "\x00" not in error and "\x1b" not in error, "control characters are escaped in messages"
        _record("scenario files", "clean rejections")


@pytest.mark.slow
def test_fuzzed_scenario_files_never_traceback():
    _fuzz_scenarios()
    counts = _finish("scenario files")
    assert counts["inputs"] >= EXAMPLES and counts["clean rejections"] > 0 and counts["accepted"] > 0, counts


# --- experiment files -------------------------------------------------------------------------------------------
vary_keys = st.sampled_from(["values", "low", "high", "steps", "scale", "distribution", "mean", "sd", "mode", "stepz"])
good_vary = st.sampled_from(
    [
        "values = [0.1, 0.9]",
        "low = 0.0\nhigh = 1.0\nsteps = 3",
        "low = 0.0\nhigh = 1.0",
        'values = ["excluded", "partner"]',
        'low = 0.1\nhigh = 3.0\nscale = "log"\nsteps = 2',
        'low = 0.0\nhigh = 1.0\ndistribution = "normal"\nmean = 0.5\nsd = 0.2',
    ]
)
vary_params = st.sampled_from(
    ["system.competition", "leadership.turnover_a", "staff.union_stance", "organisations.staff_a", "run.steps"]
)


@st.composite
def experiment_documents(draw) -> str:
    lines = ["[experiment]"]
    hostile = draw(st.integers(0, 2)) == 0  # one document in three is hostile throughout
    design = draw(st.sampled_from(['"grid"', '"lhs"', '"sobol"', '"morris"', '"table"', '"gird"', "3"]))
    if not hostile:
        design = draw(st.sampled_from(['"grid"', '"lhs"', '"sobol"', '"morris"']))
    lines.append(f"design = {design}")
    if not hostile and design != '"grid"':
        lines.append(f"samples = {draw(st.sampled_from(['2', '4', '8']))}")
    for key, vals in (
        ("replications", st.sampled_from(["1", "2", "0", "-1", "100001", '"2"']) | huge_ints),
        ("samples", st.sampled_from(["2", "4", "3", "0", "10000000", "16"]) | huge_ints),
        ("seed", st.sampled_from(["0", "7", "-1", "9223372036854775808"]) | huge_ints),
        ("name", strings | st.sampled_from(['"../../x"', '"ok-name"', '"."', '""', "5"])),
        ("chunk", st.sampled_from(["1", "3", "0"])),
        ("second_order", st.sampled_from(["true", "1"])),
        ("scenario", st.sampled_from(['"nope.toml"', '"a\\u0000b.toml"', "3", '""'])),
    ):
        if hostile and draw(st.integers(0, 3)) == 0:
            lines.append(f"{key} = {draw(vals)}")
    if draw(st.booleans()):
        lines.append("[set]")
        for _ in range(draw(st.integers(1, 3))):
            section, name, value = draw(good_pairs if not hostile else hostile_pairs)
            lines.append(f'"{section}.{name}" = {value}')
    for _ in range(draw(st.integers(0, 3))):
        lines.append(f'[vary."{draw(vary_params if not hostile else vary_params | keys)}"]')
        if not hostile or draw(st.booleans()):
            lines.append(draw(good_vary))
        else:
            for _ in range(draw(st.integers(0, 3))):
                lines.append(f"{draw(vary_keys)} = {draw(values)}")
    if draw(st.booleans()):
        lines.append("[record]")
        names = st.sampled_from(list(METRICS)[:6] + ["trust", "trust_min"])
        lines.append("series = " + json.dumps(draw(st.lists(names, max_size=4))))
        lines.append("final = " + json.dumps(draw(st.lists(st.sampled_from([*list(STATISTICS)[:3], "x"]), max_size=3))))
        lines.append(f"every = {draw(st.sampled_from(['1', '4', '0', '2.5']))}")
    if draw(st.integers(0, 4)) == 0:
        for _ in range(draw(st.integers(1, 3))):
            lines.append('[[points]]\n"system.competition" = ' + draw(values))
    return "\n".join(lines) + "\n"


@FUZZ
@given(experiment_documents())
def _fuzz_experiments(text):
    from sim.sweep.design import Plan, design_size
    from sim.sweep.resources import plan_memory

    _record("experiment files", "inputs")
    error = None
    try:
        exp = experiment_from_toml(text, source="fuzz.toml")
        points, runs = design_size(exp)
        if runs <= 400:  # the sweep's own preparation: chunks, table schemas, the memory check
            plan = Plan(exp)
            assert plan.n_runs == runs and plan.points <= points
            plan.chunk_rows(plan.n_chunks - 1)
            plan_memory(exp, runs, workers=2, workers_given=True, local=True, force=False, log=lambda *a: None)
    except ExperimentError as exc:
        error = str(exc)
    if error is None:
        assert isinstance(exp, Experiment)
        _record("experiment files", "accepted")
    else:
        assert error.startswith("fuzz.toml") and "\x00" not in error, error
        _record("experiment files", "clean rejections")


@pytest.mark.slow
def test_fuzzed_experiment_files_never_traceback():
    _fuzz_experiments()
    counts = _finish("experiment files")
    assert counts["inputs"] >= EXAMPLES and counts["clean rejections"] > 0 and counts["accepted"] > 0, counts


# --- paths and command lines ---------------------------------------------------------------------------------
path_parts = st.sampled_from(
    ["a", "..", ".", "x.toml", "\x00", "dir", "é", " ", "\x1b[2J", "nul\x00.toml", "/dev/null"]
)


@FUZZ
@given(st.lists(path_parts, min_size=1, max_size=4).map("/".join), st.sampled_from(["scenario", "experiment"]))
def _fuzz_paths(path, kind):
    from sim.sweep import load_experiment

    _record("paths", "inputs")
    error = None
    try:
        (load_scenario if kind == "scenario" else load_experiment)(path)
    except ScenarioError as exc:
        error = str(exc)
    if error is None:
        _record("paths", "accepted")
    else:
        assert "\x00" not in error and "\x1b" not in error, error
        _record("paths", "clean rejections")


@pytest.mark.slow
def test_fuzzed_paths_never_traceback():
    _fuzz_paths()
    counts = _finish("paths")
    assert counts["inputs"] >= EXAMPLES and counts["clean rejections"] > 0, counts


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(scenario_documents() | experiment_documents(), min_size=1, max_size=3))
def _fuzz_validate_command(texts):
    """`buddysim validate a b c` in-process: every file is checked (one result line or error per file)."""
    import contextlib
    import io
    import tempfile

    from sim.cli import main

    _record("validate command", "inputs")
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, text in enumerate(texts):
            f = Path(tmp) / f"f{i}.toml"
            f.write_text(text)
            files.append(str(f))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", *files])
        assert code in (0, 2)
        assert out.getvalue().count("ok: ") + err.getvalue().count("buddysim: error: ") == len(files), err.getvalue()
        _record("validate command", "clean rejections" if code else "accepted")


@pytest.mark.slow
def test_validate_checks_every_file_it_is_given():
    _fuzz_validate_command()
    counts = _finish("validate command")
    assert counts["inputs"] >= 300, counts
