"""Timelines: interventions during a run, at a week or when a condition on the model's metrics holds.

A scenario file may list ``[[timeline]]`` entries, each an action taken at a week or whenever a condition
holds, once or repeatedly::

    [[timeline]]
    at = 26                                  # the start of week 26 (week 0: before the run starts)
    action = "replace_chief_executive"
    org = "A"

    [[timeline]]
    when = "partner_trust_a < 0.3 and week >= 52"
    repeat = true                            # every week it holds ...
    min_gap = 26                             # ... at most once every 26 weeks
    action = "set"
    set = { "leadership.message_alignment" = 0.9 }

Actions: ``set`` (any parameter that may change during a run, checked exactly as in the scenario file),
``replace_chief_executive`` and ``replace_board_member`` (of A or B; a permanent successor at once, or an
interim with ``interim = true``), ``buddy_withdraws``, ``union_stance`` (sets ``staff.union_stance``) and
``new_initiative`` (``initiative.simultaneous_changes`` + ``count``, at most the schema's maximum).

Conditions are a small language, parsed here by hand and never evaluated as Python: comparisons
(``<  <=  >  >=  ==  !=``, chains such as ``0.2 < trust_min < 0.4``), ``and``, ``or``, ``not``, parentheses,
numbers, the metric names of :data:`sim.model.metrics.METRICS` and ``week``. A comparison with a missing
value (NaN) is false (and ``!=`` true), as in IEEE arithmetic.

Firing rules (:class:`TimelineRuntime`): an engine asks ``due(week, metrics)`` at the start of every week
``week`` = 1, 2, ..., horizon, before that week's submodels run, passing the metrics at the end of the week
before (for week 1, the initial state); the actions returned take effect from that week on. ``at = w`` is
due at week ``w``; ``when`` is due in a week whose condition holds (``week`` in a condition is the week about
to be simulated). Without ``repeat`` an entry fires once; with ``repeat = true`` it fires again whenever it
is due and at least ``min_gap`` weeks (default 1) have passed since it last fired (``at = w`` then fires at
``w``, ``w + min_gap``, ...). Week 0 is before the run: an engine asks ``due(0, None)`` once, applies the
parameter actions to the scenario before the initial state is built (so a change at week 0 is exactly the
same change made in the scenario file) and the others to the initial state; conditions are never due at
week 0. Entries due in the same week fire in file order.

This module sits beside the schema (scenario -> timeline) and below the model: it never imports the model
at import time; metric names are checked against :data:`sim.model.metrics.METRICS`, imported when a timeline
is checked, or against a list passed in.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# --- the expression language ---------------------------------------------------------------------------------
MAX_LENGTH = 1000
MAX_DEPTH = 40
KEYWORDS = ("and", "or", "not")
COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
WEEK = "week"
DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() is also true of '²' and other digits float() refuses


class ExpressionError(ValueError):
    """A condition that does not parse, with the position of the fault (0-based)."""

    def __init__(self, message: str, position: int, text: str):
        self.message = message
        self.position = position
        self.text = text
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message, with the condition and a caret under the fault."""
        shown = self.text if len(self.text) <= 120 else self.text[:117] + "..."
        caret = " " * min(self.position, len(shown)) + "^"
        return f"{self.message} (at column {self.position + 1})\n    {shown}\n    {caret}"


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, NAME, OP, MINUS, LPAREN, RPAREN, AND, OR, NOT, END
    text: str
    pos: int
    value: float | None = None


