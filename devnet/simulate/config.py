"""What a simulation run is: sizes, seed, devnet protocol parameters and the scenario list.

Scenarios are written ``NAME[@MONTH[.ROUND]]`` (MONTH counts from 1 within the run, ROUND from
0, default ``@1.0``), comma-separated, e.g. ``silent_lead@1,early_secondary@1.1,reorg@3``.
``all`` expands to :data:`ALL_SCENARIOS_PLAN` (every scenario spread over three months),
``hostile`` to :data:`HOSTILE_PLAN` (the hostile-coverage months). A
scenario at round r > 0 needs a failing scenario (``silent_lead`` or ``wrong_table``) at every
earlier round of that month, otherwise the round never exists; this is checked here.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from devnet.simulate.calendar import add_months, month_of_timestamp
from devnet.simulate.errors import ScenarioError

__all__ = [
    "ALL_SCENARIOS_PLAN",
    "FAILING",
    "HOSTILE_PLAN",
    "MONTH_SCENARIOS",
    "ROUND_SCENARIOS",
    "SCENARIOS",
    "DevnetParams",
    "ProofSystem",
    "ScenarioName",
    "ScenarioSpec",
    "SimulationConfig",
    "default_first_month",
    "parse_scenarios",
]

ScenarioName = Literal[
    "honest",
    "silent_lead",
    "wrong_table",
    "lazy_copier",
    "early_secondary",
    "late_secondary",
    "premature_share",
    "forged_share",
    "withdraw_below_min",
    "reorg",
    "few_shares",
    "forged_proof",
    # Hostile coverage (docs/simulator.md "Hostile months"): every rule reached from chain bytes.
    "stranger",
    "replay",
    "bad_vrf",
    "impostor",
    "wrong_secondary",
    "key_reuse",
    "forged_publication",
    "bindings",
    "params_replay",
    "under_threshold",
    "no_quorum",
]
SCENARIOS: tuple[str, ...] = get_args(ScenarioName)
#: How the devnet's results prove their months root: protocol v1's ``recompute`` (no proof; the
#: params name no circuit) or v1.1's Groth16 proofs (docs/protocol/proofs.md: the roster's
#: phase-2 ceremony in the setup blocks, a ``circuit`` the params name, every result proved).
ProofSystem = Literal["recompute", "groth16"]

#: Scenarios that make their round fail (so that round r + 1 exists).
FAILING = ("silent_lead", "wrong_table")
#: Scenarios of a whole month (no round): the others are acted out inside a round.
MONTH_SCENARIOS = (
    "honest",
    "withdraw_below_min",
    "forged_publication",
    "bindings",
    "params_replay",
    "under_threshold",
    "no_quorum",
)
ROUND_SCENARIOS = tuple(s for s in SCENARIOS if s not in MONTH_SCENARIOS)

#: ``all``: every scenario, spread so that each month and round stays playable with 9 actuaries.
ALL_SCENARIOS_PLAN = (
    "silent_lead@1.0,early_secondary@1.1,premature_share@1.1,forged_share@1.1,"
    "wrong_table@2.0,forged_proof@2.0,lazy_copier@2.1,late_secondary@2.1,"
    "withdraw_below_min@3,few_shares@3.0,reorg@3.0,honest@3"
)

#: ``hostile``: five months with 9 actuaries and ``max_rounds`` 2 in which every quarantine
#: reason the chain can reach, every offence, message and share-entry status and month outcome
#: occurs (docs/simulator.md "Hostile months"): strangers, replays and impostors in month 1, a
#: rejected round and the offences of a second round in month 2, copies in a month that fails
#: both its rounds, a month under the threshold and one without quorum.
HOSTILE_PLAN = (
    "stranger@1.0,replay@1.0,bad_vrf@1.0,impostor@1.0,premature_share@1.0,forged_share@1.0,"
    "few_shares@1.0,bindings@1,params_replay@1,forged_publication@1,"
    "wrong_table@2.0,key_reuse@2.1,wrong_secondary@2.1,"
    "wrong_table@3.0,lazy_copier@3.0,early_secondary@3.0,late_secondary@3.0,silent_lead@3.1,"
    "under_threshold@4,no_quorum@5"
)


#: The deepest months tree the devnet's pinned phase-1 file (power 12) can prove.
GROTH16_MAX_DEPTH = 7


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """One scenario in one month (1-based within the run) and round."""

    name: ScenarioName
    month: int = 1
    round: int = 0

    def label(self) -> str:
        return f"{self.name}@{self.month}.{self.round}"


@dataclass(frozen=True, slots=True)
class DevnetParams:
    """The protocol parameters the founder inscribes. Windows are small so that a month of
    ~36 blocks holds two rounds (defaults of §2 would need ~150 blocks per round).

    ``None`` leaves a field with a §2 default out of the params message (the default applies).
    """

    min_stake: int = 10_000_000
    confirmations: int | None = 2
    race_offset: int | None = 2
    vrf_window: int | None = 2
    lead_window: int | None = 4
    race_window: int | None = 6
    share_window: int | None = 4
    max_rounds: int | None = None
    supermajority: tuple[int, int] | None = None
    months_depth: int | None = None
    dreybits_per_month: int = 100_000_000_000_000_000
    fee_bps: int = 200
    penalty_bps: int = 500
    lead_bps: int = 6000


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """A run: ``months`` allocation months from ``first_month`` with ``actuaries`` roster
    members and ``users`` customers, every block's content derived from ``seed``."""

    datadir: Path
    months: int = 3
    actuaries: int = 9
    users: int = 40
    seed: str = "drey-sim"
    scenarios: tuple[ScenarioSpec, ...] = ()
    blocks_per_month: int = 36
    first_month: str | None = None
    paillier_bits: int = 2048
    threshold: int | None = None
    params: DevnetParams = field(default_factory=DevnetParams)
    proofs: ProofSystem = "recompute"

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ScenarioError(f"months must be ≥ 1, got {self.months}")
        if not 1 <= self.actuaries <= 64:
            raise ScenarioError(f"actuaries must be 1 … 64, got {self.actuaries}")
        if self.users < 1:
            raise ScenarioError(f"users must be ≥ 1, got {self.users}")
        if self.blocks_per_month < 16:
            raise ScenarioError(
                f"blocks per month must be ≥ 16 (a round needs ~10), got {self.blocks_per_month}"
            )
        if self.paillier_bits < 512 or self.paillier_bits % 2:
            raise ScenarioError(f"Paillier bits must be even and ≥ 512, got {self.paillier_bits}")
        t = self.threshold_value
        if not self.actuaries // 2 + 1 <= t <= self.actuaries:
            raise ScenarioError(
                f"threshold {t} outside ⌊N/2⌋ + 1 … N = {self.actuaries // 2 + 1} … "
                f"{self.actuaries}"
            )
        if self.proofs == "groth16":
            depth = self.params.months_depth
            if depth is None or depth > GROTH16_MAX_DEPTH:
                raise ScenarioError(
                    f"groth16 proofs on the devnet need months_depth ≤ {GROTH16_MAX_DEPTH} (its "
                    f"phase-1 file holds 2^12 constraints), got {depth or 16}"
                )
            if self.months > 2**depth:
                raise ScenarioError(f"{self.months} months do not fit months_depth {depth}")
        for spec in self.scenarios:
            if not 1 <= spec.month <= self.months:
                raise ScenarioError(f"{spec.label()}: the run has months 1 … {self.months}")

    @property
    def threshold_value(self) -> int:
        return self.threshold if self.threshold is not None else self.actuaries // 2 + 1

    @property
    def first_month_value(self) -> str:
        return self.first_month or default_first_month(self.months)


