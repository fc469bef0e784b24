"""Guards on the submodels' declarations: one set of switches everywhere, and a random stream per mechanism."""

import re
from pathlib import Path

import numpy as np
import pytest

from sim import Scenario, Simulation, run
from sim.model import compiled
from sim.model.mechanisms import declarations, modules
from sim.scenario import MECHANISMS, PARAM_BY_KEY

from .conftest import SMALL

ROOT = Path(__file__).resolve().parents[1]


def odd_process_switches() -> set[str]:
    """The switches named in docs/ODD.md section 3's process table."""
    text = (ROOT / "docs" / "ODD.md").read_text()
    section = text[text.index("## 3. Process overview") : text.index("## 4. Design concepts")]
    rows = [line for line in section.splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    return {name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[3])}


def test_switches_submodels_and_odd_are_one_set():
    schema = set(MECHANISMS)
    submodels = {d.name for d in declarations()}
    modifiers = {m for d in declarations() for m in d.modifiers}
    assert submodels | modifiers == schema
    assert not submodels & modifiers
    # the compiled engine: the generated week kernel calls exactly the submodels, in the schema's order
    source = compiled.week_source()
    called = re.findall(r"# ([a-z_]+)\n", source)
    assert called == [d.name for d in declarations()]
    assert called == [m for m in MECHANISMS if m in submodels]
    # the reference engine: every submodel has its one-agent-at-a-time version
    assert all(callable(getattr(m, "reference", None)) for m in modules())
    # docs/ODD.md section 3 lists the same switches
    assert odd_process_switches() == schema


def test_declared_parameters_exist_and_every_parameter_is_read():
    """Each declaration names real scenario keys; every model parameter is read by some submodel, the
    initial state or the outcome (a parameter nothing reads is a knob that does nothing)."""
    read = set()
    for decl in declarations():
        keys = decl.scenario_keys()
        assert keys <= set(PARAM_BY_KEY), f"{decl.name}: unknown {keys - set(PARAM_BY_KEY)}"
        read |= keys
    sources = "".join(p.read_text() for p in (ROOT / "sim" / "model").rglob("*.py"))
    unread = [
        key
        for key in PARAM_BY_KEY
        if not key.startswith(("mechanisms.", "run.")) and key not in read and f'"{key}"' not in sources
    ]
    assert unread == []


def test_kernel_names_follow_the_scenario():
    """A search for a parameter's scenario name finds the kernel that uses it."""
    text = (ROOT / "sim" / "model" / "mechanisms" / "joint_working.py").read_text()
    assert "p[P.success_trust_weight]" in text


# --- common random numbers -------------------------------------------------------------------------------
def leadership_events(sc, seed=3):
    r = run(sc, seed)
    return [e for e in r.events if e["kind"] in ("departure", "appointment")]


#: The regulator's escalations replace executives, so it is off: then who leaves and who is appointed depends on
#: the leadership submodel's own numbers only.
LEADERS_BUSY = {**SMALL, "leadership.turnover_a": 3.0, "leadership.turnover_b": 3.0, "run.steps": 60,
                "mechanisms.regulator": False}  # fmt: skip


@pytest.mark.parametrize("mechanism", [m for m in MECHANISMS if m not in ("leadership_turnover", "regulator")])
def test_switching_another_mechanism_off_leaves_leadership_draws_alone(mechanism):
    """Departures and appointments depend only on the leadership submodel's own numbers: switching any
    other submodel off leaves every one of them where it was (one shared stream would reshuffle them)."""
    base = Scenario(LEADERS_BUSY)
    reference = leadership_events(base)
    assert len(reference) > 20
    assert leadership_events(base.replace({f"mechanisms.{mechanism}": False})) == reference


@pytest.mark.parametrize(
    "change",
    [
        {"leadership.message_alignment": 0.9},
        {"system.competition": 0.1},
        {"partnership.engagement_authenticity": 0.9},
        {"partnership.ties_per_100_staff": 80.0},
        {"staff.turnover_per_year": 0.5},
    ],
)
def test_changing_a_parameter_elsewhere_leaves_leadership_draws_alone(change):
    base = Scenario(LEADERS_BUSY)
    assert leadership_events(base.replace(change)) == leadership_events(base)


