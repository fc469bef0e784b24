"""Timelines without the model: the condition language (tokenizer, parser, evaluation), the firing rules, the
checks of [[timeline]] entries in scenario files, and the command line's errors."""

import itertools
import math
import pickle
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import Scenario, ScenarioError, load_scenario, scenario_from_toml
from sim.model.metrics import METRICS
from sim.scenario import PARAM_BY_KEY, SECTIONS
from sim.timeline import (
    FIXED_DURING_RUN,
    FIXED_SECTIONS,
    And,
    Compare,
    ExpressionError,
    Name,
    Not,
    Num,
    Or,
    TimelineError,
    TimelineRuntime,
    apply_to_scenario,
    compile_condition,
    evaluate,
    names_in,
    parse,
    parse_entries,
    to_text,
    tokenize,
)

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["partner_trust_a", "trust_min", "board_min", "adoption_min", "culture_b"]


# --- tokenizer ------------------------------------------------------------------------------------------------
def test_tokens_of_a_condition():
    toks = tokenize("partner_trust_a<0.3 and (week >= 52 or not trust_min != -1e-2)")
    assert [t.kind for t in toks] == [
        "NAME", "OP", "NUMBER", "AND", "LPAREN", "NAME", "OP", "NUMBER", "OR", "NOT", "NAME", "OP", "MINUS",
        "NUMBER", "RPAREN", "END",
    ]  # fmt: skip
    assert [t.value for t in toks if t.kind == "NUMBER"] == [0.3, 52.0, 0.01]
    assert toks[1].pos == 15 and toks[1].text == "<"


@pytest.mark.parametrize("text", ["1", "0.5", ".5", "3.", "1e3", "2.5E-2", "7e+1"])
def test_numbers(text):
    (tok, end) = tokenize(text)
    assert tok.kind == "NUMBER" and tok.value == float(text) and end.kind == "END"


@pytest.mark.parametrize(
    "text, fragment, column",
    [
        ("trust_min < 3abc", "malformed number", 13),
        ("trust_min < 1.2.3", "malformed number", 13),
        ("trust_min = 0.3", "use == to test equality", 11),
        ("trust_min < 0.3 && week > 2", "write and", 17),
        ("trust_min < 0.3 || week > 2", "write or", 17),
        ("!(trust_min < 0.3)", "write not", 1),
        ("trust_min + 1 < 0.3", "do not do arithmetic", 11),
        ("trust_min < 0.3 @", "unexpected character '@'", 17),
        ("trust_min < 0.3 AND week > 2", "write 'and' in lower case", 17),
        ("trust_min < True", "compares metrics or week with numbers", 13),
        ("trust_min < 0,3", "unexpected character ','", 14),
        ("trust_min < ²", "unexpected character '²'", 13),
        ("trust_min < ٣", "unexpected character '٣'", 13),
        ("trüst < 1", "unexpected character 'ü'", 3),
    ],
)
def test_scanner_errors_point_at_the_fault(text, fragment, column):
    with pytest.raises(ExpressionError) as err:
        parse(text, NAMES)
    assert fragment in err.value.message, err.value.message
    assert err.value.position + 1 == column, err.value.describe()
    lines = err.value.describe().splitlines()
    assert lines[0].endswith(f"(at column {column})") and lines[1].strip() == text
    assert lines[2].index("^") - 4 == column - 1  # the caret sits under the fault


# --- parser -------------------------------------------------------------------------------------------------
def test_precedence_not_then_and_then_or():
    a, b, c = (Compare((Name(n), Num(0.5)), ("<",)) for n in ("trust_min", "board_min", "culture_b"))
    assert parse("trust_min < 0.5 or board_min < 0.5 and culture_b < 0.5", NAMES) == Or((a, And((b, c))))
    assert parse("(trust_min < 0.5 or board_min < 0.5) and culture_b < 0.5", NAMES) == And((Or((a, b)), c))
    assert parse("not trust_min < 0.5 and board_min < 0.5", NAMES) == And((Not(a), b))
    assert parse("not (trust_min < 0.5 and board_min < 0.5)", NAMES) == Not(And((a, b)))
    assert parse("not not trust_min < 0.5", NAMES) == Not(Not(a))
    assert parse("((trust_min < 0.5))", NAMES) == a


