"""The executor of every job, chosen by configuration: Dagster's own in-process or
multiprocess executor, with the store's writer lock held for the whole run.

``[dagster] executor`` (``DREY_EXECUTOR``) picks it for the runs Dagster launches (the daemon,
the webserver, ``dagster job execute``); a run's config may override it::

    execution:
      config:
        kind: multiprocess        # or in_process
        max_concurrent_steps: 2   # 0: one per core ([dagster] max_concurrent_steps)
        start_method: forkserver  # or spawn

- ``in_process`` (the default): every step in the run's process. The month assets of a run
  reuse one load of the evaluation, and the state cache lives for the run.
- ``multiprocess``: each step in a process of its own and independent steps at once (the chain
  assets beside each other, the month assets beside each other). A step pays its process's
  start and loads its own state, so this wins when independent steps are heavy. Steps fork
  from a server that imported the code location once (``forkserver``, Dagster's own option;
  ``spawn`` starts a fresh interpreter per step, 1–2 s more a step). It needs a
  persistent instance (``$DAGSTER_HOME``) and a job loaded from the code location, as any
  Dagster multiprocess run does.

The main job (``python -m pipelines``) always runs in one process: it keeps the state cache
across its ticks (:mod:`pipelines.state_cache`).

The lock: a run holds the store's writer lock from start to end (:mod:`pipelines.writer_lock`).
In process, the ``warehouse`` resource takes it. With steps in processes of their own, the
run's process takes it here, around the whole plan, and each step's resource re-enters it by
the run's id: no writer of another run can slip in between two steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from pipelines.configuration import EXECUTOR_KINDS, ExecutorKind, Settings
from pipelines.writer_lock import writer_lock

if TYPE_CHECKING:
    from pipelines.settings import Warehouse

__all__ = ["warehouse_executor"]

_CONFIG = {
    "kind": dg.Field(
        dg.Enum("ExecutorKind", [dg.EnumValue(k) for k in EXECUTOR_KINDS]),
        is_required=False,
        description="in_process or multiprocess (default: [dagster] executor).",
    ),
    "start_method": dg.Field(
        dg.Enum("StartMethod", [dg.EnumValue("forkserver"), dg.EnumValue("spawn")]),
        is_required=False,
        default_value="forkserver",
        description="multiprocess: how a step's process starts (forkserver: forked from a "
        "process that imported the code location once; spawn: a fresh interpreter).",
    ),
    "max_concurrent_steps": dg.Field(
        int,
        is_required=False,
        description="multiprocess: steps at once, 0 one per core "
        "(default: [dagster] max_concurrent_steps).",
    ),
}
# Dagster's executors take their retry mode from config; ours keeps their default.
_RETRIES = {"retries": {"enabled": {}}}


def warehouse_executor(warehouse: Warehouse) -> dg.ExecutorDefinition:
    """The executor of the definitions whose ``warehouse`` resource is ``warehouse``: its
    settings, read afresh for each run (a code server outlives a change of ``drey.toml``),
    name the kind unless a run's config does."""

    def settings() -> Settings:
        return warehouse.configured_by({}).settings

    def kind(config: Mapping[str, Any]) -> ExecutorKind:
        chosen = config.get("kind")
        return chosen if chosen is not None else settings().executor

    def requirements(config: Mapping[str, Any]) -> Sequence[dg.ExecutorRequirement]:
        if kind(config) == "multiprocess":
            return dg.multiple_process_executor_requirements()
        return []

    @dg.executor(name="warehouse", config_schema=_CONFIG, requirements=requirements)
    def _create(context: dg.InitExecutorContext) -> dg.Executor:
        config = context.executor_config
        read = settings()  # once for the run: the kind and the steps come from one reading
        if config.get("kind", read.executor) == "in_process":
            return _dagster_executor(context, dg.in_process_executor, _RETRIES)
        steps = config.get("max_concurrent_steps", read.max_concurrent_steps)
        start = {config.get("start_method", "forkserver"): {}}
        inner = _dagster_executor(
            context,
            dg.multiprocess_executor,
            {**_RETRIES, "max_concurrent": steps or None, "start_method": start},
        )
        return _RunLocked(inner, warehouse)

    return _create


def _dagster_executor(
    context: dg.InitExecutorContext, definition: dg.ExecutorDefinition, config: dict[str, Any]
) -> dg.Executor:
    create = definition.executor_creation_fn
    assert create is not None  # Dagster's built-in executors have one
    init = dg.InitExecutorContext(context.job, definition, config, context.instance)
    return create(init)


class _RunLocked(dg.Executor):
    """``inner``, with the store's writer lock held by the run's process around the plan."""

    def __init__(self, inner: dg.Executor, warehouse: Warehouse) -> None:
        self._inner = inner
        self._warehouse = warehouse

    @property
    def retries(self) -> Any:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self._inner.step_dependency_config

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        warehouse = self._warehouse.configured_by(plan_context.run_config)
        run = plan_context.dagster_run
        with writer_lock(
            warehouse.store.root,
            holder=f"dagster run {run.run_id} ({run.job_name})",
            wait=warehouse.settings.lock_wait,
            log=plan_context.log,
            run=run.run_id,
        ):
            yield from self._inner.execute(plan_context, execution_plan)