def tokenize(text: str) -> list[Token]:
    """Split a condition into tokens (a hand-written scanner: nothing is evaluated)."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected a condition as a string, got {type(text).__name__}", 0, repr(text))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"a condition of {len(text)} characters is longer than {MAX_LENGTH}", MAX_LENGTH, text)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c in DIGITS or (c == "." and i + 1 < n and text[i + 1] in DIGITS):
            j = i
            while j < n and text[j] in DIGITS:
                j += 1
            if j < n and text[j] == ".":
                j += 1
                while j < n and text[j] in DIGITS:
                    j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k] in DIGITS:
                    j = k
                    while j < n and text[j] in DIGITS:
                        j += 1
            if j < n and (text[j].isalpha() or text[j] == "_" or text[j] == "."):
                raise ExpressionError(f"malformed number {text[i : j + 1]!r}", i, text)
            tokens.append(Token("NUMBER", text[i:j], i, float(text[i:j])))
            i = j
            continue
        if c.isascii() and (c.isalpha() or c == "_"):
            j = i
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word in KEYWORDS:
                tokens.append(Token(word.upper(), word, i))
            elif word.lower() in KEYWORDS:
                raise ExpressionError(f"write {word.lower()!r} in lower case", i, text)
            elif word.lower() in ("true", "false"):
                raise ExpressionError(f"{word!r}: a condition compares metrics or week with numbers", i, text)
            else:
                tokens.append(Token("NAME", word, i))
            i = j
            continue
        two = text[i : i + 2]
        if two in ("<=", ">=", "==", "!="):
            tokens.append(Token("OP", two, i))
            i += 2
            continue
        if c in "<>":
            tokens.append(Token("OP", c, i))
            i += 1
            continue
        if c == "=":
            raise ExpressionError("'=' alone: use == to test equality", i, text)
        if two in ("&&", "||"):
            raise ExpressionError(f"{two!r}: write {'and' if two == '&&' else 'or'}", i, text)
        if c == "!":
            raise ExpressionError("'!': write not", i, text)
        if c == "-":
            tokens.append(Token("MINUS", c, i))
            i += 1
            continue
        if c == "(":
            tokens.append(Token("LPAREN", c, i))
            i += 1
            continue
        if c == ")":
            tokens.append(Token("RPAREN", c, i))
            i += 1
            continue
        if c in "+*/%^":
            raise ExpressionError(f"{c!r}: conditions compare values, they do not do arithmetic", i, text)
        raise ExpressionError(f"unexpected character {c!r}", i, text)
    tokens.append(Token("END", "", n))
    return tokens


# The syntax tree: small frozen dataclasses (picklable, comparable), never Python code.
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    operands: tuple  # Num | Name, one more than ops
    ops: tuple  # of "<", "<=", ...


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Node = Num | Name | Compare | And | Or | Not


class _Parser:
    """Recursive descent over the grammar::

    condition  := or END
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := operand (OP operand)+
    operand    := NUMBER | "-" NUMBER | NAME
    """

    def __init__(self, text: str, names: Iterable[str] | None):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.names = None if names is None else set(names) | {WEEK}

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, message: str, tok: Token | None = None):
        tok = tok or self.tok
        raise ExpressionError(message, tok.pos, self.text)

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "END":
            self.fail("empty condition: expected a comparison such as partner_trust_a < 0.3")
        node = self.or_()
        if self.tok.kind != "END":
            what = "')' without a matching '('" if self.tok.kind == "RPAREN" else f"unexpected {self.tok.text!r}"
            self.fail(what + "; join conditions with and / or")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.tok.kind == "OR":
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.tok.kind == "AND":
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested more than {MAX_DEPTH} deep")
        try:
            if self.tok.kind == "NOT":
                self.take()
                return Not(self.not_())
            if self.tok.kind == "LPAREN":
                open_tok = self.take()
                node = self.or_()
                if self.tok.kind != "RPAREN":
                    if self.tok.kind == "END":
                        self.fail("'(' is never closed", open_tok)
                    self.fail(f"expected ')', found {self.tok.text!r}")
                self.take()
                if self.tok.kind == "OP":
                    self.fail("a comparison's sides are metrics, week or numbers, not conditions in parentheses")
                return node
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Node:
        first = self.operand()
        if self.tok.kind != "OP":
            after = self.tokens[self.i + 1] if self.tok.kind == "RPAREN" else None
            if after is not None and after.kind == "OP":
                self.fail(
                    "a comparison's sides are metrics, week or numbers, not conditions in parentheses: "
                    "write the comparison without them"
                )
            if isinstance(first, Name):
                self.fail(f"expected a comparison after {first.name!r} (such as {first.name} < 0.3)")
            self.fail("expected a comparison operator (<, <=, >, >=, ==, !=)")
        operands, ops = [first], []
        while self.tok.kind == "OP":
            ops.append(self.take().text)
            operands.append(self.operand())
        if not any(isinstance(o, Name) for o in operands):
            self.fail("compares numbers only: a condition needs a metric or week", self.tokens[self.i - 1])
        return Compare(tuple(operands), tuple(ops))

    def operand(self) -> Node:
        tok = self.tok
        if tok.kind == "MINUS":
            self.take()
            if self.tok.kind != "NUMBER":
                self.fail("a minus sign goes only before a number")
            return Num(-self.take().value)
        if tok.kind == "NUMBER":
            self.take()
            return Num(tok.value)
        if tok.kind == "NAME":
            self.take()
            if self.names is not None and tok.text not in self.names:
                from .scenario import did_you_mean

                known = sorted(self.names)
                self.fail(
                    f"unknown metric {tok.text!r}{did_you_mean(tok.text, known)}; a condition may use week and the "
                    "metrics listed in docs/ODD.md (the series columns of `buddysim run`)",
                    tok,
                )
            return Name(tok.text, tok.pos)
        if tok.kind == "END":
            self.fail("the condition ends too soon: expected a metric, week or a number")
        self.fail(f"expected a metric, week or a number, found {tok.text!r}")
        raise AssertionError  # unreachable: fail() raises


def parse(text: str, names: Iterable[str] | None = None) -> Node:
    """The syntax tree of a condition; ``names`` (if given) are the metric names it may use (``week`` always)."""
    return _Parser(text, names).parse()


def names_in(node: Node) -> set[str]:
    """The metric names (and week) a condition reads."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Num):
        return set()
    if isinstance(node, Compare):
        return set().union(*(names_in(o) for o in node.operands))
    if isinstance(node, Not):
        return names_in(node.item)
    return set().union(*(names_in(i) for i in node.items))


