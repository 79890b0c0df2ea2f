"""The asset groups of the code location: one per concern, in the order data flows (the UI
lists them so). Every asset names one of these; nothing else is a group."""

from __future__ import annotations

from typing import Final, Literal

Group = Literal["chain", "bookkeeping", "rules", "months", "proofs", "warehouse"]

# What is on chain: blocks, vault outputs and spends, inscriptions, Drey messages.
CHAIN: Final[Group] = "chain"
# Balances at heights: stakes, plans and deposits, the month snapshots and eligibility.
BOOKKEEPING: Final[Group] = "bookkeeping"
# The rules engine's evaluation of every month (the state the month assets read).
RULES: Final[Group] = "rules"
# Each month's results: elections, formula, allocations, roots, packages, reveals, shares,
# the race, rewards and penalties.
MONTHS: Final[Group] = "months"
# Zero-knowledge proofs and the proof systems they use.
PROOFS: Final[Group] = "proofs"
# The verification checks and the published DuckDB warehouse.
WAREHOUSE: Final[Group] = "warehouse"

GROUPS: Final[tuple[Group, ...]] = (CHAIN, BOOKKEEPING, RULES, MONTHS, PROOFS, WAREHOUSE)