def default_first_month(months: int, *, now: int | None = None) -> str:
    """Two years back, or further for long runs: every block time (the run's months plus
    the blocks that settle the last one) must lie in the past (the kernel refuses blocks more
    than two hours ahead of the wall clock)."""
    ts = int(_dt.datetime.now(_dt.UTC).timestamp()) if now is None else now
    return add_months(month_of_timestamp(ts), -max(24, months + 3))


def parse_scenarios(text: str) -> tuple[ScenarioSpec, ...]:
    """Parse ``NAME[@MONTH[.ROUND]],...`` (``all`` expands to :data:`ALL_SCENARIOS_PLAN`); checks
    names, conflicts (two failing scenarios in one round, a scenario twice in a round) and
    that every round r > 0 used is preceded by failing rounds."""
    items: list[str] = []
    for x in (x.strip() for x in text.split(",")):
        if x == "all":
            items += ALL_SCENARIOS_PLAN.split(",")
        elif x == "hostile":
            items += HOSTILE_PLAN.split(",")
        elif x:
            items.append(x)
    specs: list[ScenarioSpec] = []
    for item in items:
        name, _, where = item.partition("@")
        if name not in SCENARIOS:
            raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
        month, rnd = 1, 0
        if where:
            m_text, _, r_text = where.partition(".")
            try:
                month = int(m_text)
                rnd = int(r_text) if r_text else 0
            except ValueError:
                raise ScenarioError(f"{item!r}: expected NAME@MONTH[.ROUND]") from None
        if month < 1 or rnd < 0:
            raise ScenarioError(f"{item!r}: months count from 1, rounds from 0")
        if name in MONTH_SCENARIOS and rnd:
            raise ScenarioError(f"{item!r}: {name} is a month-level scenario (no round)")
        specs.append(ScenarioSpec(name, month, rnd))  # type: ignore[arg-type]
    check_scenarios(specs)
    return tuple(specs)


def check_scenarios(specs: list[ScenarioSpec] | tuple[ScenarioSpec, ...]) -> None:
    seen: set[tuple[str, int, int]] = set()
    failing: dict[tuple[int, int], str] = {}
    for s in specs:
        key = (s.name, s.month, s.round)
        if key in seen:
            raise ScenarioError(f"{s.label()} is listed twice")
        seen.add(key)
        if s.name in FAILING:
            other = failing.get((s.month, s.round))
            if other is not None:
                raise ScenarioError(
                    f"{s.label()} and {other} both need the elected lead of that round"
                )
            failing[(s.month, s.round)] = s.name
    for s in specs:
        for r in range(s.round):
            if (s.month, r) not in failing:
                raise ScenarioError(
                    f"{s.label()}: round {s.round} of month {s.month} exists only if round {r} "
                    "fails (add silent_lead or wrong_table there)"
                )
