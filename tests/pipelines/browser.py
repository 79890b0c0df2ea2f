"""A real browser for the dashboard's test: Debian's Chromium, headless, as
``tools/find-chromium`` names it (``make test`` exports ``CHROMIUM``). It loads a page from
disk, gives the DOM after load (``--dump-dom``) with what the page logged, and takes a
screenshot; :class:`PageData` reads the numbers off that DOM."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def find_chromium() -> str:
    found = subprocess.run([str(REPO / "tools" / "find-chromium")], capture_output=True,
                           text=True, timeout=900)  # fmt: skip
    assert found.returncode == 0, found.stderr.strip().splitlines()[-1:]
    return found.stdout.strip()


@dataclass(frozen=True, slots=True)
class Chromium:
    binary: str

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="drey-chromium-") as profile:
            flags = ["--headless=new", "--disable-gpu", f"--user-data-dir={profile}",
                     "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
                     "--window-size=1280,1800"]  # fmt: skip
            if os.geteuid() == 0:
                flags.append("--no-sandbox")  # Chromium's sandbox refuses root
            return subprocess.run([self.binary, *flags, *args], capture_output=True, text=True,
                                  timeout=120)  # fmt: skip

    def dom(self, page: Path) -> tuple[str, list[str]]:
        """The page's DOM after load, and the console and load errors it logged."""
        out = self._run("--dump-dom", page.as_uri())
        assert out.returncode == 0, out.stderr[-2000:]
        errors = [
            line for line in out.stderr.splitlines()
            if "CONSOLE" in line or "Failed to load" in line or "Uncaught" in line
        ]  # fmt: skip
        return out.stdout, errors

    def screenshot(self, page: Path, png: Path) -> None:
        out = self._run(f"--screenshot={png}", page.as_uri())
        assert out.returncode == 0 and png.stat().st_size > 10_000, out.stderr[-2000:]


@dataclass
class PageData(HTMLParser):
    """Bars (by chart caption), timeline spans, tables (by ``data-table``) and link targets."""

    bars: dict[str, dict[str, str]] = field(default_factory=dict)
    spans: list[dict[str, str]] = field(default_factory=list)
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    _caption: list[str] = field(default_factory=list)
    _in_caption: bool = False
    _table: str | None = None
    _cell: list[str] | None = None

    def __post_init__(self) -> None:
        HTMLParser.__init__(self)

    @classmethod
    def parse(cls, html: str) -> PageData:
        data = cls()
        data.feed(html)
        return data

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "figcaption":
            self._in_caption, self._caption = True, []
        elif tag == "g" and a.get("class") == "bar":
            self.bars.setdefault("".join(self._caption), {})[a["data-label"]] = a["data-value"]
        elif tag == "g" and a.get("class") == "span":
            self.spans.append(a)
        elif tag == "table":
            self._table = a.get("data-table")
            self.tables[self._table or ""] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = [a.get("data-value") or a.get("title") or ""]
        elif tag == "a":
            self.links.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            value = self._cell[0] or "".join(self._cell[1:]).strip()
            self.tables[self._table][-1].append(value)
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def records(self, table: str) -> list[dict[str, str]]:
        head, *body = self.tables[table]
        return [dict(zip(head, row, strict=False)) for row in body]
