"""The Dagster code location of the Drey warehouse (``dagster dev -m pipelines``).

Assets go from the follower's shards to a DuckDB warehouse where every Drey claim is
rechecked; see docs/schema.md ("Warehouse views") and pipelines/definitions.py.
"""

from pipelines.definitions import build_definitions

defs = build_definitions()

__all__ = ["build_definitions", "defs"]
