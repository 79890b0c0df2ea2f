"""The ``warehouse`` resource: where the pipelines read shards and write the warehouse, the
one trust anchor, and the cache of the typed state handed between assets
(:mod:`pipelines.state_cache`).

Its fields are Dagster config (set them in the launchpad's run config, or bind them with
``dg.EnvVar`` in your own Definitions); every field left empty comes from the product's
settings (:func:`pipelines.configuration.load_settings`: the ``config_file``, else
``$DREY_CONFIG``; the ``DREY_*`` environment; the checkout's ``var/run``). They are read when a
run or a sensor evaluation starts, in its own process, never at import: a code location loads
with nothing configured, and ``dagster dev`` from a checkout works on what ``make run`` built.
"""

# Dagster resolves a resource's fields from their annotations at run time: this module keeps
# them evaluated (no ``from __future__ import annotations``, which turns them into strings and
# makes ``state_cache`` fail validation).
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from pipelines.collector import collector_paused
from pipelines.configuration import Settings, load_settings
from pipelines.evaluation import CarriedTip, carried_evaluation
from pipelines.state_cache import StateCache
from pipelines.store import Store
from pipelines.writer_lock import writer_lock

EVALUATION_STATE = "evaluation"
CARRIED_STATE = "evaluation_carried"  # the tip a quiet block carried the evaluation to
MESSAGES_STATE = "messages"


CONFIG_FIELDS = (
    "config_file",
    "shard_root",
    "warehouse_dir",
    "founder",
    "verify_workers",
    "lock_wait",
    "publish_url",
    "collector",
)


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
    publish_url: str | None = Field(
        default=None,
        description="An fsspec URL (s3://…, gs://…, file://…) that gets a copy of each "
        "publication (default: [warehouse] publish_url/DREY_PUBLISH_URL; empty: none).",
    )
    collector: str | None = Field(
        default=None,
        description="'paused': Python's cyclic garbage collector off while a run works "
        "(pipelines/collector.py); 'running': Python's default "
        "(default: [dagster] collector/DREY_COLLECTOR, else 'paused').",
    )

    state_cache: dg.ResourceDependency[Any] = Field(
        default=None,
        description="Unpickled state kept between runs of one process "
        "(build_definitions gives one; None: each run keeps its own).",
    )

    _settings: Settings | None = PrivateAttr(default=None)
    _run_states: StateCache | None = PrivateAttr(default=None)
    _run_scope: contextlib.ExitStack | None = PrivateAttr(default=None)

    @property
    def settings(self) -> Settings:
        """The resolved settings (read once per resource instance)."""
        if self._settings is None:
            given = {n: getattr(self, n) for n in CONFIG_FIELDS if n != "config_file"}
            self._settings = load_settings(self.config_file, env=os.environ, overrides=given)
        return self._settings

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run holds the store's writer lock from start to end (sensor evaluations, which
        only read, do not take it). Under the multiprocess executor the run's process holds
        it and each step re-enters it by the run's id (:mod:`pipelines.executor`). The cyclic
        collector is paused as long (``collector``, :mod:`pipelines.collector`)."""
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
                run=run.run_id,
            )
        )
        if self.settings.collector == "paused":
            stack.enter_context(collector_paused())
        self._run_scope = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_scope is not None:
            self._run_scope.close()
            self._run_scope = None

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

    def state(self, name: str, default: Any = None) -> Any:
        """The pickled state ``name`` (from memory while its file is unchanged), or
        ``default``. The value is shared with other readers: treat it as read-only."""
        store = self.store
        return self._states().read(
            store.state_path(name), lambda _: store.load_state(name), default
        )

    def save_state(self, name: str, value: Any) -> Path:
        """Save the state ``name`` and keep it in memory: a later step or run that reads what
        this one wrote (the messages, the evaluation) does not unpickle it again."""
        path = self.store.save_state(name, value)
        self._states().wrote(path, value)
        return path

    def messages(self) -> list[Any]:
        """The parsed messages ``parse_drey_messages`` saved, or ``[]``."""
        return self.segmented(MESSAGES_STATE)

    def segmented(self, name: str) -> list[Any]:
        """The list ``name`` saved as segments (from memory while its index is unchanged), or
        ``[]``. Shared with other readers: read-only."""
        store = self.store
        return self._states().read(
            store.segmented_index(name), lambda _: store.load_segmented(name) or [], []
        )

    def save_segmented(self, name: str, items: list[Any], *, kept: int) -> None:
        """Save the list ``name``, of which the first ``kept`` items are the saved ones (only
        the rest is written), and keep it in memory."""
        index = self.store.save_segmented(name, items, kept=kept)
        self._states().wrote(index, items)

    def remember(self, name: str, value: Any) -> None:
        """Keep ``value`` in memory only (lost with the process): something a step can rebuild
        and would rather not."""
        self._states().remember(name, value)

    def recalled(self, name: str) -> Any:
        """What :meth:`remember` kept under ``name``, or ``None``."""
        return self._states().recall(name)

    def drop_state(self, name: str) -> None:
        store = self.store
        store.drop_state(name)
        self._states().forget(store.state_path(name))

    def with_state_cache(self, cache: StateCache) -> "Warehouse":
        """This resource's configuration with ``cache`` shared by its runs."""
        given = {name: getattr(self, name) for name in CONFIG_FIELDS}
        return Warehouse(**given, state_cache=cache)

    def configured_by(self, run_config: Mapping[str, Any]) -> "Warehouse":
        """This resource as a run with ``run_config`` sees it: the run's
        ``resources.warehouse.config`` over these fields (the multiprocess executor's lock
        must name the store the run's steps write)."""
        resources = run_config.get("resources") or {}
        given = (resources.get("warehouse") or {}).get("config") or {}
        fields = {name: getattr(self, name) for name in CONFIG_FIELDS}
        return Warehouse(**(fields | {k: v for k, v in given.items() if k in CONFIG_FIELDS}))

    def _states(self) -> StateCache:
        """The definitions' cache (:mod:`pipelines.state_cache`), else this run's own."""
        if self.state_cache is not None:
            return self.state_cache
        if self._run_states is None:
            self._run_states = StateCache()
        return self._run_states

    def evaluation(self) -> Any:
        """The last :class:`drey.rules.Evaluation` written by ``rules_evaluation`` (carried to
        the tip it was last advanced to: :class:`pipelines.evaluation.CarriedTip`)."""
        return carried_evaluation(self.state(EVALUATION_STATE), self.state(CARRIED_STATE))

    def save_evaluation(self, evaluation: Any, *, carried_from: Any = None) -> None:
        """Save ``evaluation``; when it is the saved one carried to a higher tip
        (``carried_from`` is the saved file's evaluation), save only the new tip. A new
        evaluation drops the carried tip first: a crash between leaves the last one saved."""
        if carried_from is not None:
            self.save_state(CARRIED_STATE, CarriedTip.between(carried_from, evaluation))
            return
        self.store.drop_state(CARRIED_STATE)
        self.save_state(EVALUATION_STATE, evaluation)
