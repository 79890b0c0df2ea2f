"""Running the code location in process, against a Dagster instance: what the daemon would
do, for the main job, the benchmark and the tests.

:func:`build_all` materializes everything (chain job, then every month and the publication);
:func:`tick` evaluates the two sensors once and executes the runs they request, exactly as
the daemon would launch them (same jobs, tags and asset selections, same instance), so the
event log and the partitions' history are the daemon's too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from pipelines.errors import PipelinesError
from pipelines.partitions import MONTHS, range_tags
from pipelines.sensors import (
    CHAIN_JOB,
    MONTHS_JOB,
    PUBLICATION,
    months_sensor,
    shards_sensor,
)
from pipelines.settings import Warehouse


class RunFailedError(PipelinesError):
    """A run of the pipelines failed; the message holds the failed steps' errors."""


@dataclass
class Cursors:
    """The sensors' cursors between ticks (the daemon keeps them in the instance)."""

    shards: str | None = None
    months: str | None = None


@dataclass
class Tick:
    """What one tick did: the runs it executed, in order."""

    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    def partitions(self, asset: str) -> set[str]:
        """Partitions of ``asset`` materialized by this tick's runs."""
        return {
            e.partition
            for r in self.runs
            for e in r.get_asset_materialization_events()
            if e.asset_key.to_user_string() == asset and e.partition is not None
        }

    def assets(self) -> set[str]:
        return {
            e.asset_key.to_user_string()
            for r in self.runs
            for e in r.get_asset_materialization_events()
        }


# Dagster's console logger at WARNING: the main job shows its own progress.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    *,
    tags: dict[str, str] | None = None,
    asset_selection: list[dg.AssetKey] | None = None,
    quiet: bool = False,
) -> dg.ExecuteInProcessResult:
    """One run of ``job``; raises :class:`RunFailedError` with the failures' messages."""
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        tags=tags,
        asset_selection=asset_selection,
        raise_on_error=False,
        run_config=QUIET if quiet else None,
    )
    if not result.success:
        messages = [_failure_text(e) for e in result.all_events if e.is_failure]
        raise RunFailedError(f"{job} failed:\n" + "\n".join(dict.fromkeys(messages)))
    return result


def _failure_text(event: dg.DagsterEvent) -> str:
    """A failure event's message and the innermost error's (a resource's or an asset's own
    exception, where Dagster's wrapper says only that "an exception was thrown")."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    detail = error.message.strip() if error is not None else ""
    return f"{event.message or ''} {detail}".strip()


def build_all(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    on_run: Callable[[str], None] | None = None,
    quiet: bool = False,
) -> list[dg.ExecuteInProcessResult]:
    """Materialize every asset: the chain job, then every month (one range) and the
    publication."""
    if on_run:
        on_run(CHAIN_JOB)
    chain = execute(defs, instance, CHAIN_JOB, quiet=quiet)
    months = instance.get_dynamic_partitions(MONTHS.name)
    if on_run:
        on_run(MONTHS_JOB)
    if months:
        rest = execute(defs, instance, MONTHS_JOB, tags=range_tags(months), quiet=quiet)
    else:
        rest = execute(defs, instance, MONTHS_JOB, asset_selection=list(PUBLICATION), quiet=quiet)
    return [chain, rest]


def tick(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    cursors: Cursors,
    *,
    quiet: bool = False,
    before_run: Callable[[], None] | None = None,
) -> Tick:
    """Evaluate ``shards_sensor`` then ``months_sensor`` once and execute their requests
    (``before_run`` is called before each: the benchmark empties the state cache there, as a
    run the daemon launches starts in a process of its own)."""
    done = Tick()
    # A context manager: the warehouse resource has a setup/teardown (the writer lock, which
    # a sensor evaluation does not take).
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursors.shards,
        resources={"warehouse": warehouse},
        definitions=defs,
    ) as context:
        result = shards_sensor(context)
    cursors.shards = result.cursor
    for request in result.run_requests or ():
        if before_run:
            before_run()
        done.runs.append(_run(defs, instance, request, quiet))
    context = dg.build_sensor_context(instance=instance, cursor=cursors.months, definitions=defs)
    result = months_sensor(context)
    cursors.months = result.cursor
    for request in result.run_requests or ():
        if before_run:
            before_run()
        done.runs.append(_run(defs, instance, request, quiet))
    return done


def _run(
    defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest, quiet: bool
) -> dg.ExecuteInProcessResult:
    assert request.job_name is not None
    return execute(
        defs,
        instance,
        request.job_name,
        tags=dict(request.tags),
        asset_selection=list(request.asset_selection) if request.asset_selection else None,
        quiet=quiet,
    )