def test_chained_comparisons_and_numbers_on_either_side():
    node = parse("0.2 < trust_min <= 0.4", NAMES)
    assert node == Compare((Num(0.2), Name("trust_min"), Num(0.4)), ("<", "<="))
    assert evaluate(node, {"trust_min": 0.3}) and not evaluate(node, {"trust_min": 0.5})
    assert evaluate(node, {"trust_min": 0.4}) and not evaluate(node, {"trust_min": 0.2})
    assert evaluate(parse("-1 < trust_min", NAMES), {"trust_min": -0.5})
    assert evaluate(parse("week >= 52", NAMES), {"week": 52})
    assert names_in(parse("trust_min < board_min and week > 3", NAMES)) == {"trust_min", "board_min", "week"}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty condition"),
        ("   ", "empty condition"),
        ("(trust_min < 0.3", "'(' is never closed"),
        ("trust_min < 0.3)", "')' without a matching '('"),
        ("trust_min <", "ends too soon"),
        ("trust_min", "expected a comparison after 'trust_min'"),
        ("trust_min < 0.3 board_min < 0.2", "join conditions with and / or"),
        ("3 < 4", "compares numbers only"),
        ("-trust_min < 3", "a minus sign goes only before a number"),
        ("(trust_min) < 0.3", "not conditions in parentheses"),
        ("trust_min < 0.3 and", "ends too soon"),
        ("and trust_min < 0.3", "expected a metric, week or a number, found 'and'"),
        ("trust_mni < 0.3", "unknown metric 'trust_mni' (did you mean 'trust_min'?)"),
        ("__import__ < 1", "unknown metric '__import__'"),
        ("trust_min < 0.3 and 0.5", "expected a comparison operator"),
        ("not", "ends too soon"),
        ("()", "expected a metric, week or a number, found ')'"),
    ],
)
def test_malformed_conditions_are_named(text, fragment):
    with pytest.raises(ExpressionError) as err:
        parse(text, NAMES)
    assert fragment in err.value.message, err.value.message


def test_limits_stop_long_or_deep_text_without_a_recursion_error():
    with pytest.raises(ExpressionError, match="longer than"):
        parse("trust_min < 0.3 and " * 60 + "week > 1", NAMES)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse("(" * 60 + "trust_min < 1" + ")" * 60, NAMES)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse("not " * 100 + "trust_min < 1", NAMES)
    parse("(" * 30 + "trust_min < 1" + ")" * 30, NAMES)  # deep but within the limit


def test_a_condition_is_never_evaluated_as_code(tmp_path):
    marker = tmp_path / "pwned"
    for text in (
        f"__import__('os').system('touch {marker}') < 1",
        f"exec(\"open('{marker}', 'w')\") < 1",
        "trust_min < 1 if True else 0",
        "trust_min < [x for x in ()]",
    ):
        with pytest.raises(ExpressionError):
            parse(text, NAMES)
    assert not marker.exists()


def test_missing_values_compare_false_as_in_ieee_arithmetic():
    env = {"trust_min": math.nan}
    assert not evaluate(parse("trust_min < 0.3", NAMES), env)
    assert not evaluate(parse("trust_min >= 0.3", NAMES), env)
    assert evaluate(parse("trust_min != 0.3", NAMES), env)
    assert evaluate(parse("not trust_min < 0.3", NAMES), env)


def test_entries_take_metric_names_from_the_models_list():
    every = " and ".join(f"{m} >= 0" for m in METRICS)
    (entry,) = parse_entries([{"when": every, "action": "buddy_withdraws"}], horizon=10, exec_team_size=7)
    assert names_in(entry.condition) == set(METRICS)
    with pytest.raises(TimelineError, match="unknown metric 'no_such_metric'"):
        parse_entries([{"when": "no_such_metric < 1", "action": "buddy_withdraws"}], horizon=10, exec_team_size=7)


# --- properties: a random condition, written out, parses back and evaluates as a direct computation -------------
def _condition(depth=3):
    name = st.sampled_from(NAMES + ["week"])
    number = st.floats(-2, 200, allow_nan=False).map(lambda x: round(x, 3))
    operand = st.one_of(name.map(lambda n: ("name", n)), number.map(lambda v: ("num", v)))
    op = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    comparison = st.tuples(name.map(lambda n: ("name", n)), st.lists(st.tuples(op, operand), min_size=1, max_size=2))
    comparison = comparison.map(lambda c: ("cmp", c[0], c[1]))
    if depth == 0:
        return comparison
    sub = _condition(depth - 1)
    return st.one_of(
        comparison,
        st.tuples(st.just("and"), st.lists(sub, min_size=2, max_size=3)),
        st.tuples(st.just("or"), st.lists(sub, min_size=2, max_size=3)),
        st.tuples(st.just("not"), sub),
    )


