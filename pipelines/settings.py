"""The ``warehouse`` resource: where the pipelines read shards and write the warehouse, the
one trust anchor, and a run-scoped cache of the typed state handed between assets.

Defaults come from the environment so that ``dagster dev -m pipelines`` works from the
repository root with nothing configured, on what the main job (``make run``) built:
``DREY_SHARD_ROOT`` (default ``var/run/shards``), ``DREY_WAREHOUSE_DIR`` (default
``var/run/warehouse``), ``DREY_FOUNDER`` (hex x-only key of the founder; default: the founder of
the main job's devnet, from its identity file ``var/run/devnet/network.json``, if there is one; empty means no params can be
valid, so no month is ever known).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from pipelines.errors import ConfigurationError
from pipelines.store import Store
from pipelines.writer_lock import writer_lock

REPO = Path(__file__).resolve().parents[1]
_PACKAGE = Path(__file__).resolve().parent


def packaged(name: str, in_checkout: str) -> Path:
    """A file the wheel carries inside the package (``pipelines/<name>``, see pyproject's
    ``force-include``), or, in a checkout, its place in the repository (``in_checkout``)."""
    inside = _PACKAGE / name
    return inside if inside.exists() else REPO / in_checkout


# The warehouse contract (numbered view, macro and check files) and the instance's defaults.
SQL_DIR = packaged("sql", "sql")
DAGSTER_YAML = packaged("dagster.yaml", "dagster_home/dagster.yaml")

# Where the main job works when no --workdir is given (devnet/, shards/, warehouse/).
MAIN_JOB_WORKDIR = "var/run"

EVALUATION_STATE = "evaluation"
MESSAGES_STATE = "messages"


def _default_path(env: str, default: str) -> str:
    value = os.environ.get(env)
    path = Path(value) if value else Path(default)
    return str(path if path.is_absolute() else REPO / path)


def _devnet_founder() -> str:
    """The founder key of the main job's devnet, or "" when it has not been built."""
    identity = REPO / MAIN_JOB_WORKDIR / "devnet" / "network.json"
    try:
        return str(json.loads(identity.read_text())["founder"])
    except (OSError, ValueError, KeyError):
        return ""


class Warehouse(dg.ConfigurableResource):
    """Paths and the founder key (64 hex characters, or empty)."""

    shard_root: str
    warehouse_dir: str
    founder: str = ""
    # Processes that verify decryption-share proofs (0: one per core).
    verify_workers: int = 0
    # Seconds a run waits for another writer of the store (pipelines/writer_lock.py).
    lock_wait: float = 600.0

    _cache: dict[str, tuple[tuple[int, int], Any]] = PrivateAttr(default_factory=dict)
    _lock: contextlib.ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run holds the store's writer lock from start to end (sensor evaluations, which
        only read, do not take it)."""
        run = context.run
        if run is None:
            return
        stack = contextlib.ExitStack()
        stack.enter_context(
            writer_lock(
                self.store.root,
                holder=f"dagster run {run.run_id} ({run.job_name})",
                wait=self.lock_wait,
                log=context.log,
            )
        )
        self._lock = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @classmethod
    def from_env(cls) -> Warehouse:
        return cls(
            shard_root=_default_path("DREY_SHARD_ROOT", f"{MAIN_JOB_WORKDIR}/shards"),
            warehouse_dir=_default_path("DREY_WAREHOUSE_DIR", f"{MAIN_JOB_WORKDIR}/warehouse"),
            founder=os.environ.get("DREY_FOUNDER") or _devnet_founder(),
        )

    @property
    def founder_key(self) -> bytes | None:
        text = self.founder.strip()
        if not text:
            return None
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise ConfigurationError(f"founder key is not hex: {text[:80]!r}") from None
        if len(key) != 32:
            raise ConfigurationError(f"founder key must be 32 bytes (x-only), got {len(key)}")
        return key

    @property
    def workers(self) -> int:
        return self.verify_workers or os.cpu_count() or 1

    @property
    def shards(self) -> Path:
        return Path(self.shard_root)

    @property
    def store(self) -> Store:
        return Store(Path(self.warehouse_dir))

    def state(self, name: str) -> Any:
        """The pickled state ``name`` (cached while its file is unchanged), or ``None``."""
        path = self.store.state_path(name)
        if not path.exists():
            return None
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        hit = self._cache.get(name)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = self.store.load_state(name)
        self._cache[name] = (stamp, value)
        return value

    def evaluation(self) -> Any:
        """The last :class:`drey.rules.Evaluation` written by ``rules_evaluation``."""
        return self.state(EVALUATION_STATE)
