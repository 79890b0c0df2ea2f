"""The scenario director: tells actuary clients which role to play in which round, and keeps
the record of what each scenario actually did (for the answer key).

Roles are assigned when a round's lead becomes known (public information), deterministically
from the seed: eligible non-leads for package roles (``copy_repost``, ``copy_reencrypt``,
``early``, ``late``), roster members for share roles (``premature``, ``forged``,
``withhold``), the elected lead for ``silent`` / ``wrong_table`` / ``impostor`` (whose lead
plays two parts: ``lead_secondary`` and ``bad_part``). Otherwise one actor gets at most one
role per round. ``withdraw_below_min`` picks its roster member when the run starts,
``under_threshold`` N − t + 1 of them, ``no_quorum`` all; ``bad_vrf`` picks its roster member
when the run starts too (it acts before any lead is known). The scenarios of strangers
(``stranger``, ``replay``, ``bindings``, ``params_replay``, ``forged_publication``) have no
roster actor: :mod:`devnet.simulate.hostile` plays them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from devnet.simulate.calendar import add_months
from devnet.simulate.config import MONTH_SCENARIOS, ScenarioSpec
from devnet.simulate.oracle import MonthState, RoundState, State

__all__ = ["Director", "Trigger"]

_PROOF_ROLES = ("proof_pairing", "proof_off_curve", "proof_coordinate", "proof_system")
_PACKAGE_ROLES = frozenset(
    {
        "copy_repost",
        "copy_reencrypt",
        "author",
        "early",
        "late",
        "wrong_secondary",
        "key_reuse",
        "bad_kem",
        "impostor_lead",
        *_PROOF_ROLES,
    }
)
#: Month-level scenarios whose roster members withdraw below min_stake during the month.
WITHDRAWING = ("withdraw_below_min", "under_threshold", "no_quorum")
#: Scenarios the stranger plays (devnet.simulate.hostile), with the intents it reports.
STRANGER_SCENARIOS = ("stranger", "replay", "bindings", "params_replay", "forged_publication")

#: Intent names a client reports, and the scenario each belongs to.
INTENT_SCENARIO = {
    "silent_lead": "silent_lead",
    "wrong_table": "wrong_table",
    "copy_repost": "lazy_copier",
    "copy_reencrypt": "lazy_copier",
    "early_secondary": "early_secondary",
    "late_secondary": "late_secondary",
    "premature_share": "premature_share",
    "forged_share": "forged_share",
    "few_shares": "few_shares",
    "proof_pairing": "forged_proof",
    "proof_off_curve": "forged_proof",
    "proof_coordinate": "forged_proof",
    "proof_system": "forged_proof",
    "withdraw_below_min": "withdraw_below_min",
    "under_threshold": "under_threshold",
    "no_quorum": "no_quorum",
    "reorg": "reorg",
    "bad_vrf": "bad_vrf",
    "late_vrf": "bad_vrf",
    "impostor_lead": "impostor",
    "lead_secondary": "impostor",
    "bad_part": "impostor",
    "bad_kem": "impostor",
    "not_owed_share": "impostor",
    "wrong_secondary": "wrong_secondary",
    "key_reuse": "key_reuse",
}


@dataclass(slots=True)
class Trigger:
    """What one scenario did: its actors (by roster index) and the inscriptions it made."""

    spec: ScenarioSpec
    month: str
    actors: dict[str, list[int]] = field(default_factory=dict)
    events: list[dict[str, object]] = field(default_factory=list)
    problem: str | None = None

    @property
    def triggered(self) -> bool:
        return bool(self.events) or self.spec.name == "honest"


class Director:
    def __init__(
        self,
        specs: Sequence[ScenarioSpec],
        *,
        seed: bytes,
        first_month: str,
        roster: Sequence[bytes],
        threshold: int,
    ) -> None:
        self._seed = seed
        self._roster = list(roster)
        self._index = {k: i + 1 for i, k in enumerate(roster)}
        self._threshold = threshold
        self.triggers = [Trigger(s, add_months(first_month, s.month - 1)) for s in specs]
        self._by_round: dict[tuple[str, int], list[Trigger]] = {}
        for t in self.triggers:
            if t.spec.name not in MONTH_SCENARIOS:
                self._by_round.setdefault((t.month, t.spec.round), []).append(t)
        self._roles: dict[tuple[str, int], dict[bytes, set[str]]] = {}
        self._pre_roles: dict[tuple[str, int], dict[bytes, set[str]]] = {}
        self._withdraw: dict[bytes, dict[str, str]] = {}
        self._withdrawers: dict[str, set[bytes]] = {}
        for t in self.triggers:
            if t.spec.name in WITHDRAWING:
                self._pick_withdrawers(t)
        for t in self.triggers:
            if t.spec.name == "bad_vrf":
                rng = self._rng(f"bad_vrf/{t.month}/{t.spec.round}")
                pool = [k for k in self._roster if k not in self._withdrawers.get(t.month, ())]
                actor = rng.choice(pool)
                self._pre_roles.setdefault((t.month, t.spec.round), {})[actor] = {"bad_vrf"}
                t.actors["bad_vrf"] = [self._index[actor]]

    def _pick_withdrawers(self, t: Trigger) -> None:
        """``withdraw_below_min``: one roster member; ``under_threshold``: N − t + 1 (E < t);
        ``no_quorum``: every one (E = 0)."""
        n = {"withdraw_below_min": 1, "under_threshold": len(self._roster) - self._threshold + 1}
        count = n.get(t.spec.name, len(self._roster))
        actors = self._rng(f"withdraw/{t.month}").sample(self._roster, count)
        for actor in actors:
            self._withdraw.setdefault(actor, {})[t.month] = t.spec.name
            self._withdrawers.setdefault(t.month, set()).add(actor)
        t.actors["withdraw"] = sorted(self._index[a] for a in actors)

    def _rng(self, label: str) -> random.Random:
        return random.Random(int.from_bytes(hashlib.sha256(self._seed + label.encode()).digest()))

    # -- queries from clients -------------------------------------------------------------
    def roles(self, actor: bytes, month: str, rnd: int) -> frozenset[str]:
        pre = self._pre_roles.get((month, rnd), {}).get(actor, set())
        return frozenset(self._roles.get((month, rnd), {}).get(actor, set()) | pre)

    def withdraw_months(self, actor: bytes) -> dict[str, str]:
        """The months ``actor`` withdraws in, each with the scenario it withdraws for."""
        return dict(self._withdraw.get(actor, {}))

    def role_holders(self, month: str, rnd: int) -> dict[bytes, frozenset[str]]:
        return {k: frozenset(v) for k, v in self._roles.get((month, rnd), {}).items()}

    def withhold_target(self, ms: MonthState, rs: RoundState) -> str | None:
        """The package the ``few_shares`` withholders leave without shares: the first race
        package (by rank) of an actuary that is not withholding, else the first one."""
        roles = self._roles.get((ms.month, rs.round), {})
        race = rs.race or rs.late
        for pkg in race:
            if "withhold" not in roles.get(pkg.actuary, ()):
                return pkg.id
        return race[0].id if race else None

    def note(self, intent: str, actor: bytes, month: str, rnd: int | None, ids: list[str]) -> None:
        scenario = INTENT_SCENARIO.get(intent)
        for t in self.triggers:
            if t.spec.name != scenario or t.month != month:
                continue
            if rnd is not None and scenario not in MONTH_SCENARIOS and t.spec.round != rnd:
                continue
            t.events.append(
                {"intent": intent, "actor": self._index.get(actor), "round": rnd, "ids": ids}
            )
            return

    # -- assignment -----------------------------------------------------------------------
    def update(self, state: State) -> None:
        for ms in state.months:
            for rs in ms.rounds:
                key = (ms.month, rs.round)
                if key in self._roles or not rs.lead_known:
                    continue
                self._assign(ms, rs)

    def _assign(self, ms: MonthState, rs: RoundState) -> None:
        key = (ms.month, rs.round)
        roles: dict[bytes, set[str]] = {k: set(v) for k, v in self._pre_roles.get(key, {}).items()}
        self._roles[key] = roles
        triggers = self._by_round.get(key, [])
        if not triggers:
            return
        rng = self._rng(f"roles/{ms.month}/{rs.round}")
        withdrawers = self._withdrawers.get(ms.month, set())
        eligible = [k for k in ms.eligible if k != rs.lead]
        rng.shuffle(eligible)
        roster = [k for k in self._roster if k != rs.lead and k not in withdrawers]
        rng.shuffle(roster)
        # Withdrawn members are still roster members: they owe shares too.
        roster += sorted(k for k in withdrawers if k != rs.lead)

        def take(
            pool: list[bytes], role: str, trig: Trigger, n: int = 1, *, shared: bool = False
        ) -> list[bytes]:
            # One role per actor, except that withholding shares combines with package roles.
            free = [k for k in pool if k not in roles]
            if shared and len(free) < n:
                free += [k for k in pool if k in roles and roles[k] <= _PACKAGE_ROLES]
            if len(free) < n:
                trig.problem = f"needs {n} free actors for {role}, has {len(free)}"
                return []
            for k in free[:n]:
                roles.setdefault(k, set()).add(role)
            trig.actors.setdefault(role, []).extend(self._index[k] for k in free[:n])
            return free[:n]

        order = {
            "silent_lead": 0,
            "wrong_table": 0,
            "lazy_copier": 1,
            "early_secondary": 1,
            "late_secondary": 1,
            "forged_proof": 1,
            "impostor": 1,
            "wrong_secondary": 1,
            "key_reuse": 0,
            "reorg": 2,
            "premature_share": 3,
            "forged_share": 3,
            "few_shares": 4,
        }
        for trig in sorted(triggers, key=lambda t: order.get(t.spec.name, 9)):
            name = trig.spec.name
            if name in ("silent_lead", "wrong_table"):
                if rs.lead is None:
                    trig.problem = "no lead was elected"
                    continue
                roles.setdefault(rs.lead, set()).add(
                    "silent" if name == "silent_lead" else "wrong_table"
                )
                trig.actors["lead"] = [self._index[rs.lead]]
            elif name == "lazy_copier":
                take(eligible, "copy_repost", trig)
                take(eligible, "copy_reencrypt", trig)
                take(eligible, "author", trig)
            elif name == "early_secondary":
                take(eligible, "early", trig)
            elif name == "late_secondary":
                take(eligible, "late", trig)
            elif name == "forged_proof":
                for role in _PROOF_ROLES:
                    take(eligible, role, trig)
            elif name == "impostor":
                if rs.lead is None:
                    trig.problem = "no lead was elected"
                    continue
                roles.setdefault(rs.lead, set()).update({"lead_secondary", "bad_part"})
                trig.actors["lead"] = [self._index[rs.lead]]
                take(eligible, "impostor_lead", trig)
                take(eligible, "bad_kem", trig)
            elif name == "wrong_secondary":
                take(eligible, "wrong_secondary", trig)
            elif name == "key_reuse":
                take(_revealed_before(ms, rs, eligible), "key_reuse", trig)
            elif name == "premature_share":
                take(roster, "premature", trig)
            elif name == "forged_share":
                take(roster, "forged", trig)
            elif name == "few_shares":
                take(roster, "withhold", trig, len(self._roster) - self._threshold + 1, shared=True)

    def stranger_scenarios(self) -> list[Trigger]:
        """The triggers :mod:`devnet.simulate.hostile` plays (no roster actor)."""
        return [t for t in self.triggers if t.spec.name in STRANGER_SCENARIOS]

    def reorg_due(self, month: str, rnd: int) -> bool:
        return any(
            t.spec.name == "reorg" and not t.events for t in self._by_round.get((month, rnd), [])
        )

    def author_for(self, month: str, rnd: int, copier: bytes) -> bytes | None:
        for k, roles in self._roles.get((month, rnd), {}).items():
            if "author" in roles and k != copier:
                return k
        return None


def _revealed_before(ms: MonthState, rs: RoundState, pool: list[bytes]) -> list[bytes]:
    """Members of ``pool`` whose secondary of round r − 1 was revealed (its k is known)."""
    if rs.round == 0:
        return []
    earlier = ms.rounds[rs.round - 1]
    revealed = {p.actuary for p in earlier.race + earlier.late if p.outcome == "result"}
    return [k for k in pool if k in revealed]