def _write(c) -> str:
    """The condition as a user would write it (every compound part in parentheses)."""
    if c[0] == "cmp":
        out = _operand_text(c[1])
        for op, o in c[2]:
            out += f" {op} {_operand_text(o)}"
        return out
    if c[0] == "not":
        return f"not ({_write(c[1])})"
    return f" {c[0]} ".join(f"({_write(x)})" for x in c[1])


def _operand_text(o) -> str:
    return o[1] if o[0] == "name" else repr(o[1])


def _truth(c, env) -> bool:
    """The condition computed directly in Python, independently of the module's parser and evaluator."""
    ops = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
    }
    if c[0] == "cmp":
        values = [env[o[1]] if o[0] == "name" else o[1] for o in [c[1]] + [o for _, o in c[2]]]
        return all(ops[op](values[k], values[k + 1]) for k, (op, _) in enumerate(c[2]))
    if c[0] == "not":
        return not _truth(c[1], env)
    parts = [_truth(x, env) for x in c[1]]
    return all(parts) if c[0] == "and" else any(parts)


_env = st.fixed_dictionaries(
    {
        **{n: st.floats(-1, 2, allow_nan=False) | st.sampled_from([0.0, 0.5, 1.0]) for n in NAMES},
        "week": st.integers(0, 200),
    }
)


@given(_condition(), _env)
def test_conditions_parse_and_evaluate_as_written(c, env):
    text = _write(c)
    node = parse(text, NAMES)
    expected = _truth(c, env)
    assert evaluate(node, env) == expected
    metrics = {k: v for k, v in env.items() if k != "week"}
    assert compile_condition(node)(metrics, env["week"]) == expected
    again = parse(to_text(node), NAMES)  # written back (canonically: nested and/or flattened), it reads the same
    assert to_text(again) == to_text(node) and evaluate(again, env) == expected


@given(st.text(alphabet=string.printable + "é→²٣", max_size=80) | st.text(max_size=40))
def test_any_text_parses_or_gives_an_expression_error(text):
    try:
        node = parse(text, NAMES)
    except ExpressionError as exc:
        position = exc.position
        assert 0 <= position <= len(text)
    else:
        assert names_in(node) <= set(NAMES) | {"week"}


# --- firing rules ---------------------------------------------------------------------------------------------------
def entries(*tables, horizon=156, metrics=NAMES):
    return parse_entries(list(tables), horizon=horizon, exec_team_size=7, metrics=metrics)


def fire_weeks(rt, trust, weeks=None):
    """Drive the runtime as an engine does: at week w, the metrics of the end of week w - 1 (trust[k] is the
    trust at the end of week k; trust[0] the initial state)."""
    weeks = weeks if weeks is not None else range(1, len(trust) + 1)
    out = []
    for w in weeks:
        for a in rt.due(w, {"trust_min": trust[w - 1], "board_min": 0.5}):
            out.append((w, a.entry))
    return out


CEO = {"action": "replace_chief_executive", "org": "A"}


def test_at_a_week_fires_once_at_that_week():
    rt = TimelineRuntime(entries({"at": 26, **CEO}))
    assert fire_weeks(rt, [0.5] * 100) == [(26, 0)]
    assert rt.fired == [(26, 0)]


def test_at_a_week_with_repeat_fires_every_gap():
    rt = TimelineRuntime(entries({"at": 10, "repeat": True, "min_gap": 30, **CEO}))
    assert [w for w, _ in fire_weeks(rt, [0.5] * 100)] == [10, 40, 70, 100]


def test_at_a_week_fires_late_rather_than_never_if_the_engine_skips_it():
    rt = TimelineRuntime(entries({"at": 26, **CEO}))
    assert fire_weeks(rt, [0.5] * 60, weeks=[20, 30, 40]) == [(30, 0)]


