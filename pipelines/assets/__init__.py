"""Every asset and asset check of the code location, one module per asset group."""

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

ASSETS = dg.load_assets_from_modules(list(MODULES))
CHECKS = dg.load_asset_checks_from_modules(list(MODULES))

# The unpartitioned assets a new shard commit refreshes before any month is rebuilt.
CHAIN_ASSETS = dg.AssetSelection.groups(
    "chain",
    "inscriptions",
    "drey_messages",
    "rules",
    "stakes",
    "plans_and_deposits",
    "proof_systems",
)
# The month-partitioned assets and the publication that follows them.
MONTH_ASSETS = dg.AssetSelection.assets(
    *(a for a in ASSETS if a.partitions_def is not None)
) | dg.AssetSelection.groups("warehouse")
