"""Every asset and asset check of the code location, one module per concern (the groups are
in ``groups.py``), and the selections the jobs run."""

import dagster as dg

from pipelines.assets import (
    allocations,
    chain,
    elections,
    formula,
    inscriptions,
    messages,
    packages,
    penalties,
    plans,
    proofs,
    race,
    reveals,
    rewards,
    roots,
    rules,
    shares,
    snapshots,
    stakes,
    verification,
    warehouse,
)
from pipelines.assets.catalog import with_table_metadata
from pipelines.assets.groups import BOOKKEEPING, CHAIN, MONTHS, PROOFS, RULES, WAREHOUSE

MODULES = (
    chain,
    inscriptions,
    messages,
    rules,
    stakes,
    plans,
    snapshots,
    elections,
    packages,
    shares,
    reveals,
    proofs,
    formula,
    allocations,
    roots,
    race,
    rewards,
    penalties,
    verification,
    warehouse,
)

# Every warehouse table is an asset of its name, defined with its column schema and table name.
ASSETS = with_table_metadata(dg.load_assets_from_modules(list(MODULES)))
CHECKS = dg.load_asset_checks_from_modules(list(MODULES))

# The month-partitioned assets (every month result, the verification).
MONTH_PARTITIONED = dg.AssetSelection.assets(*(a for a in ASSETS if a.partitions_def is not None))
# The unpartitioned assets a new shard commit refreshes before any month is rebuilt: the chain,
# the bookkeeping over it, the rules engine, and the proof systems.
CHAIN_ASSETS = dg.AssetSelection.groups(CHAIN, BOOKKEEPING, RULES, PROOFS) - MONTH_PARTITIONED
# The month-partitioned assets, what is built over all months (months_paths) and the
# publication that follows them.
MONTH_ASSETS = MONTH_PARTITIONED | dg.AssetSelection.groups(MONTHS, WAREHOUSE)
