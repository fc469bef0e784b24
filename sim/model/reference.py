"""The reference engine: the same rules as the fast engine, one agent at a time.

Plain Python objects and loops, written to be read against docs/ODD.md rather
than to be fast. It is the test oracle (``tests/test_reference.py`` checks
that both engines give the same trajectories for the same seed) and the
benchmark baseline. It shares with the fast engine only what is not a rule:
the scenario's unit conversions (``params.derive``), the initial state
(``state.build_initial_state``), the ``draw`` functions that take each
week's random numbers from the run's generator in a fixed order, and the
outcome bookkeeping.
"""

from __future__ import annotations

import math

import numpy as np

from ..scenario import Scenario
from .engine import COUNTERS, METRICS, ORG_METRICS, StepContext
from .mechanisms import adoption, engagement, joint_working, leadership, messaging, peer_influence, staff_turnover
from .outcomes import OutcomeTracker
from .params import derive, target_headcount
from .state import ROLE_MANAGERIAL, build_initial_state


class Person:
    __slots__ = (
        "adopted",
        "colleagues",
        "culture",
        "edges",
        "fatigue",
        "index",
        "loyalty",
        "org",
        "present",
        "role",
        "tenure",
        "tl",
        "tp",
        "union",
    )

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class Leader:
    __slots__ = ("commit", "org", "seat", "tenure", "vacant")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class Tie:
    __slots__ = ("u", "v", "w")

    def __init__(self, u, v, w):
        self.u, self.v, self.w = u, v, w


def _person_terms(role: int, union: bool, P) -> tuple[float, float]:
    """(engagement target, resistance) for one person: the rule in scalar form."""
    e = P["partnership.engagement_authenticity"]
    rho = float(P.resistance_role[role])
    if union and P.on["unions"]:
        u = P["staff.union_amplification"]
        if P.union_stance > 0:
            e, rho = e + u * (1.0 - e), rho * (1.0 - u)
        elif P.union_stance < 0:
            e, rho = e * (1.0 - u), rho + u * (1.0 - rho)
    return e, rho


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


