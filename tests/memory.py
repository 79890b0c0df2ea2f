"""A process's own peak resident memory, for tests that bound it.

``ru_maxrss`` is the wrong measure in a test suite: Linux carries the parent's peak into a
child across fork and exec (``signal->maxrss``), so a subprocess started by a pytest that has
grown to 700 MB reports at least 700 MB, and an in-process "growth" measured against a
``ru_maxrss`` that earlier tests raised is zero. ``VmHWM`` belongs to the address space: a new
one at exec, and reset on demand by writing 5 to ``/proc/self/clear_refs`` (Linux ≥ 4.0).
"""

from __future__ import annotations

from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    """The high-water mark of this process's resident memory (VmHWM), in MiB."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MiB."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def reset_peak_rss() -> None:
    """Start a new high-water mark at the current resident memory."""
    Path("/proc/self/clear_refs").write_text("5")