def evaluate(node: Node, values: Mapping[str, float]) -> bool:
    """Evaluate a condition on ``values`` (metric name -> number, and ``week``) by walking its tree."""
    if isinstance(node, Compare):
        vals = [o.value if isinstance(o, Num) else float(values[o.name]) for o in node.operands]
        return all(COMPARISONS[op](vals[k], vals[k + 1]) for k, op in enumerate(node.ops))
    if isinstance(node, And):
        return all(evaluate(i, values) for i in node.items)
    if isinstance(node, Or):
        return any(evaluate(i, values) for i in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, values)
    raise TypeError(f"not a condition: {node!r}")


def compile_condition(node: Node) -> Callable[[Mapping[str, float], int], bool]:
    """A function ``(metrics, week) -> bool`` equal to :func:`evaluate` (closures over the tree, built once)."""
    if isinstance(node, Compare):
        getters = [_getter(o) for o in node.operands]
        fns = [COMPARISONS[op] for op in node.ops]
        if len(fns) == 1:
            a, b, f = getters[0], getters[1], fns[0]
            return lambda m, w: f(a(m, w), b(m, w))

        def chain(m, w):
            vals = [g(m, w) for g in getters]
            return all(f(vals[k], vals[k + 1]) for k, f in enumerate(fns))

        return chain
    if isinstance(node, And):
        parts = [compile_condition(i) for i in node.items]
        return lambda m, w: all(p(m, w) for p in parts)
    if isinstance(node, Or):
        parts = [compile_condition(i) for i in node.items]
        return lambda m, w: any(p(m, w) for p in parts)
    if isinstance(node, Not):
        inner = compile_condition(node.item)
        return lambda m, w: not inner(m, w)
    raise TypeError(f"not a condition: {node!r}")