def test_when_once_fires_the_first_week_the_condition_holds_on_last_weeks_metrics():
    trust = [0.5] * 9 + [0.2] * 5 + [0.5] * 10 + [0.2] * 5  # below 0.3 at the end of weeks 9-13 and 24-28
    rt = TimelineRuntime(entries({"when": "trust_min < 0.3", **CEO}))
    assert fire_weeks(rt, trust) == [(10, 0)]  # decided at the start of week 10, on week 9's metrics


def test_when_repeat_fires_every_week_it_holds_and_with_a_gap_at_most_every_gap():
    trust = [0.5] * 9 + [0.2] * 5 + [0.5] * 10 + [0.2] * 5
    every = TimelineRuntime(entries({"when": "trust_min < 0.3", "repeat": True, **CEO}))
    assert [w for w, _ in fire_weeks(every, trust)] == [10, 11, 12, 13, 14, 25, 26, 27, 28, 29]
    gapped = TimelineRuntime(entries({"when": "trust_min < 0.3", "repeat": True, "min_gap": 3, **CEO}))
    assert [w for w, _ in fire_weeks(gapped, trust)] == [10, 13, 25, 28]


def test_conditions_may_use_the_week_and_are_never_due_at_week_0():
    rt = TimelineRuntime(entries({"when": "week >= 0 and board_min > 0", **CEO}, {"at": 0, **CEO}))
    assert [a.entry for a in rt.due(0, None)] == [1]
    assert [a.entry for a in rt.due(0, {"board_min": 1.0, "trust_min": 1.0})] == []  # at-0 fired; conditions wait
    assert [a.entry for a in rt.due(1, {"board_min": 1.0, "trust_min": 1.0})] == [0]
    late = TimelineRuntime(entries({"when": "week >= 52", **CEO}))
    assert fire_weeks(late, [0.5] * 60) == [(52, 0)]


def test_entries_due_in_the_same_week_fire_in_file_order():
    rt = TimelineRuntime(
        entries(
            {"when": "trust_min < 0.3", "action": "buddy_withdraws"},
            {"at": 5, **CEO},
            {"when": "board_min > 0.4", "action": "new_initiative"},
        )
    )
    assert fire_weeks(rt, [0.5] * 4 + [0.1] * 10)[:3] == [(1, 2), (5, 0), (5, 1)]  # trust low from the end of week 4


@given(
    st.lists(st.booleans(), min_size=1, max_size=120),
    st.booleans(),
    st.integers(1, 20),
)
def test_firing_matches_the_rule_as_stated(below, repeat, gap):
    """Due at week w iff the condition held on week w - 1's metrics; once, or again after at least gap weeks."""
    table = {"when": "trust_min < 0.3", **CEO, "repeat": repeat}
    if repeat:
        table["min_gap"] = gap
    rt = TimelineRuntime(entries(table))
    trust = [0.1 if b else 0.5 for b in below]
    got = [w for w, _ in fire_weeks(rt, trust)]
    expected, last = [], None
    for w in range(1, len(trust) + 1):
        if not below[w - 1]:
            continue
        if last is None or (repeat and w - last >= gap):
            expected.append(w)
            last = w
    assert got == expected


# --- entries in scenario files --------------------------------------------------------------------------------------
def scen(body: str, tmp_path=None, name="t.toml"):
    text = "[run]\nsteps = 156\n" + body
    if tmp_path is None:
        return scenario_from_toml(text, source=name)
    f = tmp_path / name
    f.write_text(text)
    return load_scenario(f)


