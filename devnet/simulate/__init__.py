"""Real Drey protocol traffic on the devnet, honest and hostile (``python -m devnet simulate``).

:func:`run_simulation` builds a devnet where a founder inscribes the params (threshold
Paillier key, roster) and the formula module, actuaries stake, customers open, top up and
withdraw plans, and every month independent actuary clients run the election, the encrypted
race, the threshold reveal and the publication, while selectable scenarios misbehave. The
simulator's own bookkeeping of what happened is written next to the chain as
``answer_key.json`` (see docs/simulator.md).
"""

from devnet.simulate.config import (
    ALL_SCENARIOS_PLAN,
    SCENARIOS,
    DevnetParams,
    ScenarioSpec,
    SimulationConfig,
    parse_scenarios,
)
from devnet.simulate.errors import InconsistentOutcomeError, ScenarioError, SimulationError
from devnet.simulate.run import Simulation, SimulationReport, run_simulation

__all__ = [
    "ALL_SCENARIOS_PLAN",
    "SCENARIOS",
    "DevnetParams",
    "InconsistentOutcomeError",
    "ScenarioError",
    "ScenarioSpec",
    "Simulation",
    "SimulationConfig",
    "SimulationError",
    "SimulationReport",
    "parse_scenarios",
    "run_simulation",
]
