"""Rendering the dashboard: every page of :data:`pipelines.dashboard.pages.PAGES` from one
read-only connection to the published warehouse, into a directory, each file written beside
and renamed into place (a reader never sees half a page)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

import duckdb

from pipelines.dashboard.pages import PAGES, Page, rows
from pipelines.errors import ConfigurationError

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3550;color:#fff;padding:10px 24px}header h1{font-size:18px;margin:0}
header p{margin:2px 0 0;font-size:12px;opacity:.85}nav{padding:6px 24px;background:#e8edf3}
nav a{margin-right:16px;color:#1f3550}nav a.here{font-weight:bold;text-decoration:none}
main{padding:12px 24px}table{border-collapse:collapse;margin:8px 0 18px;background:#fff}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;white-space:nowrap}td.num{text-align:right}
td.no{color:#b3261e}td.null{color:#999}figure{margin:8px 0 18px}
figcaption{font-weight:bold;margin-bottom:4px}svg text{font-size:12px;fill:#333}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


@dataclass(frozen=True, slots=True)
class Rendered:
    pages: tuple[Path, ...]
    seconds: float


def render_dashboard(warehouse: Path, out: Path) -> Rendered:
    """Render every page from the warehouse file at ``warehouse`` into ``out``."""
    if not warehouse.is_file():
        raise ConfigurationError(f"no warehouse at {warehouse} (run `drey-warehouse run` first)")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (info,) = rows(
            con, "select built_at, tip_height, tip_hash, storage_version from warehouse_info"
        )
        written = tuple(_write(out, page, _page(page, page.render(con), info)) for page in PAGES)
    finally:
        con.close()
    return Rendered(written, time.perf_counter() - started)


def _page(page: Page, body: str, info: dict[str, object]) -> str:
    here = ' class="here"'
    nav = "".join(
        f'<a href="{p.file}"{here if p is page else ""}>{escape(p.title)}</a>' for p in PAGES
    )
    built = (
        f"warehouse built {escape(str(info['built_at']))} at block {info['tip_height']} "
        f"({escape(str(info['tip_hash'])[:16])}…), storage {escape(str(info['storage_version']))}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Drey · '
        f"{escape(page.title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Drey warehouse · {escape(page.title)}</h1><p>{built}</p></header>"
        f'<nav>{nav}</nav><main data-page="{page.file}">{body}</main></body></html>'
    )


def _write(out: Path, page: Page, html: str) -> Path:
    path = out / page.file
    tmp = path.with_name(f".{page.file}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
