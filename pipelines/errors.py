"""Errors of the pipelines. Every error the code location and the main job raise on purpose
derives from :class:`PipelinesError`; anything else is a bug and is reported as one."""

from __future__ import annotations

__all__ = ["PipelinesError", "WarehouseBusyError"]


class PipelinesError(Exception):
    """Root of the pipelines' errors."""


class WarehouseBusyError(PipelinesError):
    """Another process is writing the warehouse store (a Dagster run, the main job or its
    ``--watch`` loop) and did not finish within the wait."""