def _getter(o: Node) -> Callable[[Mapping[str, float], int], float]:
    if isinstance(o, Num):
        v = o.value
        return lambda m, w: v
    if o.name == WEEK:
        return lambda m, w: float(w)
    name = o.name
    return lambda m, w: float(m[name])


def to_text(node: Node) -> str:
    """The condition written back in the language (fully parenthesised where precedence needs it)."""
    if isinstance(node, Num):
        return f"{node.value:g}" if node.value == node.value else "nan"
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Compare):
        out = to_text(node.operands[0])
        for op, o in zip(node.ops, node.operands[1:]):
            out += f" {op} {to_text(o)}"
        return out
    if isinstance(node, Not):
        inner = to_text(node.item)
        return f"not {inner}" if isinstance(node.item, (Compare, Not)) else f"not ({inner})"
    if isinstance(node, And):
        return " and ".join(f"({to_text(i)})" if isinstance(i, Or) else to_text(i) for i in node.items)
    return " or ".join(to_text(i) for i in node.items)


# --- entries and actions ----------------------------------------------------------------------------------
#: Parameters that cannot change during a run, with the reason given in errors. The model reads them only
#: when it builds the initial state (or they shape what exists: organisations, networks, posts, switches,
#: the outcome rule). To be checked again whenever the model changes what it reads each week.
FIXED_DURING_RUN: dict[str, str] = {
    **dict.fromkeys(
        (
            "organisations.staff_a",
            "organisations.staff_b",
            "organisations.team_size",
            "organisations.teams_per_department",
            "organisations.team_degree",
            "organisations.rewire_prob",
            "organisations.share_clinical",
            "organisations.share_managerial",
            "leadership.exec_team_size",
            "culture.mixing",
            "staff.growth_per_year",
        ),
        "the size and structure of the organisations and their networks are fixed for a run",
    ),
    **dict.fromkeys(
        (
            "organisations.culture_a",
            "organisations.culture_b",
            "organisations.adoption_a",
            "organisations.adoption_b",
            "partnership.ties_per_100_staff",
            "quality.quality_a",
            "quality.quality_b",
            "leadership.relationship_initial",
        ),
        "it sets the initial state only, so a change during the run would do nothing",
    ),
    "partnership.bridge_scope": "who may work across the partnership is fixed when the cross-organisation ties are built",
}
#: Whole sections that are fixed for a run, with the reason.
FIXED_SECTIONS = {
    "run": "the horizon and the seed are fixed for a run",
    "mechanisms": "which submodels run is fixed for a run",
    "outcome": "the rule that decides the outcome is fixed for a run",
}
ORGS = ("A", "B")
STANCES = ("partner", "neutral", "excluded")
#: Action names a file may use -> the keys each takes besides the entry's own.
ACTIONS: dict[str, tuple[str, ...]] = {
    "set": ("set",),
    "replace_chief_executive": ("org", "interim"),
    "replace_board_member": ("org", "seat", "interim"),
    "buddy_withdraws": (),
    "union_stance": ("stance",),
    "new_initiative": ("count",),
}
ENTRY_KEYS = ("at", "when", "repeat", "min_gap", "action", "label")
#: The kinds of :class:`Action` an engine handles (each file action becomes one of them).
ACTION_KINDS = ("set_parameters", "adjust_parameter", "replace_leader", "buddy_withdraws")


def fixed_reason(key: str) -> str | None:
    """Why parameter ``key`` cannot change during a run, or None if it can."""
    section = key.split(".", 1)[0]
    return FIXED_DURING_RUN.get(key) or FIXED_SECTIONS.get(section)


