"""The project's v1 formula module: WAT source compiled at run time (PROTOCOL.md §6).

:func:`module_bytes` is what the devnet founder inscribes; compilation by
``wasmtime.wat2wasm`` is deterministic (tested), so every checkout yields the same bytes and
the same sha256 for the manifest.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import wasmtime

__all__ = ["module_bytes", "module_sha256", "wat_source"]


def wat_source() -> str:
    """The text of ``drey/formula/v1.wat``."""
    return resources.files("drey.formula").joinpath("v1.wat").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def module_bytes() -> bytes:
    """The binary v1 module (compiled once per process)."""
    return bytes(wasmtime.wat2wasm(wat_source()))


def module_sha256() -> bytes:
    """sha256 of :func:`module_bytes`: the manifest's ``sha256``."""
    return hashlib.sha256(module_bytes()).digest()