def test_every_action_is_parsed_into_what_an_engine_needs():
    sc = scen("""
[[timeline]]
at = 26
action = "replace_chief_executive"
org = "a"
label = "new CEO for A at six months"

[[timeline]]
at = 52
action = "replace_board_member"
org = "B"
seat = 3
interim = true

[[timeline]]
at = 52
action = "buddy_withdraws"

[[timeline]]
when = "trust_min < 0.35"
action = "union_stance"
stance = "partner"

[[timeline]]
at = 104
action = "new_initiative"
count = 2

[[timeline]]
when = "week >= 104 and adoption_min < 0.2"
repeat = true
min_gap = 26
action = "set"
set = { "system.regulatory_alignment" = 0.9, leadership = { message_alignment = 0.8 } }
""")
    a = [e.action for e in sc.timeline]
    assert (a[0].kind, a[0].org, a[0].seat, a[0].interim, a[0].label) == (
        "replace_leader",
        "A",
        0,
        False,
        "new CEO for A at six months",
    )
    assert (a[1].kind, a[1].org, a[1].seat, a[1].interim) == ("replace_leader", "B", 3, True)
    assert a[2].kind == "buddy_withdraws" and a[2].org == "B"
    assert a[3].kind == "set_parameters" and dict(a[3].changes) == {"staff.union_stance": "partner"}
    assert (a[4].kind, a[4].key, a[4].delta) == ("adjust_parameter", "initiative.simultaneous_changes", 2.0)
    assert dict(a[5].changes) == {"system.regulatory_alignment": 0.9, "leadership.message_alignment": 0.8}
    assert sc.timeline[5].repeat and sc.timeline[5].min_gap == 26 and sc.timeline[5].when.startswith("week")
    assert a[5].event(110) == {
        "step": 110,
        "kind": "timeline",
        "org": None,
        "action": "set",
        "entry": 5,
        "label": "system.regulatory_alignment = 0.9; leadership.message_alignment = 0.8",
        "changes": {"system.regulatory_alignment": 0.9, "leadership.message_alignment": 0.8},
    }
    assert set(sc.changes) <= {"run.steps"}  # a timeline is not a change of the scenario's parameters...
    assert sc != Scenario()  # ... but it is part of the scenario
    assert scenario_from_toml(sc.to_toml()) == sc  # written back and read again
    assert sc.replace({"system.competition": 0.7}).timeline == sc.timeline
    assert pickle.loads(pickle.dumps(sc)) == sc  # sweeps send scenarios to worker processes


def test_a_parameter_set_at_week_0_is_the_same_change_as_in_the_file():
    with_timeline = scen('[[timeline]]\nat = 0\naction = "set"\nset = { "leadership.message_alignment" = 0.9 }\n')
    in_file = scen("[leadership]\nmessage_alignment = 0.9\n")
    rt = TimelineRuntime(with_timeline.timeline)
    started = apply_to_scenario(with_timeline, rt.due(0, None))
    assert dict(started) == dict(in_file)


def test_a_new_initiative_adds_to_the_changes_and_stops_at_the_schemas_maximum():
    sc = scen(
        '[initiative]\nsimultaneous_changes = 99\n[[timeline]]\nat = 5\nrepeat = true\nmin_gap = 5\naction = "new_initiative"\n'
    )
    rt = TimelineRuntime(sc.timeline)
    sc1 = apply_to_scenario(sc, rt.due(5, {}))
    assert sc1["initiative.simultaneous_changes"] == 100
    assert apply_to_scenario(sc1, rt.due(10, {}))["initiative.simultaneous_changes"] == 100
    assert apply_to_scenario(sc, [])["initiative.simultaneous_changes"] == 99


