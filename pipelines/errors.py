"""Errors of the pipelines. Every error the code location and the main job raise on purpose
derives from :class:`PipelinesError`; anything else is a bug and is reported as one."""

from __future__ import annotations

__all__ = ["ConfigurationError", "PipelinesError", "WarehouseBusyError"]


class PipelinesError(Exception):
    """Root of the pipelines' errors."""


class WarehouseBusyError(PipelinesError):
    """Another process is writing the warehouse store (a Dagster run, the main job or its
    ``--watch`` loop) and did not finish within the wait."""


class ConfigurationError(PipelinesError, ValueError):
    """A setting that cannot be used (a founder key that is not 32 bytes of hex, …); the
    message names the setting and what it needs."""
