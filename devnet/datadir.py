"""The on-disk layout of a devnet: a Bitcoin Core regtest data directory plus a sidecar.

``<datadir>/regtest/`` is exactly what ``bitcoind -regtest -datadir=<datadir>`` uses:
``blocks/blk*.dat``, ``blocks/rev*.dat``, ``blocks/xor.dat``, ``blocks/index/`` (LevelDB) and
``chainstate/`` (LevelDB), all written by libbitcoinkernel (Core's own code). The devnet keeps
its own state under ``<datadir>/regtest/devnet/`` (ignored by bitcoind): ``devnet.json`` (seed
and settings) and ``journal.jsonl`` (one line per block event, to rebuild stale branches and
block statuses the kernel API does not expose).

Locking follows Core: ``.lock`` in the network directory and in the blocks directory, held with
POSIX ``fcntl`` record locks (what Core's ``LockDirectory`` uses), so a running bitcoind is
detected. POSIX record locks are per process, so an in-process ``flock`` on a separate file
(``devnet/.lock``) guards against two chain objects in one process; it is taken first, so a
failed attempt never closes a descriptor of Core's lock files (which would drop our own locks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devnet.errors import DataDirBusyError, DataDirError

NETWORK = "regtest"
CONFIG_VERSION = 1
REGTEST_MAGIC = bytes.fromhex("fabfb5da")


@dataclass(frozen=True, slots=True)
class DataDir:
    root: Path

    @property
    def net(self) -> Path:
        return self.root / NETWORK

    @property
    def blocks(self) -> Path:
        return self.net / "blocks"

    @property
    def chainstate(self) -> Path:
        return self.net / "chainstate"

    @property
    def sidecar(self) -> Path:
        return self.net / "devnet"

    @property
    def config_file(self) -> Path:
        return self.sidecar / "devnet.json"

    @property
    def journal_file(self) -> Path:
        return self.sidecar / "journal.jsonl"

    @property
    def cookie_file(self) -> Path:
        return self.net / ".cookie"

    def exists(self) -> bool:
        return self.config_file.is_file()

    def block_files_usage(self) -> int:
        """Core's ``CalculateCurrentUsage`` (``size_on_disk``): bytes of block and undo records,
        not of the preallocated files. Records are ``[magic][u32 size][data]`` (undo records add
        a 32-byte checksum), XOR-obfuscated with ``xor.dat`` by file offset."""
        try:
            key = (self.blocks / "xor.dat").read_bytes()
        except FileNotFoundError:
            key = bytes(8)
        if len(key) != 8:
            key = bytes(8)
        total = 0
        with contextlib.suppress(FileNotFoundError):
            for p in sorted(self.blocks.iterdir()):
                if p.suffix != ".dat" or p.name[:3] not in ("blk", "rev"):
                    continue
                trailer = 32 if p.name.startswith("rev") else 0
                with p.open("rb") as f:
                    pos = 0
                    while True:
                        f.seek(pos)
                        head = f.read(8)
                        if len(head) < 8:
                            break
                        plain = bytes(b ^ key[(pos + i) % 8] for i, b in enumerate(head))
                        if plain[:4] != REGTEST_MAGIC:
                            break
                        size = int.from_bytes(plain[4:], "little")
                        total += 8 + size + trailer
                        pos += 8 + size + trailer
        return total

    # -- config -------------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        try:
            cfg = json.loads(self.config_file.read_text())
        except FileNotFoundError:
            raise DataDirError(
                f"{self.root} is not a devnet data directory (no {self.config_file}); "
                "create one with `python -m devnet create`"
            ) from None
        except (OSError, ValueError) as exc:
            raise DataDirError(f"cannot read {self.config_file}: {exc}") from None
        if not isinstance(cfg, dict) or cfg.get("version") != CONFIG_VERSION:
            raise DataDirError(f"{self.config_file}: unsupported devnet config version")
        return cfg

    def write_config(self, cfg: dict[str, Any]) -> None:
        self.sidecar.mkdir(parents=True, exist_ok=True)
        tmp = self.config_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.config_file)


class DirLock:
    """Exclusive hold on a data directory (see module docstring)."""

    def __init__(self, datadir: DataDir) -> None:
        self._datadir = datadir
        self._fds: list[int] = []

    def acquire(self) -> None:
        d = self._datadir
        for p in (d.sidecar, d.blocks):
            p.mkdir(parents=True, exist_ok=True)
        inproc = os.open(d.sidecar / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(inproc, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(inproc)
            raise DataDirBusyError(str(d.root)) from None
        self._fds.append(inproc)
        for directory in (d.net, d.blocks):
            fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            self._fds.append(fd)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.release()
                raise DataDirBusyError(str(directory)) from None

    def release(self) -> None:
        # Core's lock files stay on disk (Core never deletes them either).
        while self._fds:
            os.close(self._fds.pop())
