"""The project's C kernels: compiled with the system C compiler on first use, cached per machine.

A kernel is one C source file beside the Python module that loads it (``drey/crypto`` for
Poseidon, ``btc`` for block hashing). :func:`build_library` compiles it once and
caches the shared library under ``$DREY_CACHE_DIR`` (default ``$XDG_CACHE_HOME/drey``, else
``~/.cache/drey``), named by a digest of the source, the compiler command and the platform, so
an edited source or another machine never picks up a stale build. Concurrent first uses
(pytest-xdist, worker pools) race benignly: each compiles to a private temporary name and
renames it into place atomically.

Every kernel has a pure-Python twin giving identical results; a loader returns ``None`` (and
its caller falls back) when no compiler is available or the build fails. ctypes drops the GIL
for the duration of each call.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["build_library", "cache_dir", "compiler", "cpu_flags"]


def cache_dir() -> Path:
    if explicit := os.environ.get("DREY_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drey"


def compiler() -> str | None:
    """The C compiler to use (``$CC``, else cc, gcc or clang on PATH), or None."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of an x86-64 Linux machine (``/proc/cpuinfo``); empty elsewhere."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return frozenset()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def _compile(cc: str, source: Path, flags: tuple[str, ...], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp.so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run(
            [cc, *flags, "-o", tmp, str(source)], check=True, capture_output=True, timeout=120
        )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build_library(source: Path, *, name: str, flags: tuple[str, ...]) -> ctypes.CDLL | None:
    """``source`` compiled with ``flags`` (once per machine) and loaded; None when there is
    no compiler, the platform is Windows, or the build fails."""
    if sys.platform == "win32":  # the kernels rely on GCC/Clang extensions
        return None
    cc = compiler()
    if cc is None:
        return None
    digest = hashlib.sha256(
        b"\0".join(
            [
                source.read_bytes(),
                cc.encode(),
                " ".join(flags).encode(),
                platform.machine().encode(),
            ]
        )
    ).hexdigest()[:16]
    target = cache_dir() / f"{name}-{digest}.so"
    try:
        if not target.exists():
            _compile(cc, source, flags, target)
        return ctypes.CDLL(str(target))
    except (OSError, subprocess.SubprocessError):
        return None
