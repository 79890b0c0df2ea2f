"""Loader for the C Poseidon kernel (``_poseidon_native.c``).

The kernel is compiled with the system C compiler on first use and cached as a shared library
under ``$DREY_CACHE_DIR`` (default ``$XDG_CACHE_HOME/drey``, else ``~/.cache/drey``), named by
a digest of the source, the compiler command and the platform, so an edited source or another
machine never picks up a stale build. Concurrent first uses (pytest-xdist, worker pools) race
benignly: each compiles to a private temporary name and renames it into place atomically.

If no compiler is available or the build fails, :func:`load_kernel` returns ``None`` and
:mod:`drey.crypto.poseidon` falls back to light-poseidon-python or the pure-Python reference;
results are identical, only slower. ctypes drops the GIL for the duration of each call.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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


def _cache_dir() -> Path:
    if explicit := os.environ.get("DREY_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drey"


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def cpu_has_mulx() -> bool:
    """True on x86-64 CPUs with BMI2 and ADX (read from /proc/cpuinfo; False elsewhere)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return {"bmi2", "adx"} <= flags
    return False


def _build(compiler: str, flags: tuple[str, ...], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp.so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run(
            [compiler, *flags, "-o", tmp, str(_SOURCE)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.cache
def load_kernel(variant: Variant = "auto") -> NativeKernel | None:
    """Compile (once per machine) and load the kernel; ``None`` when that is impossible.

    ``"auto"`` takes the mulx build where the CPU has BMI2 and ADX, else the portable one.
    """
    if variant == "auto":
        variant = "mulx" if cpu_has_mulx() else "portable"
    if variant == "mulx" and not cpu_has_mulx():
        return None
    if sys.platform == "win32":  # the kernel relies on unsigned __int128 (GCC/Clang)
        return None
    compiler = _compiler()
    if compiler is None:
        return None
    flags = (*_CFLAGS, *_MULX_FLAGS) if variant == "mulx" else _CFLAGS
    digest = hashlib.sha256(
        b"\0".join(
            [
                _SOURCE.read_bytes(),
                compiler.encode(),
                " ".join(flags).encode(),
                platform.machine().encode(),
            ]
        )
    ).hexdigest()[:16]
    target = _cache_dir() / f"poseidon-{variant}-{digest}.so"
    try:
        if not target.exists():
            _build(compiler, flags, target)
        library = ctypes.CDLL(str(target))
    except (OSError, subprocess.SubprocessError):
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
    return NativeKernel(path=target, variant=variant, batch=batch)
