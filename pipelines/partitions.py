"""Month partitions: dynamic, keyed ``YYYY-MM``, added as months appear on chain.

The rules engine decides which months exist (their snapshots are on chain, or the month is
pending); the ``rules_evaluation`` asset registers them, so a key exists before any run asks
for it. Ranges of keys are runs of consecutive months (keys are added in month order).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dagster as dg

MONTHS = dg.DynamicPartitionsDefinition(name="months")
MONTH_KEY = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

# Month assets materialize a whole range of months in one run (one process, one load of the
# evaluation) instead of one run per month.
SINGLE_RUN = dg.BackfillPolicy.single_run()

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def month_partitioned_asset(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``@dg.asset`` partitioned by month that materializes a run's months in one step."""

    def decorate(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        with warnings.catch_warnings():
            # backfill_policy is "beta" in Dagster 1.13; single-run ranges are what we want.
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.asset(partitions_def=MONTHS, backfill_policy=SINGLE_RUN, **kwargs)(fn)

    return decorate


def month_partitioned_multi_asset(
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``@dg.multi_asset`` partitioned by month that materializes a run's months in one step."""

    def decorate(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)  # as month_partitioned_asset
            return dg.multi_asset(partitions_def=MONTHS, backfill_policy=SINGLE_RUN, **kwargs)(fn)

    return decorate


def is_month_key(key: str) -> bool:
    return bool(MONTH_KEY.match(key)) and int(key[:4]) >= 1970


def range_tags(months: Sequence[str]) -> dict[str, str]:
    """Run tags selecting the partitions ``min(months) … max(months)``."""
    if not months:
        raise ValueError("a partition range needs at least one month")
    ordered = sorted(months)
    return {RANGE_START: ordered[0], RANGE_END: ordered[-1]}


def register_months(instance: dg.DagsterInstance, months: Iterable[str]) -> list[str]:
    """Add the months not yet known as partitions (in month order); return those added."""
    known = set(instance.get_dynamic_partitions(MONTHS.name))
    new = sorted(m for m in set(months) if m not in known)
    for key in new:
        if not is_month_key(key):
            raise ValueError(f"{key!r} is not a YYYY-MM month")
    if new:
        instance.add_dynamic_partitions(MONTHS.name, new)
    return new


def remove_months(instance: dg.DagsterInstance, months: Iterable[str]) -> None:
    for key in months:
        instance.delete_dynamic_partition(MONTHS.name, key)