BAD = [
    ('when = "partner_trust_c < 0.3"\naction = "buddy_withdraws"', "timeline[0].when", "unknown metric 'partner_trust_c' (did you mean 'partner_trust_"),
    ('when = "partner_trust_a < "\naction = "buddy_withdraws"', "timeline[0].when", "ends too soon"),
    ('when = "partner_trust_a < 0.3"\naction = "buddy_withdraw"', "timeline[0].action", "did you mean 'buddy_withdraws'"),
    ('at = 200\naction = "buddy_withdraws"', "timeline[0].at", "beyond the horizon (run.steps = 156)"),
    ('at = -1\naction = "buddy_withdraws"', "timeline[0].at", "from 0 to the horizon"),
    ('at = 2.5\naction = "buddy_withdraws"', "timeline[0].at", "whole number of weeks"),
    ('action = "buddy_withdraws"', "timeline[0]", "either at = <week> or when"),
    ('at = 3\nwhen = "week > 2"\naction = "buddy_withdraws"', "timeline[0]", "one of the two"),
    ("at = 3", "timeline[0].action", "missing"),
    ('at = 3\naction = "set"\nset = { "organisations.staff_a" = 500 }', "timeline[0].set.organisations.staff_a", "cannot change during a run: the size and structure"),
    ('at = 3\naction = "set"\nset = { "organisations.culture_a" = 0.5 }', "timeline[0].set.organisations.culture_a", "initial state only"),
    ('at = 3\naction = "set"\nset = { "run.steps" = 20 }', "timeline[0].set.run.steps", "horizon and the seed"),
    ('at = 3\naction = "set"\nset = { "mechanisms.unions" = false }', "timeline[0].set.mechanisms.unions", "which submodels run"),
    ('at = 3\naction = "set"\nset = { "partnership.bridge_scope" = "wide" }', "timeline[0].set.partnership.bridge_scope", "cross-organisation ties"),
    ('at = 3\naction = "set"\nset = { "leadership.turnover_aa" = 1.0 }', "timeline[0].set.leadership.turnover_aa", "did you mean 'turnover_a'"),
    ('at = 3\naction = "set"\nset = { "leadership.turnover_a" = 99.0 }', "timeline[0].set.leadership.turnover_a", "out of range"),
    ('at = 3\naction = "set"\nset = { "staff.union_stance" = "partners" }', "timeline[0].set.staff.union_stance", "did you mean 'partner'"),
    ('at = 3\naction = "set"\nset = { "leadership.commitment_a" = 0.995 }', "timeline[0].set", "too wide for leadership.commitment_a = 0.995"),
    ('at = 3\naction = "set"\nset = {}', "timeline[0].set", "expected a table of parameters"),
    ('at = 3\naction = "set"', "timeline[0].set", "expected a table of parameters"),
    ('at = 3\naction = "buddy_withdraws"\nmin_gap = 4', "timeline[0].min_gap", "only used with repeat = true"),
    ('at = 3\naction = "buddy_withdraws"\nrepeat = "yes"', "timeline[0].repeat", "true or false"),
    ('at = 3\nrepeat = true\nmin_gap = 0\naction = "buddy_withdraws"', "timeline[0].min_gap", ">= 1"),
    ('at = 3\naction = "replace_chief_executive"\norg = "C"', "timeline[0].org", '"A" (the trust in difficulty) or "B"'),
    ('at = 3\naction = "replace_chief_executive"', "timeline[0].org", '"A"'),
    ('at = 3\naction = "replace_board_member"\norg = "A"\nseat = 0', "timeline[0].seat", "use replace_chief_executive"),
    ('at = 3\naction = "replace_board_member"\norg = "A"\nseat = 7', "timeline[0].seat", "from 1 to 6"),
    ('at = 3\naction = "replace_chief_executive"\norg = "A"\nseat = 2', "timeline[0].seat", "belongs to action 'replace_board_member'"),
    ('at = 3\naction = "replace_chief_executive"\norg = "A"\ninterim = 1', "timeline[0].interim", "true or false"),
    ('at = 3\naction = "union_stance"\nstance = "hostile"', "timeline[0].stance", "'partner', 'neutral', 'excluded'"),
    ('at = 3\naction = "new_initiative"\ncount = 0', "timeline[0].count", "from 1 to 100"),
    ('at = 3\naction = "buddy_withdraws"\nlable = "x"', "timeline[0].lable", "did you mean 'label'"),
    ('at = 3\naction = "buddy_withdraws"\nlabel = ""', "timeline[0].label", "short text"),
    ('when = 3\naction = "buddy_withdraws"', "timeline[0].when", "condition as a string"),
]  # fmt: skip


@pytest.mark.parametrize("body, key, fragment", BAD)
def test_bad_entries_are_named_with_file_entry_and_key(tmp_path, body, key, fragment):
    with pytest.raises(ScenarioError) as err:
        scen(
            f'[[timeline]]\nat = 1\naction = "buddy_withdraws"\n\n[[timeline]]\n{body}\n'.replace(
                "timeline[0]", "timeline[1]"
            ),
            tmp_path,
        )
    msg = str(err.value)
    key = key.replace("timeline[0]", "timeline[1]")
    assert msg.startswith(f"{tmp_path / 't.toml'}: {key}: "), msg
    assert fragment in msg, msg


def test_a_timeline_that_is_not_a_list_of_tables():
    for body in ("timeline = 3\n", "[timeline]\nat = 3\n"):
        with pytest.raises(ScenarioError, match="expected \\[\\[timeline\\]\\] tables"):
            scenario_from_toml(body, source="t.toml")


def test_the_horizon_of_the_file_is_the_one_checked():
    scenario_from_toml('[run]\nsteps = 300\n[[timeline]]\nat = 200\naction = "buddy_withdraws"\n')
    with pytest.raises(ScenarioError, match=r"run.steps = 100"):
        scenario_from_toml('[run]\nsteps = 100\n[[timeline]]\nat = 200\naction = "buddy_withdraws"\n')


