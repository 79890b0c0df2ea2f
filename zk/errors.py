"""The proof toolchain's errors: one root, a subclass per way a step can fail."""

from __future__ import annotations

__all__ = ["PtauError", "StepError", "ToolchainMissingError", "ZkError"]


class ZkError(Exception):
    """Root of the toolchain's errors."""


class ToolchainMissingError(ZkError):
    """node, circom2 or snarkjs is not installed where the project installs them."""


class StepError(ZkError):
    """A circom2 or snarkjs step exited non-zero or timed out; the message ends with its
    output."""


class PtauError(ZkError):
    """The phase-1 file is missing or does not hash to its pinned value."""