@dataclass(frozen=True)
class Action:
    """What an engine does when an entry fires.

    ``kind``: ``set_parameters`` (``changes``: parameter -> value, already checked), ``adjust_parameter``
    (``key`` += ``delta``, kept within the schema's range), ``replace_leader`` (``org`` "A"/"B", ``seat``:
    0 = the chief executive; ``interim``: an interim holds the seat until a permanent appointment, as after a
    departure, instead of a permanent successor at once) or ``buddy_withdraws``. ``name`` is the file's action
    name, ``label`` the line shown in the event log and beside the figures' markers, ``entry`` its index."""

    kind: str
    name: str
    entry: int
    label: str
    changes: tuple = ()  # ((key, value), ...)
    key: str | None = None
    delta: float = 0.0
    org: str | None = None
    seat: int | None = None
    interim: bool = False

    def event(self, week: int) -> dict:
        """The event-log record of this action firing at ``week`` (as engines write events)."""
        e = {"step": int(week), "kind": "timeline", "org": self.org, "action": self.name, "entry": self.entry}
        e["label"] = self.label
        if self.changes:
            e["changes"] = dict(self.changes)
        return e


@dataclass(frozen=True)
class TimelineEntry:
    """One ``[[timeline]]`` entry, checked: when it fires (``at`` a week, or ``when`` a condition holds), how often,
    and its action. ``table`` is the entry as written (for writing the scenario back)."""

    index: int
    action: Action
    at: int | None = None
    when: str | None = None
    condition: Any = None  # the parsed condition (a Node), or None for ``at``
    repeat: bool = False
    min_gap: int = 1
    table: tuple = ()  # ((key, value), ...) as in the file

    @property
    def trigger(self) -> str:
        return f"week {self.at}" if self.at is not None else f"when {self.when}"


