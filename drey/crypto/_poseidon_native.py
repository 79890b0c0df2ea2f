"""Loader for the C Poseidon kernel (``_poseidon_native.c``), built by :mod:`native`.

If no compiler is available or the build fails, :func:`load_kernel` returns ``None`` and
:mod:`drey.crypto.poseidon` falls back to light-poseidon-python or the pure-Python reference;
results are identical, only slower. ctypes drops the GIL for the duration of each call.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from native import build_library, cpu_flags

_SOURCE = Path(__file__).with_name("_poseidon_native.c")
# Measured: -std=c11 or -march=native make this kernel markedly slower with GCC 12; keep -O3.
_CFLAGS = ("-O3", "-shared", "-fPIC")
_MULX_FLAGS = ("-mbmi2", "-madx", "-DDREY_MULX")

Variant = Literal["auto", "portable", "mulx"]


@dataclass(frozen=True, slots=True)
class NativeKernel:
    """The loaded ``drey_poseidon_batch`` function and where it came from."""

    path: Path
    variant: Literal["portable", "mulx"]
    batch: ctypes._CFuncPtr  # type: ignore[name-defined]


def cpu_has_mulx() -> bool:
    """True on x86-64 CPUs with BMI2 and ADX (read from /proc/cpuinfo; False elsewhere)."""
    return {"bmi2", "adx"} <= cpu_flags()


@functools.cache
def load_kernel(variant: Variant = "auto") -> NativeKernel | None:
    """Compile (once per machine) and load the kernel; ``None`` when that is impossible.

    ``"auto"`` takes the mulx build where the CPU has BMI2 and ADX, else the portable one.
    """
    if variant == "auto":
        variant = "mulx" if cpu_has_mulx() else "portable"
    if variant == "mulx" and not cpu_has_mulx():
        return None
    flags = (*_CFLAGS, *_MULX_FLAGS) if variant == "mulx" else _CFLAGS
    library = build_library(_SOURCE, name=f"poseidon-{variant}", flags=flags)
    if library is None:
        return None
    batch = library.drey_poseidon_batch
    batch.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        *[ctypes.c_void_p] * 7,
        ctypes.c_size_t,
    ]
    batch.restype = ctypes.c_longlong
    return NativeKernel(path=Path(library._name), variant=variant, batch=batch)
