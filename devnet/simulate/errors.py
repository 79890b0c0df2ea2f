"""Errors raised by the protocol simulator (``devnet simulate``)."""

from __future__ import annotations

from devnet.errors import DevnetError


class SimulationError(DevnetError):
    """Root of the simulator's errors."""


class ScenarioError(SimulationError):
    """A scenario list that cannot be played (unknown name, bad month, conflicting roles)."""


class InconsistentOutcomeError(SimulationError):
    """What was mined disagrees with what the simulator meant to do (a simulator bug, or a
    protocol library that changed under it): e.g. an honest share found invalid."""