def test_fixed_parameters_exist_in_the_schema():
    assert set(FIXED_DURING_RUN) <= set(PARAM_BY_KEY)
    assert set(FIXED_SECTIONS) <= set(SECTIONS)
    changeable = [k for k in PARAM_BY_KEY if k not in FIXED_DURING_RUN and k.split(".")[0] not in FIXED_SECTIONS]
    assert "leadership.message_alignment" in changeable and "staff.union_stance" in changeable


def test_parse_entries_reports_its_own_errors_without_a_scenario():
    with pytest.raises(TimelineError) as err:
        parse_entries([{"at": 1, "action": "nope"}], horizon=10, exec_team_size=7, metrics=NAMES)
    assert err.value.key == "timeline[0].action"


# --- the command line -----------------------------------------------------------------------------------------------
def buddysim(*args):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_command_line_names_a_bad_timeline_and_runs_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[timeline]]\nat = 5\naction = "buddy_withdraws"\n\n[[timeline]]\nwhen = "partner_trust_c < 0.3"\naction = "buddy_withdraws"\n'
    )
    good = tmp_path / "good.toml"
    good.write_text('# does a new CEO help?\n[[timeline]]\nat = 26\naction = "replace_chief_executive"\norg = "A"\n')
    for cmd in (("validate", bad), ("run", bad, "--out", tmp_path / "o")):
        p = buddysim(*cmd)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert f"{bad}: timeline[1].when: unknown metric 'partner_trust_c'" in p.stderr
        assert "^" in p.stderr
    p = buddysim("validate", good)
    assert (
        p.returncode == 0
        and "1 timeline entry" in p.stdout
        and "week 26, once: A's chief executive replaced" in p.stdout
    )
    p = buddysim("run", good, "--steps", 30, "--out", tmp_path / "o", "--no-plots")
    assert p.returncode == 0, p.stderr
    events = (tmp_path / "o" / "events.csv").read_text()
    assert ",26,timeline,A," in events  # the firing is in the event log


_valid_action = st.one_of(
    st.fixed_dictionaries({"action": st.just("replace_chief_executive"), "org": st.sampled_from(["A", "B", "a"])}),
    st.fixed_dictionaries(
        {"action": st.just("replace_board_member"), "org": st.sampled_from(["A", "B"]), "seat": st.integers(1, 6)},
        optional={"interim": st.booleans()},
    ),
    st.fixed_dictionaries({"action": st.just("buddy_withdraws")}),
    st.fixed_dictionaries({"action": st.just("union_stance"), "stance": st.sampled_from(["partner", "excluded"])}),
    st.fixed_dictionaries({"action": st.just("new_initiative")}, optional={"count": st.integers(1, 100)}),
    st.fixed_dictionaries(
        {
            "action": st.just("set"),
            "set": st.dictionaries(
                st.sampled_from(["leadership.message_alignment", "system.competition", "partnership.trust_gain"]),
                st.floats(0, 1, allow_nan=False),
                min_size=1,
            ),
        }
    ),
)
_valid_entry = st.builds(
    lambda action, trigger, often: {**trigger, **often, **action},
    _valid_action,
    st.integers(0, 156).map(lambda w: {"at": w})
    | st.sampled_from(["trust_min < 0.3", "week >= 52 and not (board_min > 0.5 or adoption_min < 0.1)"]).map(
        lambda c: {"when": c}
    ),
    st.just({}) | st.integers(1, 52).map(lambda g: {"repeat": True, "min_gap": g}) | st.just({"repeat": True}),
)


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(x)}' for k, x in v.items()) + " }"
    return repr(v)