class TimelineError(ValueError):
    """A bad timeline entry: ``key`` is its path (``timeline[2].when``), ``message`` says what is allowed."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


def parse_entries(
    entries: Any,
    *,
    horizon: int,
    exec_team_size: int,
    metrics: Sequence[str] | None = None,
    check_changes: Callable[[dict], object] | None = None,
) -> tuple[TimelineEntry, ...]:
    """Check the ``[[timeline]]`` tables of a scenario file; a :class:`TimelineError` names the entry and key.

    ``metrics``: the names a condition may use (default :data:`sim.model.metrics.METRICS`);
    ``check_changes(changes)``: raises :class:`sim.scenario.ScenarioError` if parameter changes do not fit
    the rest of the scenario (checks across keys)."""
    from .scenario import did_you_mean

    if metrics is None:
        from .model.metrics import METRICS

        metrics = METRICS
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TimelineError("timeline", "expected [[timeline]] tables, one per action")
    out = []
    for i, t in enumerate(entries):
        where = f"timeline[{i}]"
        action_name = t.get("action")
        if action_name is None:
            raise TimelineError(f"{where}.action", "missing: one of " + ", ".join(ACTIONS))
        if not isinstance(action_name, str) or action_name not in ACTIONS:
            hint = did_you_mean(action_name, ACTIONS) if isinstance(action_name, str) else ""
            raise TimelineError(
                f"{where}.action", f"unknown action {action_name!r}{hint}; actions are: " + ", ".join(ACTIONS)
            )
        allowed = (*ENTRY_KEYS, *ACTIONS[action_name])
        for key in t:
            if key not in allowed:
                other = [a for a, keys in ACTIONS.items() if key in keys]
                extra = f" (it belongs to action {other[0]!r})" if other else did_you_mean(key, allowed)
                raise TimelineError(
                    f"{where}.{key}",
                    f"unknown key for action {action_name!r}{extra}; allowed: " + ", ".join(allowed),
                )
        # when it fires
        at, when, condition = t.get("at"), t.get("when"), None
        if (at is None) == (when is None):
            raise TimelineError(where, 'give either at = <week> or when = "<condition>" (one of the two)')
        if at is not None:
            if isinstance(at, bool) or not isinstance(at, int):
                raise TimelineError(f"{where}.at", f"expected a whole number of weeks, got {_show(at)}")
            if at < 0:
                raise TimelineError(f"{where}.at", f"expected a week from 0 to the horizon, got {at}")
            if at > horizon:
                raise TimelineError(
                    f"{where}.at", f"week {at} is beyond the horizon (run.steps = {horizon}): it would never happen"
                )
        else:
            if not isinstance(when, str):
                raise TimelineError(f"{where}.when", f"expected a condition as a string, got {_show(when)}")
            try:
                condition = parse(when, metrics)
            except ExpressionError as exc:
                raise TimelineError(f"{where}.when", exc.describe()) from None
        repeat = t.get("repeat", False)
        if not isinstance(repeat, bool):
            raise TimelineError(f"{where}.repeat", f"expected true or false, got {_show(repeat)}")
        min_gap = t.get("min_gap", 1)
        if "min_gap" in t and not repeat:
            raise TimelineError(f"{where}.min_gap", "only used with repeat = true")
        if isinstance(min_gap, bool) or not isinstance(min_gap, int) or not 1 <= min_gap <= 100_000:
            raise TimelineError(f"{where}.min_gap", f"expected a whole number of weeks >= 1, got {_show(min_gap)}")
        label = t.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > 200):
            raise TimelineError(f"{where}.label", "expected a short text (at most 200 characters)")

        # what it does
        kind, extra = _action(t, where, action_name, exec_team_size, check_changes)
        action = Action(kind=kind, name=action_name, entry=i, label=label or _label(action_name, extra), **extra)
        out.append(
            TimelineEntry(
                index=i,
                action=action,
                at=at,
                when=when,
                condition=condition,
                repeat=repeat,
                min_gap=min_gap,
                table=tuple(t.items()),
            )
        )
    if check_changes is not None:
        _check_together(out, check_changes)
    return tuple(out)


#: Up to this many ``set`` entries, every combination of them is checked against the rules across parameters;
#: beyond it, the entries in file order (each prefix), as most timelines fire.
ALL_COMBINATIONS_UP_TO = 8


def _check_together(entries: Sequence[TimelineEntry], check_changes: Callable[[dict], object]) -> None:
    """Entries that change parameters may fire together (later ones override earlier ones): each was checked
    alone; here every combination is checked against the rules across parameters, so that a run can never
    stop half-way on a pair of changes that do not fit together."""
    from itertools import combinations

    from .scenario import ScenarioError

    sets = [e for e in entries if e.action.kind == "set_parameters"]
    if len(sets) < 2:
        return
    if len(sets) <= ALL_COMBINATIONS_UP_TO:
        groups: Iterable[Sequence[TimelineEntry]] = (
            g for size in range(2, len(sets) + 1) for g in combinations(sets, size)
        )
    else:
        groups = (sets[:k] for k in range(2, len(sets) + 1))
    for group in groups:
        changes: dict[str, Any] = {}
        for e in group:
            changes.update(dict(e.action.changes))
        try:
            check_changes(changes)
        except ScenarioError as exc:
            names = ", ".join(f"timeline[{e.index}]" for e in group[:-1]) + f" and timeline[{group[-1].index}]"
            last = group[-1]
            mine = exc.key in dict(last.action.changes)
            where = f"timeline[{last.index}].set" + (f".{exc.key}" if mine else "")
            what = exc.message if mine or not exc.key else f"{exc.key}: {exc.message}"
            raise TimelineError(where, f"{what} (once {names} have all fired; each alone fits)") from None


def check_for(scenario, why: str = "") -> None:
    """Check a scenario's timeline against the scenario's own parameters, as reading its file did: after a
    change of parameters (``--steps``, a design point, ``Scenario.replace``) a week may lie beyond the new
    horizon, a seat beyond the executive team, or a change may no longer fit the rules across parameters.
    Raises :class:`sim.scenario.ScenarioError` naming the scenario's file, the entry and the key, with ``why``
    (what changed) in brackets; does nothing for a scenario without a timeline. Every face calls it before
    running a scenario whose parameters it changed."""
    if not scenario.timeline:
        return
    from .scenario import ScenarioError

    bare = scenario.with_timeline(())
    try:
        parse_entries(
            [dict(e.table) for e in scenario.timeline],
            horizon=bare["run.steps"],
            exec_team_size=bare["leadership.exec_team_size"],
            check_changes=bare.replace,
        )
    except TimelineError as exc:
        raise ScenarioError(scenario.source, exc.key, exc.message + (f" ({why})" if why else "")) from None


def _action(t: dict, where: str, name: str, exec_team_size: int, check_changes) -> tuple[str, dict]:
    """(engine kind, the Action's fields) for one entry's action, checked."""
    from .scenario import PARAM_BY_KEY, ScenarioError, check_value

    if name in ("set", "union_stance"):
        if name == "set":
            changes = t.get("set")
            if not isinstance(changes, dict) or not changes:
                raise TimelineError(
                    f"{where}.set",
                    'expected a table of parameters, e.g. set = { "leadership.message_alignment" = 0.9 }',
                )
            changes = _flatten(changes)
        else:
            stance = t.get("stance")
            if stance not in STANCES:
                raise TimelineError(
                    f"{where}.stance", f"expected one of {', '.join(map(repr, STANCES))}, got {_show(stance)}"
                )
            changes = {"staff.union_stance": stance}
        checked = {}
        for key, value in changes.items():
            at = f"{where}.set.{key}" if name == "set" else f"{where}.stance"
            reason = fixed_reason(key) if key in PARAM_BY_KEY else None
            if reason:
                raise TimelineError(at, f"cannot change during a run: {reason}; change it in the scenario file")
            try:
                checked[key] = check_value("", key, value)
            except ScenarioError as exc:
                raise TimelineError(at, exc.message) from None
        if check_changes is not None:
            try:
                check_changes(checked)
            except ScenarioError as exc:
                at = f"{where}.set.{exc.key}" if exc.key in checked else f"{where}.set"
                raise TimelineError(
                    at, exc.message + (f" ({exc.key}, with this change)" if exc.key not in checked else "")
                ) from None
        return "set_parameters", {"changes": tuple(checked.items())}
    if name in ("replace_chief_executive", "replace_board_member"):
        org = t.get("org")
        if not isinstance(org, str) or org.upper() not in ORGS:
            raise TimelineError(
                f"{where}.org", f'expected "A" (the trust in difficulty) or "B" (the buddy), got {_show(org)}'
            )
        interim = t.get("interim", False)
        if not isinstance(interim, bool):
            raise TimelineError(f"{where}.interim", f"expected true or false, got {_show(interim)}")
        seat = 0
        if name == "replace_board_member":
            seat = t.get("seat")
            top = exec_team_size - 1
            if top < 1:
                raise TimelineError(
                    f"{where}.seat", "the executive team has only the chief executive (leadership.exec_team_size = 1)"
                )
            if isinstance(seat, bool) or not isinstance(seat, int) or not 1 <= seat <= top:
                raise TimelineError(
                    f"{where}.seat",
                    f"expected an executive seat from 1 to {top} (seat 0 is the chief executive: use "
                    f"replace_chief_executive), got {_show(seat)}",
                )
        return "replace_leader", {"org": org.upper(), "seat": seat, "interim": interim}
    if name == "buddy_withdraws":
        return "buddy_withdraws", {"org": "B"}
    # new_initiative
    count = t.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise TimelineError(
            f"{where}.count", f"expected a whole number of initiatives from 1 to 100, got {_show(count)}"
        )
    return "adjust_parameter", {"key": "initiative.simultaneous_changes", "delta": float(count)}


def _label(name: str, f: dict) -> str:
    if name == "set" or name == "union_stance":
        return "; ".join(f"{k} = {v}" for k, v in f["changes"])
    if name == "replace_chief_executive":
        return f"{f['org']}'s chief executive replaced" + (" (interim)" if f["interim"] else "")
    if name == "replace_board_member":
        return f"{f['org']}'s executive (seat {f['seat']}) replaced" + (" (interim)" if f["interim"] else "")
    if name == "buddy_withdraws":
        return "the buddy (B) withdraws"
    return f"new initiative (+{f['delta']:g} simultaneous change{'s' if f['delta'] != 1 else ''})"


def _flatten(table: dict, prefix: str = "") -> dict:
    """``{"a.b" = 1}`` and ``{a = {b = 1}}`` both name parameter ``a.b``."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- applying parameter actions ----------------------------------------------------------------------------
def apply_to_scenario(scenario, actions: Iterable[Action]):
    """The scenario after the parameter actions among ``actions`` (set, adjust; others are ignored), checked as
    the schema checks a file. The one home of what a parameter action does to the parameters."""
    from .scenario import PARAM_BY_KEY

    changes: dict[str, Any] = {}
    for a in actions:
        if a.kind == "set_parameters":
            changes.update(dict(a.changes))
        elif a.kind == "adjust_parameter":
            p = PARAM_BY_KEY[a.key]
            value = changes.get(a.key, scenario[a.key]) + a.delta
            value = min(p.high, max(p.low, value)) if p.high is not None else value
            changes[a.key] = int(round(value)) if p.kind is int else float(value)
    return scenario.replace(changes) if changes else scenario


# --- firing ---------------------------------------------------------------------------------------------------
class TimelineRuntime:
    """The firing state of a run's timeline: an engine calls :meth:`due` once a week (see the module's doc).

    ``fired`` lists ``(week, entry index)`` in the order the entries fired."""

    def __init__(self, entries: Sequence[TimelineEntry]):
        self.entries = tuple(entries)
        self._checks = [None if e.condition is None else compile_condition(e.condition) for e in self.entries]
        self._last: list[int | None] = [None] * len(self.entries)
        self.fired: list[tuple[int, int]] = []

    def __bool__(self) -> bool:
        return bool(self.entries)

    def due(self, week: int, metrics: Mapping[str, float] | None) -> list[Action]:
        """The actions to take at the start of ``week``, given the metrics at the end of the week before
        (``None`` at week 0). Records them as fired."""
        out = []
        for i, e in enumerate(self.entries):
            last = self._last[i]
            if last is not None and (not e.repeat or week - last < e.min_gap):
                continue
            if e.at is not None:
                hit = week >= e.at
            else:
                check = self._checks[i]
                hit = week >= 1 and metrics is not None and check(metrics, week)
            if hit:
                self._last[i] = week
                self.fired.append((week, i))
                out.append(e.action)
        return out


def describe(entries: Sequence[TimelineEntry]) -> list[str]:
    """One line per entry, for the terminal: when, how often, what."""
    lines = []
    for e in entries:
        often = f", again at most every {e.min_gap} week(s)" if e.repeat else ", once"
        lines.append(f"timeline[{e.index}]: {e.trigger}{often}: {e.action.label}")
    return lines


# --- what a timeline did in runs (for figures and the UI) ------------------------------------------------
@dataclass(frozen=True)
class Mark:
    """One timeline action drawn on a figure: the week it fired, its label and in how many of the runs."""

    week: int
    label: str
    runs: int


def marks(firings: Iterable[tuple[int, int, str]]) -> list[Mark]:
    """The marks to draw for ``firings`` (replication, week, label) of a scenario's timeline: one per label and
    week, counting the runs in which it fired then (an ``at`` action fires in every run at the same week; a
    ``when`` action at the weeks its condition held in each run). Sorted by week, then label."""
    runs: dict[tuple[int, str], set[int]] = {}
    for replication, week, label in firings:
        runs.setdefault((int(week), str(label)), set()).add(int(replication))
    return [Mark(w, label, len(r)) for (w, label), r in sorted(runs.items())]


def firings(events: Iterable[tuple[int, dict]]) -> list[tuple[int, int, str]]:
    """(replication, week, label) of every timeline event among ``events`` (replication, event dict): the
    label the entry was given, or its action and entry number."""
    out = []
    for replication, e in events:
        if e.get("kind") == "timeline":
            label = e.get("label") or f"{e.get('action', 'action')} (entry {e.get('entry', '?')})"
            out.append((int(replication), int(e["step"]), str(label)))
    return out
