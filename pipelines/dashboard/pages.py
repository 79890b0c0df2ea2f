"""The dashboard's pages: each a function from a read-only connection to the published
warehouse to an HTML fragment, reading the views of docs/schema.md and nothing else.

Big sets are reduced in SQL (the Dreybits histogram is binned there, top and bottom users are
limited there), so a page costs the same at 2,000 and 1,000,000 users. Every value from the
chain is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import duckdb

from pipelines.dashboard.svg import COLOURS, Bar, Span, bar_chart, number, timeline

Connection = duckdb.DuckDBPyConnection
HISTOGRAM_BINS = 12
TOP_USERS = 10


@dataclass(frozen=True, slots=True)
class Page:
    file: str
    title: str
    render: Callable[[Connection], str]


def rows(con: Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


# Integers that are identifiers or positions, shown without thousands separators.
_PLAIN = ("user_id", "round", "rank", "accepted_round", "rounds", "block_height", "height")


def cell(value: Any, column: str = "") -> str:
    if value is None:
        return '<td class="null">—</td>'
    if isinstance(value, bool):
        return f'<td class="{"yes" if value else "no"}">{"yes" if value else "no"}</td>'
    if isinstance(value, int):
        shown = str(value) if column in _PLAIN else number(value)
        return f'<td class="num" data-value="{value}">{shown}</td>'
    text = str(value)
    shown = text if len(text) <= 20 else text[:16] + "…"
    return f'<td title="{escape(text)}">{escape(shown)}</td>'


def table(
    data: Sequence[dict[str, Any]], *, name: str, link: Callable[[dict], str] | None = None
) -> str:
    """An HTML table of ``data`` (``data-table`` = ``name``); ``link`` adds a last cell."""
    if not data:
        return f'<p class="empty" data-table="{escape(name)}">none</p>'
    head = "".join(f"<th>{escape(k)}</th>" for k in data[0]) + ("<th></th>" if link else "")
    body = "".join(
        "<tr>" + "".join(cell(v, k) for k, v in r.items()) + (link(r) if link else "") + "</tr>"
        for r in data
    )
    return f'<table data-table="{escape(name)}"><tr>{head}</tr>{body}</table>'


def months_page(con: Connection) -> str:
    """The month at a glance: outcome, round, lead, roots, and checks passed and failed."""
    data = rows(
        con,
        "select m.month, m.outcome, m.accepted_round, m.rounds, m.lead, m.n_rows, m.month_root, "
        "m.months_root, count(v.check_name) filter (where v.passed) as checks_passed, "
        "count(v.check_name) filter (where not v.passed) as checks_failed "
        "from months m left join verification v using (month) group by all order by m.month",
    )

    def to_checks(r: dict) -> str:
        if not r["checks_failed"]:
            return "<td></td>"
        return f'<td><a href="checks.html#m-{escape(r["month"])}">failing checks</a></td>'

    outcomes = rows(con, "select outcome, count(*) as n from months group by all order by n desc")
    colours = {"accepted": COLOURS[2], "failed": COLOURS[1], "pending": COLOURS[4]}
    chart = bar_chart(
        [Bar(o["outcome"], o["n"], colours.get(o["outcome"], COLOURS[0])) for o in outcomes],
        title="Months by outcome",
    )
    return chart + table(data, name="months", link=to_checks)


def allocations_page(con: Connection) -> str:
    """Users, pool and the distribution of Dreybits per accepted month; top and bottom users
    of the latest."""
    per_month = rows(
        con,
        "select month, count(*) as users, sum(dreybits)::DECIMAL(38,0)::VARCHAR as pool, "
        "min(dreybits) as smallest, median(dreybits)::UBIGINT as median, max(dreybits) as largest "
        "from allocations group by month order by month",
    )
    for r in per_month:
        r["pool"] = int(r["pool"])  # exact: the pool passes 2^53
    latest = per_month[-1]["month"] if per_month else None
    parts = [table(per_month, name="allocations_per_month")]
    if latest is not None:
        parts.append(_histogram(con, latest))
        for order, name in (("desc", "top"), ("asc", "bottom")):
            users = rows(
                con,
                f"select user_id, dreybits from allocations where month = ? "
                f"order by dreybits {order}, user_id limit {TOP_USERS}",
                [latest],
            )
            parts.append(f"<h3>{name.title()} {TOP_USERS} users, {escape(latest)}</h3>")
            parts.append(table(users, name=f"{name}_users"))
    return "".join(parts)


def _histogram(con: Connection, month: str) -> str:
    bins = rows(
        con,
        "with r as (select min(dreybits)::HUGEINT as lo, max(dreybits)::HUGEINT as hi "
        "from allocations where month = $1), "
        "w as (select lo, greatest(1, (hi - lo + $2) // $2) as width from r) "
        "select least($2 - 1, (a.dreybits - w.lo) // w.width)::BIGINT as bin, "
        "min(w.lo)::VARCHAR as lo, min(w.width)::VARCHAR as width, count(*) as users "
        "from allocations a, w where a.month = $1 group by bin order by bin",
        [month, HISTOGRAM_BINS],
    )
    bars = []
    for b in bins:
        start = int(b["lo"]) + b["bin"] * int(b["width"])
        bars.append(Bar(f"{number(start)}–{number(start + int(b['width']) - 1)}", b["users"]))
    return bar_chart(bars, title=f"Users by Dreybits, {month}", label_width=330)


def race_page(con: Connection) -> str:
    """Who raced, in which block, at what rank and for what reward; each round's timeline."""
    race = rows(
        con,
        "select month, round, role, rank, actuary, block_height, outcome, agrees, reward_sats "
        "from race_results order by month, round, rank nulls last, block_height",
    )
    spans = rows(
        con,
        "select month, round, seed_height, lead_height, race_open, race_close, reveal_start, "
        "share_end, decided_height from elections order by month, round",
    )
    lines = []
    for r in spans:
        phases = [
            ("lead window", r["seed_height"], r["lead_height"]),
            ("race", r["race_open"], r["race_close"]),
            ("reveal and shares", r["reveal_start"], r["share_end"]),
        ]
        line = [Span(name, a, b) for name, a, b in phases if a is not None and b is not None]
        lines.append((f"{r['month']} r{r['round']}", line))
    return timeline(lines, title="Rounds: lead window, race, reveal") + table(race, name="race")


