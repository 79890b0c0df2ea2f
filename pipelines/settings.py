"""The ``warehouse`` resource: where the pipelines read shards and write the warehouse, the
one trust anchor, and a run-scoped cache of the typed state handed between assets.

Its fields are Dagster config (set them in the launchpad's run config, or bind them with
``dg.EnvVar`` in your own Definitions); every field left empty comes from the product's
settings (:func:`pipelines.configuration.load_settings`: the ``config_file``, else
``$DREY_CONFIG``; the ``DREY_*`` environment; the checkout's ``var/run``). They are read when a
run or a sensor evaluation starts, in its own process, never at import: a code location loads
with nothing configured, and ``dagster dev`` from a checkout works on what ``make run`` built.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from pipelines.configuration import Settings, load_settings
from pipelines.store import Store
from pipelines.writer_lock import writer_lock

EVALUATION_STATE = "evaluation"
MESSAGES_STATE = "messages"


class Warehouse(dg.ConfigurableResource):
    """The shard root, the warehouse directory and the founder key; empty fields come from
    the product's settings (see the module's docstring)."""

    config_file: str | None = Field(
        default=None, description="The product's TOML file (default: $DREY_CONFIG, if set)."
    )
    shard_root: str | None = Field(
        default=None, description="The follower's shard root (default: shard_root/DREY_SHARD_ROOT)."
    )
    warehouse_dir: str | None = Field(
        default=None,
        description="Where the store and the published warehouse.duckdb live "
        "(default: [warehouse] warehouse_dir/DREY_WAREHOUSE_DIR).",
    )
    founder: str | None = Field(
        default=None,
        description="The founder's x-only key, 64 hex: the one trust anchor "
        "(default: [warehouse] founder/DREY_FOUNDER; empty: no month can be verified).",
    )
    verify_workers: int | None = Field(
        default=None, description="Processes verifying decryption-share proofs (0: one per core)."
    )
    lock_wait: float | None = Field(
        default=None, description="Seconds a run waits for another writer of the store."
    )

    _settings: Settings | None = PrivateAttr(default=None)
    _cache: dict[str, tuple[tuple[int, int], Any]] = PrivateAttr(default_factory=dict)
    _lock: contextlib.ExitStack | None = PrivateAttr(default=None)

    @property
    def settings(self) -> Settings:
        """The resolved settings (read once per resource instance)."""
        if self._settings is None:
            given = {
                "shard_root": self.shard_root,
                "warehouse_dir": self.warehouse_dir,
                "founder": self.founder,
                "verify_workers": self.verify_workers,
                "lock_wait": self.lock_wait,
            }
            self._settings = load_settings(self.config_file, env=os.environ, overrides=given)
        return self._settings

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
                wait=self.settings.lock_wait,
                log=context.log,
            )
        )
        self._lock = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def founder_key(self) -> bytes | None:
        return self.settings.founder_key

    @property
    def workers(self) -> int:
        return self.settings.verify_workers or os.cpu_count() or 1

    @property
    def shards(self) -> Path:
        return self.settings.shard_root

    @property
    def store(self) -> Store:
        return Store(self.settings.warehouse_dir)

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
