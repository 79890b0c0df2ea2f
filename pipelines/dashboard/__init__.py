"""The reference dashboard: static, self-contained HTML pages rendered from the published
warehouse (``render.py``), one per question (``pages.py``), charts as inline SVG (``svg.py``).

Why static: the pages open from disk in any browser, offline, with nothing to install or
serve and nothing fetched (dashboard tools that bundle DuckDB-WASM fetch extensions from the
internet at build time); a Dagster asset renders them at every publication, so they always
match the warehouse beside them. What they are not: an interactive query tool; for "my user
id" there is SQL (``user_allocations``, ``row_proof``) and ``drey-warehouse row-proof``.
"""

from pipelines.dashboard.render import render_dashboard

__all__ = ["render_dashboard"]