def actuaries_page(con: Connection) -> str:
    """Rewards, penalties and slashing per actuary, over time."""
    totals = rows(
        con,
        "with e as (select actuary, month, sats from rewards "
        "union all select actuary, month, -slash from penalties) "
        "select actuary, sum(sats)::BIGINT as net_sats, count(distinct month) as months "
        "from e group by actuary order by net_sats desc",
    )
    chart = bar_chart(
        [Bar(r["actuary"][:16], r["net_sats"], COLOURS[2] if r["net_sats"] >= 0 else COLOURS[1])
         for r in totals],
        title="Net sats per actuary (rewards − slashes)", unit=" sats",
    )  # fmt: skip
    ledger = rows(
        con,
        "select month, actuary, coalesce(sum(sats), 0)::BIGINT as rewards, "
        "coalesce(sum(slash), 0)::BIGINT as slashed from ("
        "select month, actuary, sats, null::BIGINT as slash from rewards "
        "union all select month, actuary, null, slash from penalties) "
        "group by all order by month, actuary",
    )
    offences = rows(
        con, "select month, round, offence, actuary, slash, detail from penalties order by all"
    )
    return (
        chart
        + "<h3>Per month</h3>"
        + table(ledger, name="actuary_ledger")
        + "<h3>Offences</h3>"
        + table(offences, name="penalties")
    )


def stakes_page(con: Connection) -> str:
    """Stakes and eligibility at each snapshot."""
    per_month = rows(
        con,
        "select month, count(*) filter (where eligible) as eligible, count(*) as roster, "
        "sum(stake)::BIGINT as stake_sats, sum(slashed)::BIGINT as slashed_sats "
        "from eligibility group by month order by month",
    )
    latest = per_month[-1]["month"] if per_month else None
    chart = ""
    if latest is not None:
        weights = rows(
            con,
            "select actuary, stake from eligibility where month = ? order by stake desc",
            [latest],
        )
        chart = bar_chart(
            [Bar(w["actuary"][:16], w["stake"]) for w in weights],
            title=f"Stake per actuary at the snapshot of {latest}", unit=" sats",
        )  # fmt: skip
    statuses = rows(con, "select status, count(*) as stakes from stakes group by all order by all")
    return (
        chart
        + table(per_month, name="eligibility")
        + "<h3>Stake messages</h3>"
        + table(statuses, name="stake_statuses")
    )


def messages_page(con: Connection) -> str:
    """Quarantine and message statuses."""
    statuses = rows(
        con, "select status, count(*) as n from message_statuses group by all order by n desc"
    )
    reasons = rows(
        con,
        "select stage || ': ' || reason as reason, count(*) as n from quarantine "
        "group by all order by n desc, reason",
    )
    recent = rows(
        con,
        "select block_height, stage, reason, kind, month, detail, id from quarantine "
        "order by block_height desc, tx_index desc limit 50",
    )
    return (
        bar_chart([Bar(s["status"], s["n"]) for s in statuses], title="Drey messages by status")
        + bar_chart(
            [Bar(r["reason"], r["n"], COLOURS[1]) for r in reasons], title="Quarantined, by reason"
        )
        + "<h3>Latest quarantined inscriptions</h3>"
        + table(recent, name="quarantine")
    )


def checks_page(con: Connection) -> str:
    """Every failing verification row, by month (the month page links here)."""
    failing = rows(
        con,
        "select coalesce(month, 'whole chain') as month, round, check_name, detail, source "
        "from verification where not passed order by month nulls first, round, check_name",
    )
    summary = rows(
        con,
        "select count(*) filter (where passed) as passed, count(*) filter (where not passed) "
        "as failed from verification",
    )
    parts = [table(summary, name="checks_summary")]
    for month in dict.fromkeys(r["month"] for r in failing):
        mine = [r for r in failing if r["month"] == month]
        parts.append(f'<h3 id="m-{escape(month)}">{escape(month)}: {len(mine)} failing</h3>')
        parts.append(table(mine, name=f"failing_{month}"))
    return "".join(parts)


PAGES = (
    Page("index.html", "Months at a glance", months_page),
    Page("allocations.html", "Allocations", allocations_page),
    Page("race.html", "The race", race_page),
    Page("actuaries.html", "Rewards and penalties", actuaries_page),
    Page("stakes.html", "Stakes and eligibility", stakes_page),
    Page("messages.html", "Quarantine and statuses", messages_page),
    Page("checks.html", "Failing checks", checks_page),
)
