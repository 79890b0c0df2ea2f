"""Running the code location's jobs in process against an ephemeral instance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from pipelines import build_definitions, duck
from pipelines.partitions import MONTHS, range_tags
from pipelines.settings import Warehouse


@dataclass
class Pipeline:
    """A code location over one shard root and warehouse directory, with its instance."""

    warehouse: Warehouse
    defs: dg.Definitions
    instance: dg.DagsterInstance

    def run(self, job: str, **kwargs: object) -> dg.ExecuteInProcessResult:
        result = self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, raise_on_error=False, **kwargs
        )
        failures = [e.message for e in result.all_events if e.is_failure]
        assert result.success, "\n".join(failures)
        return result

    def months(self) -> list[str]:
        return self.instance.get_dynamic_partitions(MONTHS.name)

    def run_all(self) -> tuple[dg.ExecuteInProcessResult, dg.ExecuteInProcessResult]:
        """The first build: chain job, then every month and the publication."""
        chain = self.run("chain_job")
        months = self.run("months_job", tags=range_tags(self.months()))
        return chain, months


def make_pipeline(shards: Path, warehouse_dir: Path, founder: bytes) -> Pipeline:
    settings = Warehouse(
        shard_root=str(shards), warehouse_dir=str(warehouse_dir), founder=founder.hex()
    )
    return Pipeline(settings, build_definitions(settings), dg.DagsterInstance.ephemeral())


def warehouse_contents(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows of the published warehouse at ``path`` but build_info's (its build
    time differs)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM data.{t} ORDER BY ALL").fetchall()
            for t in (*duck.LOADED, "verification")
        }
    finally:
        con.close()