@given(st.lists(_valid_entry, min_size=1, max_size=5))
def test_valid_timelines_load_write_back_and_fire_in_order(tables):
    from sim.scenario import _toml_value  # the schema's own TOML writer

    text = "".join("[[timeline]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in t.items()) + "\n" for t in tables)
    sc = scenario_from_toml(text, source="t.toml")
    assert len(sc.timeline) == len(tables) and [e.index for e in sc.timeline] == list(range(len(tables)))
    assert scenario_from_toml(sc.to_toml(), source="again.toml") == sc
    rt = TimelineRuntime(sc.timeline)
    metrics = dict.fromkeys(METRICS, 0.2)
    for w in range(157):
        due = rt.due(w, None if w == 0 else metrics)
        assert [a.entry for a in due] == sorted(a.entry for a in due)
    for i, e in enumerate(sc.timeline):
        weeks = [w for w, j in rt.fired if j == i]
        if e.at is not None:
            assert weeks[0] == e.at
        if not e.repeat:
            assert len(weeks) <= 1
        assert all(b - a >= e.min_gap for a, b in itertools.pairwise(weeks))


def test_the_docs_list_every_action_and_every_parameter_fixed_during_a_run():
    from sim.timeline import ACTIONS

    text = (ROOT / "docs" / "timelines.md").read_text()
    for name in ACTIONS:
        assert f"`{name}`" in text, name
    for key in FIXED_DURING_RUN:
        assert f"`{key}`" in text or f"`{key.split('.', 1)[1]}`" in text, key
    for section in FIXED_SECTIONS:
        assert f"`[{section}]`" in text, section


# --- a timeline checked again when its scenario's parameters change -------------------------------------------
TOGETHER = """
[[timeline]]
at = 10
action = "set"
set = { "leadership.commitment_sd" = 0.45 }

[[timeline]]
when = "trust_min < 0.5"
action = "set"
set = { "leadership.commitment_a" = 0.95 }
"""


def test_set_entries_that_do_not_fit_together_are_refused_when_the_file_is_read():
    for text in TOGETHER.split("\n\n[[timeline]]"):  # each entry alone fits
        scenario_from_toml(text if text.lstrip().startswith("[[") else "[[timeline]]" + text, source="alone")
    with pytest.raises(ScenarioError) as exc:
        scenario_from_toml(TOGETHER, source="t.toml")
    assert exc.value.key == "timeline[1].set", exc.value  # the rule names the other entry's key
    assert "leadership.commitment_sd: 0.45 is too wide for leadership.commitment_a = 0.95" in str(exc.value)
    assert "once timeline[0] and timeline[1] have all fired; each alone fits" in str(exc.value)


SEAT_5 = '[[timeline]]\nat = 30\naction = "replace_board_member"\norg = "A"\nseat = 5\n'


def test_a_timeline_is_checked_again_after_its_parameters_change():
    from sim.timeline import check_for

    sc = scenario_from_toml(SEAT_5, source="seat.toml")  # the default team has 7 seats: seat 5 is A's
    check_for(sc)
    with pytest.raises(ScenarioError, match=r"seat\.toml: timeline\[0\]\.at: week 30 is beyond the horizon .*\(after"):
        check_for(sc.replace({"run.steps": 20}), "after")
    with pytest.raises(ScenarioError, match=r"timeline\[0\]\.seat: expected an executive seat from 1 to 2"):
        check_for(sc.replace({"leadership.exec_team_size": 3}))  # seat 5 would be B's seat 2
    check_for(Scenario().replace({"run.steps": 1}))  # no timeline: nothing to check


def test_run_steps_below_a_timelines_week_is_a_clear_error(cli, tmp_path):
    code, _out, err = cli("run", "new_chief_executive_at_six_months", "--steps", "20", "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert "timeline[0].at: week 26 is beyond the horizon (run.steps = 20)" in err and "(with --steps 20)" in err
    assert not (tmp_path / "o").exists()


def test_design_points_must_fit_the_base_scenarios_timeline(tmp_path):
    from sim.sweep import ExperimentError, load_experiment

    (tmp_path / "seat.toml").write_text(SEAT_5)
    (tmp_path / "exp.toml").write_text(
        '[experiment]\nscenario = "seat.toml"\ndesign = "grid"\n\n'
        '[vary."leadership.exec_team_size"]\nvalues = [7, 3]\n\n[record]\nseries = ["trust_min"]\n'
    )
    with pytest.raises(ExperimentError, match=r"point 1: timeline\[0\]\.seat: expected an executive seat from 1 to 2"):
        load_experiment(tmp_path / "exp.toml")
    (tmp_path / "exp.toml").write_text(
        '[experiment]\nscenario = "seat.toml"\ndesign = "grid"\n\n[set]\n"run.steps" = 20\n\n'
        '[vary."leadership.exec_team_size"]\nvalues = [7]\n\n[record]\nseries = ["trust_min"]\n'
    )
    with pytest.raises(ExperimentError, match=r"week 30 is beyond the horizon \(run.steps = 20\)"):
        load_experiment(tmp_path / "exp.toml")
