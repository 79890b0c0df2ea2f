"""Charts as inline SVG: no script, no font or library to fetch, so a page opens from disk in
any browser and prints as it shows.

Every mark carries its exact value (``data-label``, ``data-value``, and a ``<title>`` the
browser shows on hover), so a reader, or a test, reads the numbers off the page. Every text
is escaped: labels come from the chain, and anything a stranger can inscribe is hostile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
BAR_HEIGHT = 22
LABEL_WIDTH = 200
COLOURS = ("#3b6ea5", "#c2553a", "#5a9a5b", "#8a6bb0", "#c9a13b", "#4a9aa8")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int | float
    colour: str = COLOURS[0]


def number(value: int | float) -> str:
    """Thousands separated; exact for integers of any size (Dreybits pass 2^53)."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def bar_chart(
    bars: Sequence[Bar], *, title: str, unit: str = "", label_width: int = LABEL_WIDTH
) -> str:
    """Horizontal bars, one per item, longest = the largest absolute value; labels longer than
    ``label_width`` allows are cut (the full label is in the bar's title)."""
    if not bars:
        return f'<figure class="chart empty"><figcaption>{escape(title)}</figcaption><p>none</p></figure>'
    top = max(abs(b.value) for b in bars) or 1
    height = BAR_HEIGHT * len(bars) + 8
    span = WIDTH - label_width - 140
    marks = []
    for i, b in enumerate(bars):
        y = 4 + i * BAR_HEIGHT
        w = max(1.0, span * abs(b.value) / top)
        text = f"{number(b.value)}{unit}"
        marks.append(
            f'<g class="bar" data-label="{escape(b.label)}" data-value="{b.value}">'
            f"<title>{escape(b.label)}: {escape(text)}</title>"
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(_cut(b.label, label_width // 7))}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{BAR_HEIGHT - 6}" '
            f'fill="{b.colour}"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 15}">{escape(text)}</text></g>'
        )
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">'
        + "".join(marks)
        + "</svg></figure>"
    )


@dataclass(frozen=True, slots=True)
class Span:
    """One phase of a timeline: ``label`` from block ``start`` to block ``end``."""

    label: str
    start: int
    end: int


def timeline(rows: Sequence[tuple[str, Sequence[Span]]], *, title: str) -> str:
    """One line per row (a round), its phases as segments on a shared block-height axis."""
    spans = [s for _, line in rows for s in line]
    if not spans:
        return bar_chart([], title=title)
    low = min(s.start for s in spans)
    high = max(s.end for s in spans)
    scale = (WIDTH - LABEL_WIDTH - 20) / max(1, high - low)
    phases = sorted({s.label for s in spans})
    colour = {p: COLOURS[i % len(COLOURS)] for i, p in enumerate(phases)}
    marks = []
    for i, (name, line) in enumerate(rows):
        y = 4 + i * BAR_HEIGHT
        marks.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
        )
        for s in line:
            x = LABEL_WIDTH + (s.start - low) * scale
            w = max(2.0, (s.end - s.start) * scale)
            marks.append(
                f'<g class="span" data-label="{escape(name)} {escape(s.label)}" '
                f'data-start="{s.start}" data-end="{s.end}">'
                f"<title>{escape(name)} {escape(s.label)}: blocks {s.start}–{s.end}</title>"
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{BAR_HEIGHT - 6}" '
                f'fill="{colour[s.label]}" opacity="0.85"/></g>'
            )
    height = BAR_HEIGHT * len(rows) + 30
    legend = " ".join(
        f'<span class="key" style="background:{colour[p]}"></span>{escape(p)}' for p in phases
    )
    return (
        f'<figure class="chart"><figcaption>{escape(title)} (blocks {low}–{high})</figcaption>'
        f'<svg role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">'
        + "".join(marks)
        + f'</svg><p class="legend">{legend}</p></figure>'
    )


def _cut(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
