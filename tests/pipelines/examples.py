"""The example queries of docs/schema.md ("Warehouse views"): the documentation's own SQL,
which the tests run against a warehouse and the benchmark times."""

from __future__ import annotations

import re
from pathlib import Path

SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
SECTION = "# Warehouse views"
_SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


def example_queries(doc: Path = SCHEMA_DOC) -> list[str]:
    """Every ```sql block after the "Warehouse views" heading, in order."""
    text = doc.read_text()
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        raise ValueError(f"{doc} has no '{SECTION}' section")
    return [q.strip().rstrip(";") for q in _SQL_BLOCK.findall(text[start:])]
