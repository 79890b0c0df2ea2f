"""The short verification report printed by the main job, read from the published warehouse
(any reader could print the same from the DuckDB file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True, slots=True)
class MonthLine:
    month: str
    outcome: str
    accepted_round: int | None
    lead: str | None
    lead_index: int | None
    month_root: str | None
    n_rows: int | None
    passed: int
    failed: int
    failures: tuple[str, ...]


def month_lines(path: Path) -> tuple[list[MonthLine], dict[str, object]]:
    """Per month its outcome, lead, root and checks; and the warehouse's build info."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(
            """
            select m.month, m.outcome, m.accepted_round, m.lead, e.roster_index, m.month_root,
                   m.n_rows,
                   count(v.check_name) filter (where v.passed) as passed,
                   count(v.check_name) filter (where not v.passed) as failed,
                   list(format('{}{}: {}', coalesce('r' || v.round || ' ', ''), v.check_name,
                               v.detail) order by v.round, v.check_name)
                       filter (where not v.passed) as failures
            from months m
            left join eligibility e on e.month = m.month and e.actuary = m.lead
            left join verification v on v.month = m.month
            group by all
            order by m.month
            """
        )
        lines = [
            MonthLine(*row[:9], tuple(row[9] or ()))  # type: ignore[arg-type]
            for row in cur.fetchall()
        ]
        cur = con.execute("select * from warehouse_info")
        info = dict(zip([d[0] for d in cur.description], cur.fetchone() or (), strict=False))
        chain_failed = con.execute(
            "select count(*) from verification where month is null and not passed"
        ).fetchone()[0]
        info["chain_checks_failed"] = chain_failed
        return lines, info
    finally:
        con.close()


def print_report(console: Console, path: Path, *, show_failures: int = 3) -> list[MonthLine]:
    """A table of months (fits 80 columns) and the first failed checks of each."""
    lines, info = month_lines(path)
    table = Table(title=f"Drey warehouse at height {info.get('tip_height')}", expand=False)
    for col in ("month", "outcome", "rnd", "lead", "month root", "rows", "checks"):
        table.add_column(col, no_wrap=True)
    for m in lines:
        lead = "" if m.lead is None else f"#{m.lead_index} {m.lead[:8]}"
        root = "" if m.month_root is None else f"{m.month_root[:12]}…"
        checks = f"[green]{m.passed}✓[/]" + (f" [red]{m.failed}✗[/]" if m.failed else "")
        colour = {"accepted": "green", "failed": "red"}.get(m.outcome, "yellow")
        table.add_row(
            m.month,
            f"[{colour}]{m.outcome}[/]",
            "" if m.accepted_round is None else str(m.accepted_round),
            lead,
            root,
            "" if m.n_rows is None else f"{m.n_rows:,}",
            checks,
        )
    console.print(table)
    width = max(40, console.width - 14)
    for m in lines:
        for failure in m.failures[:show_failures]:
            text = failure if len(failure) <= width else failure[: width - 1] + "…"
            console.print(f"  [red]✗[/] {m.month} {text}", highlight=False)
        if len(m.failures) > show_failures:
            more = len(m.failures) - show_failures
            console.print(f"    … {more} more: select * from failed_checks('{m.month}')")
    if info.get("chain_checks_failed"):
        console.print(f"[red]{info['chain_checks_failed']} whole-chain checks failed[/]")
    console.print(f"Warehouse: [bold]{path}[/]", highlight=False)
    console.print(f"  built {info.get('built_at')}; open it with DuckDB ≥ 1.1 (read-only)")
    return lines