def test_a_newcomer_draws_from_the_posts_slot():
    """Two runs that differ in how often people leave: where the same post is refilled in the same week in
    both, the newcomer brings the same attitudes and union membership (the post's numbers for that week)."""
    only = {f"mechanisms.{m}": m == "staff_turnover" for m in MECHANISMS}
    a = Simulation(Scenario({**SMALL, **only, "staff.turnover_per_year": 1.0}), 8)
    b = Simulation(Scenario({**SMALL, **only, "staff.turnover_per_year": 3.0}), 8)
    both_hired = only_b = 0
    for _ in range(20):
        a.step()
        b.step()
        sa, sb = a.state, b.state
        hired = (sa.tenure == 0) & (sb.tenure == 0)
        both_hired += int(hired.sum())
        for name in ("culture", "tp", "tl", "loyalty"):
            assert np.array_equal(getattr(sa, name)[hired], getattr(sb, name)[hired]), name
        assert np.array_equal(sa.union[hired], sb.union[hired])
        only_b += int(((sb.tenure == 0) & (sa.tenure != 0)).sum())
    assert both_hired > 10 and only_b > 10  # the runs really differ, and often coincide


def test_initial_state_does_not_depend_on_the_switches_or_on_dynamics_parameters():
    base = Scenario(SMALL)
    a = Simulation(base, 5).snapshot()
    b = Simulation(base.replace({"mechanisms.messaging": False, "leadership.message_alignment": 0.9}), 5).snapshot()
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    # more initial ties add ties but leave the first ones and everyone's attitudes where they were
    c = Simulation(base.replace({"partnership.ties_per_100_staff": 80.0}), 5).snapshot()
    for key in ("culture", "tp", "tl", "loyalty", "role", "union", "tenure", "l_commit", "e_u"):
        assert np.array_equal(a[key], c[key]), key
    first = {(u, v) for u, v in zip(a["x_u"].tolist(), a["x_v"].tolist())}
    assert first <= {(u, v) for u, v in zip(c["x_u"].tolist(), c["x_v"].tolist())}


def test_the_code_digest_ignores_docs_typing_and_layout_but_not_code():
    """Saved results are reused while the model's code is the same: documentation, annotations and formatting
    do not count as a change; an operator does."""
    import ast

    from sim.run import _without_docs_and_types, model_code_digest

    def digest(src):
        return ast.dump(_without_docs_and_types(ast.parse(src)))

    base = 'def f(x):\n    """Old words."""\n    return x + 1\n'
    assert digest(base) == digest('def f(x: float) -> float:\n    """New words."""\n\n    return (x + 1)  # same\n')
    assert digest(base) != digest('def f(x):\n    """Old words."""\n    return x - 1\n')
    typed = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import B\n"
        "class C:\n    n: int\n    m: float = 2.0\n    def f(self, b: B) -> None:\n        k: int = 1\n"
    )
    untyped = "from typing import TYPE_CHECKING\nclass C:\n    m = 2.0\n    def f(self, b):\n        k = 1\n"
    assert digest(typed) == digest(untyped)
    assert digest(typed) != digest(untyped.replace("m = 2.0", "m = 3.0"))
    assert digest("if TYPE_CHECKING:\n    x = 1\nelse:\n    x = 2\n") != digest("x = 2\n")  # an else runs
    assert model_code_digest() == model_code_digest() and len(model_code_digest()) == 64


def _dtype_of(hint: object) -> np.dtype:
    """The dtype of an array alias of sim/model/types.py (``Floats`` -> float64)."""
    import typing

    import numpy.typing as npt

    alias = hint.__value__ if isinstance(hint, typing.TypeAliasType) else hint
    assert typing.get_origin(alias) is npt.NDArray, hint
    (scalar,) = typing.get_args(alias)
    return np.dtype(scalar)