class ReferenceModel:
    """Same interface as :class:`~sim.model.model.BuddyingModel` for stepping and read-outs."""

    def __init__(self, scenario: Scenario | None = None, seed: int | None = None):
        sc = scenario if scenario is not None else Scenario()
        self.config = sc
        self.seed = int(sc["run.seed"] if seed is None else seed)
        self.rng = np.random.default_rng(self.seed)
        self.P = derive(sc)
        st = build_initial_state(self.P, self.rng)
        self.people = [
            Person(
                index=i,
                org=int(st.org[i]),
                role=int(st.role[i]),
                union=bool(st.union[i]),
                tenure=int(st.tenure[i]),
                culture=float(st.culture[i]),
                tp=float(st.tp[i]),
                tl=float(st.tl[i]),
                loyalty=float(st.loyalty[i]),
                fatigue=float(st.fatigue[i]),
                adopted=bool(st.adopted[i]),
                edges=[int(e) for e in st.inc_edge[st.inc_ptr[i] : st.inc_ptr[i + 1]]],
                colleagues=[int(j) for j in st.nbr[st.inc_ptr[i] : st.inc_ptr[i + 1]]],
                present=True if st.present is None else bool(st.present[i]),
            )
            for i in range(st.n)
        ]
        self.leaders = [
            Leader(
                org=int(st.l_org[s]),
                seat=int(st.l_seat[s]),
                commit=float(st.l_commit[s]),
                vacant=bool(st.l_vacant[s]),
                tenure=int(st.l_tenure[s]),
            )
            for s in range(st.l_org.size)
        ]
        self.edges = list(zip(st.e_u.tolist(), st.e_v.tolist()))
        self.ties = [Tie(u, v, w) for u, v, w in zip(st.x_u.tolist(), st.x_v.tolist(), st.x_w.tolist())]
        self.week = 0
        self.ctx = StepContext()
        self.tracker = OutcomeTracker.from_scenario(sc)
        self.records: list[dict] = []
        self._record()

    # ------------------------------------------------------------------------------
    def step(self) -> None:
        self.week += 1
        ctx = self.ctx
        ctx.reset(self.week)
        on, P, rng = self.P.on, self.P, self.rng
        n = len(self.people)
        if on["leadership_turnover"]:
            self.leadership(leadership.draw(rng, len(self.leaders)))
        if on["messaging"]:
            self.messaging(messaging.draw(rng, n))
        if on["engagement"]:
            self.engagement(engagement.draw(rng, n))
        if on["initiative_load"]:
            self.initiative()
        if on["joint_working"]:
            self.joint_working(joint_working.draw(rng, len(self.ties)))
        if on["competition"]:
            self.competition()
        if on["peer_influence"]:
            self.peer_influence(peer_influence.draw(rng, P, n, len(self.edges), len(self.ties)))
        if on["adoption"]:
            self.adoption(adoption.draw(rng, n))
        if on["embedding"]:
            self.embedding()
        if on["staff_turnover"]:
            self.staff_turnover()
        self._record()

    def run_to_end(self, steps: int | None = None) -> None:
        for _ in range(self.P.steps if steps is None else steps):
            self.step()

    # --- submodels, one agent at a time --------------------------------------------
    def leadership(self, draws) -> None:
        u_leave, u_appoint, z = draws
        P, sc = self.P, self.P.sc
        immediate = P.appoint_prob >= 1.0
        factor = self.ctx.factor
        for s, ld in enumerate(self.leaders):
            if ld.vacant:
                if u_appoint[s] < P.appoint_prob:
                    ld.vacant = False
                    ld.tenure = 0
                    ld.commit = min(1.0, max(0.0, P.commitment_mean[ld.org] + sc["leadership.commitment_sd"] * z[s]))
                    self.ctx.event("appointment", ld.org, seat=ld.seat)
                else:
                    ld.tenure += 1
            elif u_leave[s] < P.leave_prob[ld.org]:
                ld.tenure = 0
                if immediate:
                    ld.commit = min(1.0, max(0.0, P.commitment_mean[ld.org] + sc["leadership.commitment_sd"] * z[s]))
                else:
                    ld.vacant = True
                    ld.commit = sc["leadership.interim_commitment"]
                weight = sc["leadership.ceo_multiplier"] if ld.seat == 0 else 1.0
                factor[ld.org] *= 1.0 - sc["leadership.departure_shock"] * weight
                self.ctx.event("departure", ld.org, seat=ld.seat, interim=not immediate)
            else:
                ld.tenure += 1
        if factor[0] != 1.0 or factor[1] != 1.0:
            for p in self.people:
                p.tl = p.tl * factor[p.org]

    def _stance(self) -> list[float]:
        return [_mean(ld.commit for ld in self.leaders if ld.org == o) for o in (0, 1)]

    def messaging(self, draws) -> None:
        eps, hear = draws
        sc = self.P.sc
        c = self._stance()
        a = sc["leadership.message_alignment"]
        m = [
            min(1.0, max(0.0, a * (c[0] + c[1]) / 2.0 + (1.0 - a) * (c[o] + sc["leadership.message_noise"] * eps[o])))
            for o in (0, 1)
        ]
        gap = abs(m[0] - m[1])
        self.ctx.note_gap(gap, sc["leadership.conflict_threshold"])
        vis = [
            self.P.visibility[o]
            * _mean(sc["leadership.interim_visibility"] if ld.vacant else 1.0 for ld in self.leaders if ld.org == o)
            for o in (0, 1)
        ]
        r = sc["leadership.message_influence"] * (1.0 - gap)
        k = sc["leadership.conflict_cost"] * gap
        for p in self.people:
            if hear[p.index] < vis[p.org]:
                mo = m[p.org]
                p.tl = p.tl + r * (mo - p.tl) - k * p.tl
                p.tp = p.tp + r * (mo - p.tp)

    def engagement(self, draws) -> None:
        influence = self.P["partnership.engagement_influence"]
        for p in self.people:
            if draws[p.index] < self.P.engage_prob:
                target, rho = _person_terms(p.role, p.union, self.P)
                p.tl = p.tl + influence * (1.0 - rho) * (target - p.tl)

    def initiative(self) -> None:
        L = self.P.load
        up, down = self.P["initiative.fatigue_rate"], self.P["initiative.recovery_rate"]
        for p in self.people:
            f = p.fatigue
            p.fatigue = f + up * L * (1.0 - f) - down * (1.0 - L) * f

    def _eligible(self, p: Person) -> bool:
        scope = self.P["partnership.bridge_scope"]
        return scope == "wide" or (scope == "managers" and p.role == ROLE_MANAGERIAL)

    def joint_working(self, draws) -> None:
        staff, board = draws
        P, sc = self.P, self.P.sc
        gain, loss = sc["partnership.trust_gain"], sc["partnership.trust_loss"]
        comp = sc["system.competition"] if P.on["competition"] else 0.0
        z0 = (
            P.base_logit
            - sc["partnership.success_competition_weight"] * comp
            + sc["partnership.success_alignment_weight"] * (sc["system.regulatory_alignment"] - 0.5)
            - sc["partnership.success_takeover_weight"] * P.takeover[0]
        )
        b_t, b_d = sc["partnership.success_trust_weight"], sc["partnership.success_distance_weight"]
        b_f = sc["partnership.success_fatigue_weight"]
        # Boards.
        if board[0] < P.board_meet_prob:
            cm = [_mean(p.culture for p in self.people if p.org == o) for o in (0, 1)]
            stance = self._stance()
            zb = z0 + b_t * ((stance[0] + stance[1]) / 2.0 - 0.5) - b_d * abs(cm[0] - cm[1])
            ok = board[1] < _logistic(zb)
            for ld in self.leaders:
                ld.commit = (1.0 - (1.0 - ld.commit) * (1.0 - gain)) if ok else (1.0 - (1.0 - ld.commit * (1.0 - loss)))
            if not ok:
                self.ctx.event("board_meeting_failed", None)
        if not self.ties:
            return
        meet, succ, grow, pick, side = staff
        people = self.people
        S: dict[int, int] = {}
        F: dict[int, int] = {}
        outcome = []
        for e, tie in enumerate(self.ties):
            a, b = people[tie.u], people[tie.v]
            met = meet[e] < P.tie_meet_prob
            ok = False
            if met:
                z = (
                    z0
                    + b_t * ((a.tp + b.tp) / 2.0 - 0.5)
                    - b_d * abs(a.culture - b.culture)
                    - b_f * (a.fatigue + b.fatigue) / 2.0
                )
                ok = succ[e] < _logistic(z)
                tally = S if ok else F
                tally[tie.u] = tally.get(tie.u, 0) + 1
                tally[tie.v] = tally.get(tie.v, 0) + 1
                self.ctx.count("encounters", 1)
                self.ctx.count("successes", int(ok))
            outcome.append(ok)
        for i in set(S) | set(F):
            p = people[i]
            p.tp = 1.0 - (1.0 - p.tp * (1.0 - loss) ** F.get(i, 0)) * (1.0 - gain) ** S.get(i, 0)
        # Tie strengths, growth, loss.
        proposals = []
        for e, tie in enumerate(self.ties):
            if outcome[e]:
                tie.w = tie.w + sc["partnership.tie_gain"] * (1.0 - tie.w)
                if grow[e] < sc["partnership.tie_growth_prob"]:
                    from_a = side[e] < 0.5
                    anchor = people[tie.u if from_a else tie.v]
                    if anchor.colleagues:
                        colleague = anchor.colleagues[int(math.floor(pick[e] * len(anchor.colleagues)))]
                        proposals.append((colleague, tie.v) if from_a else (tie.u, colleague))
            else:
                tie.w = tie.w * (1.0 - sc["partnership.tie_decay"])
        kept = [t for t in self.ties if t.w >= sc["partnership.tie_floor"]]
        self.ctx.count("ties_lost", len(self.ties) - len(kept))
        existing = {(t.u, t.v) for t in kept}
        formed = 0
        for u, v in proposals:
            if self._eligible(people[u]) and self._eligible(people[v]) and (u, v) not in existing:
                existing.add((u, v))
                kept.append(Tie(u, v, sc["partnership.tie_initial"]))
                formed += 1
        self.ctx.count("ties_formed", formed)
        self.ties = kept

    def competition(self) -> None:
        P = self.P
        rate, susp = P["system.loyalty_rate"], P["system.suspicion_rate"]
        for p in self.people:
            h = P.threat[p.org]
            loy0 = p.loyalty
            p.loyalty = loy0 + rate * (P.loyalty_target[p.org] - loy0)
            p.tp = p.tp * (1.0 - susp * loy0 * h)

    def peer_influence(self, draws) -> None:
        P, people = self.P, self.people
        if P["culture.mixing"] == "well_mixed":
            perm = [int(x) for x in draws]
            pairs = [(perm[2 * k], perm[2 * k + 1]) for k in range(len(perm) // 2)]
        else:
            E = len(self.edges)
            node_max = [-1.0] * len(people)
            for p in people:
                for e in p.edges:
                    node_max[p.index] = max(node_max[p.index], float(draws[e]))
            for k, t in enumerate(self.ties):
                pr = float(draws[E + k])
                node_max[t.u] = max(node_max[t.u], pr)
                node_max[t.v] = max(node_max[t.v], pr)
            pairs = [
                (u, v) for e, (u, v) in enumerate(self.edges) if draws[e] == node_max[u] and draws[e] == node_max[v]
            ]
            pairs += [
                (t.u, t.v)
                for k, t in enumerate(self.ties)
                if draws[E + k] == node_max[t.u] and draws[E + k] == node_max[t.v]
            ]
        d, mu = P["culture.confidence_bound"], P["culture.convergence"]
        close_pairs = 0
        for i, j in pairs:
            a, b = people[i], people[j]
            diff = b.culture - a.culture
            if abs(diff) < d:
                wi = 1.0 if a.org == b.org else a.tp
                wj = 1.0 if a.org == b.org else b.tp
                ci, cj = a.culture, b.culture
                a.culture = ci + mu * wi * diff
                b.culture = cj - mu * wj * diff
                close_pairs += 1
        self.ctx.count("influence_pairs", close_pairs)

    def adoption(self, draws) -> None:
        P = self.P
        base = adoption.readiness_constant(P)
        for p in self.people:
            _, rho = _person_terms(p.role, p.union, P)
            z = (
                base
                + P["initiative.adoption_culture_weight"] * (p.culture - 0.5)
                + P["initiative.adoption_trust_weight"] * (p.tl - 0.5)
                - P["initiative.adoption_fatigue_weight"] * p.fatigue
                - P["initiative.adoption_resistance_weight"] * rho
            )
            if p.adopted:
                p.adopted = not (draws[p.index] < P["initiative.abandon_rate"] / (1.0 + math.exp(z)))
            else:
                p.adopted = bool(draws[p.index] < P["initiative.adoption_rate"] / (1.0 + math.exp(-z)))

    def embedding(self) -> None:
        tau = self.P["culture.embedding_weeks"]
        for p in self.people:
            p.culture = p.culture + float(p.adopted) * (1.0 - p.culture) / tau

    def staff_turnover(self) -> None:
        P, people = self.P, self.people
        u = staff_turnover.draw_leave(self.rng, len(people))
        mean = [_mean(p.culture for p in people if p.org == o and p.present) for o in (0, 1)]
        rate, bt, bf = P.leave_rate_week, P["staff.turnover_trust_sensitivity"], P["staff.turnover_fatigue_sensitivity"]
        s, tau = P["staff.socialisation_rate"], P["staff.socialisation_weeks"]
        leavers = []
        for p in people:
            lam = rate * math.exp(bt * (0.5 - p.tl) + bf * (p.fatigue - 0.5))
            if p.present and u[p.index] < 1.0 - math.exp(-lam):
                leavers.append(p)
            # Everyone is socialised (a leaver's values are overwritten if the post is refilled, and an
            # empty post's values are never read).
            pull = s * math.exp(-p.tenure / tau)
            p.culture = p.culture + pull * (mean[p.org] - p.culture)
            p.tenure += 1
        if P.headcount0 is None:
            hired = leavers  # every post is refilled at once
        else:
            for p in leavers:
                p.present = False
            target = target_headcount(P.headcount0, P.growth_week, self.week)
            hired = []
            for o in (0, 1):
                short = int(target[o]) - sum(1 for p in people if p.org == o and p.present)
                for p in people:
                    if short <= 0:
                        break
                    if p.org == o and not p.present:
                        p.present = True
                        hired.append(p)
                        short -= 1
        union, culture, tp, tl = staff_turnover.draw_newcomers(self.rng, P, np.array([p.org for p in hired], np.int8))
        for k, p in enumerate(hired):
            p.union, p.culture, p.tp, p.tl = bool(union[k]), float(culture[k]), float(tp[k]), float(tl[k])
            p.loyalty, p.fatigue, p.adopted, p.tenure = P["staff.newcomer_loyalty"], 0.0, False, 0
        if leavers and self.ties:
            gone = {p.index for p in leavers}
            kept = [t for t in self.ties if t.u not in gone and t.v not in gone]
            self.ctx.count("ties_lost", len(self.ties) - len(kept))
            self.ties = kept
        self.ctx.count("leavers_a", sum(1 for p in leavers if p.org == 0))
        self.ctx.count("leavers_b", sum(1 for p in leavers if p.org == 1))

    # --- read-outs ------------------------------------------------------------------
    def _record(self) -> None:
        m = {}
        for name, attr in ORG_METRICS.items():
            for o, suffix in ((0, "a"), (1, "b")):
                m[f"{name}_{suffix}"] = _mean(float(getattr(p, attr)) for p in self.people if p.org == o and p.present)
        for o, suffix in ((0, "a"), (1, "b")):
            m[f"headcount_{suffix}"] = sum(1 for p in self.people if p.org == o and p.present)
            seats = [ld for ld in self.leaders if ld.org == o]
            m[f"board_commitment_{suffix}"] = _mean(ld.commit for ld in seats)
            m[f"interim_seats_{suffix}"] = sum(ld.vacant for ld in seats)
        m["cross_ties"] = len(self.ties)
        m["message_gap"] = self.ctx.gap
        m["message_conflict"] = int(self.ctx.conflict)
        for name in COUNTERS:
            m[name] = self.ctx.counts[name]
        m["trust_min"] = min(m["partner_trust_a"], m["partner_trust_b"])
        m["adoption_min"] = min(m["adoption_a"], m["adoption_b"])
        m["board_min"] = min(m["board_commitment_a"], m["board_commitment_b"])
        m = {k: m[k] for k in METRICS}
        self.tracker.update(self.week, m, self.ctx.events)
        m["step"] = self.week
        self.records.append(m)

    @property
    def events(self) -> list[dict]:
        return self.ctx.events

    @property
    def outcome(self) -> str:
        return self.tracker.outcome

    @property
    def outcome_step(self):
        return self.tracker.step

    def snapshot(self) -> dict[str, np.ndarray]:
        people, leaders = self.people, self.leaders
        out = {
            name: np.array([getattr(p, name) for p in people])
            for name in (
                "org",
                "role",
                "union",
                "tenure",
                "culture",
                "tp",
                "tl",
                "loyalty",
                "fatigue",
                "adopted",
                "present",
            )
        }
        out.update(
            {
                "l_org": np.array([ld.org for ld in leaders]),
                "l_seat": np.array([ld.seat for ld in leaders]),
                "l_commit": np.array([ld.commit for ld in leaders]),
                "l_vacant": np.array([ld.vacant for ld in leaders]),
                "l_tenure": np.array([ld.tenure for ld in leaders]),
                "x_u": np.array([t.u for t in self.ties], np.int64),
                "x_v": np.array([t.v for t in self.ties], np.int64),
                "x_w": np.array([t.w for t in self.ties]),
            }
        )
        return out
