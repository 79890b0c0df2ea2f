"""The dashboard renderer (pipelines/dashboard/) on the demo chain's warehouse: every page
renders from the published file alone, and what a stranger inscribed is shown as text, never
as markup. (The pages in a real browser, against the devnet's answer key, are in
driver/test_end_to_end.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.dashboard import render_dashboard
from pipelines.dashboard.pages import PAGES
from pipelines.dashboard.svg import Bar, bar_chart
from pipelines.errors import ConfigurationError

from .chainfix import DemoChain
from .harness import Pipeline

HOSTILE = '<img src=x onerror="alert(1)">'


def test_every_page_renders_and_hostile_text_stays_text(
    built: tuple[DemoChain, Pipeline], tmp_path: Path
) -> None:
    published = tmp_path / "warehouse.duckdb"
    shutil.copy(built[1].warehouse.store.warehouse, published)
    con = duckdb.connect(str(published))
    con.execute(
        "insert into data.quarantine (id, block_height, tx_index, inscription_index, txid, "
        "block_hash, reason, detail, metaprotocol) values ('x', 1, 0, 0, 't', 'b', $h, $h, $h)",
        {"h": HOSTILE},
    )
    con.close()
    rendered = render_dashboard(published, tmp_path / "board")
    assert [p.name for p in rendered.pages] == [p.file for p in PAGES]
    for page in rendered.pages:
        html = page.read_text()
        assert f'<main data-page="{page.name}">' in html and "<script" not in html
        assert HOSTILE not in html and "onerror=" not in html.replace("onerror=&quot;", "")
    messages = (tmp_path / "board" / "messages.html").read_text()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in messages


def test_a_chart_escapes_its_labels_and_keeps_exact_values() -> None:
    svg = bar_chart([Bar(HOSTILE, 10**17 + 1)], title="<b>t</b>")
    assert HOSTILE not in svg and "&lt;b&gt;t&lt;/b&gt;" in svg
    assert 'data-value="100000000000000001"' in svg and "100,000,000,000,000,001" in svg


def test_no_warehouse_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no warehouse at"):
        render_dashboard(tmp_path / "none.duckdb", tmp_path / "board")