@pytest.mark.parametrize("growth", [0.0, 0.05])
def test_the_kernels_annotations_are_the_arrays_the_engine_passes(growth):
    """mypy checks the kernels against their annotations; these must be what numba really gets. Every argument
    of every submodel's ``step`` (and every array ``State`` declares) has the dtype its annotation says, over a
    run, and the arrays a kernel returns have the dtypes of its return annotation."""
    import typing

    from sim.model.compiled import kernel_arguments, returned_arrays
    from sim.model.state import ARRAYS, State

    changes = {"run.steps": 20, "staff.growth_per_year": growth}
    if growth:  # growth is implemented for the staff demography only (the scenario loader says so)
        changes |= {f"mechanisms.{m}": m in {"leadership_turnover", "staff_turnover"} for m in MECHANISMS}
    sim = Simulation(Scenario(SMALL).replace(changes), 3)
    engine = sim.engine
    declared = typing.get_type_hints(State)
    for _ in range(3):
        st = engine.state
        frame = {"p": engine.p, "keys": engine.keys, "counts": engine.counts, "out": engine.out,
                 "memory": engine.memory, "ev": engine.ev, "n_ev": engine.n_ev, "staff": st.staff,
                 "newcomer_spec": engine.newcomer_spec, "newcomer_keys": engine.newcomer_keys}  # fmt: skip
        arrays = st.arrays()
        for name in ARRAYS:
            assert arrays[name].dtype == _dtype_of(declared[name]), f"State.{name}"
        checked = 0
        for m in modules():
            hints = typing.get_type_hints(m.step.py_func)
            for name in kernel_arguments(m):
                if name in ("t", "n_a"):
                    assert hints[name] is int, (m.__name__, name)
                    continue
                value = frame[name] if name in frame else arrays[name]
                assert value.dtype == _dtype_of(hints[name]), (m.__name__, name, value.dtype)
                checked += 1
            if m.MECHANISM.returns:
                returned = typing.get_args(hints["return"])
                assert len(returned) == len(m.MECHANISM.returns)
                for name, hint in zip(m.MECHANISM.returns, returned):
                    assert arrays[name].dtype == _dtype_of(hint), (m.__name__, "returns", name)
            else:
                assert hints["return"] is type(None), m.__name__
        assert checked > 100
        assert set(returned_arrays()) <= set(ARRAYS)
        sim.step()


def test_the_reference_engines_people_executives_and_ties_hold_what_they_declare():
    """The reference engine's agents are typed for mypy (``Person``'s fixed attributes and core attitudes,
    ``Leader``, ``Tie``); over a few weeks of every submodel their values are of those types (an int8 where an
    int is declared, or a numpy bool for a bool, fails)."""
    import typing

    from sim.model.reference import Leader, Person, Tie

    sim = Simulation(Scenario(SMALL).replace({"run.steps": 20}), 4, engine="reference")
    engine = sim.engine
    declared = typing.get_type_hints(Person)
    attitudes = [v.name for v in engine.attitudes]
    leader_types = {k: v for k, v in typing.get_type_hints(Leader.__init__).items() if k != "return"}
    tie_types = {k: v for k, v in typing.get_type_hints(Tie.__init__).items() if k != "return"}
    assert set(leader_types) == set(Leader.__slots__) and set(tie_types) == set(Tie.__slots__)
    for _ in range(4):
        for person in engine.people:
            for name, hint in declared.items():
                value = getattr(person, name)
                if typing.get_origin(hint) is list:
                    assert all(type(x) is int for x in value), name
                else:
                    assert isinstance(value, hint), (name, type(value))
            assert all(type(getattr(person, a)) is float for a in attitudes)
        for leader in engine.leaders:
            assert all(type(getattr(leader, k)) is hint for k, hint in leader_types.items()), leader
        assert engine.ties
        for tie in engine.ties:
            assert all(type(getattr(tie, k)) is hint for k, hint in tie_types.items()), tie
        sim.step()
