"""The per-block budgets: a block of decompression bombs or of reference floods costs bounded
time and memory (measured in a fresh process), every inscription keeps its raw length and hash
with a reason, and budgets depend only on the block (so any segmenting gives the same rows)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import brotli
from hypothesis import given, settings
from hypothesis import strategies as st

from btc.ord import Inscription, RawEnvelope
from indexer.inscriptions.budget import (
    DECODE_BUDGET_BYTES,
    MAX_BLOCK_REFERENCES,
    decode_contents,
)

PROBE = Path(__file__).with_name("bomb_probe.py")
# The decoded budget is 64 MiB; the process holds it about three times over (Python bytes,
# the Arrow column, the Parquet page), whatever N is. Measured growth: 206 MB (20 bombs),
# 224 MB (5,000 bombs), 313 MB (the reference flood, which also builds 100,000 refs rows).
RSS_GROWTH_BOUND_MB = 400


def probe(kind: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(PROBE), kind, str(n)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_the_issues_bomb_block_is_decoded_within_the_budget() -> None:
    # 20 envelopes of 54 bytes, each expanding to 32 MiB: 1.87 GiB before the budget.
    r = probe("decompression", 20)
    assert r["block_bytes"] < 3000 and r["envelopes"] == 20
    assert r["decoded_bodies"] == 2 and r["decoded_bytes"] == DECODE_BUDGET_BYTES
    assert r["errors"]["block decode budget of 67108864 bytes exhausted"] == 18
    assert r["raw_kept"]
    assert r["peak_rss_mb"] - r["rss_before_mb"] < RSS_GROWTH_BOUND_MB, r


def test_a_block_full_of_bombs_costs_no_more() -> None:
    # 5,000 bombs (a full block holds ~50,000): work and memory stay those of the budget.
    r = probe("decompression", 5000)
    assert r["decoded_bytes"] == DECODE_BUDGET_BYTES
    assert r["errors"]["block decode budget of 67108864 bytes exhausted"] == 4998
    assert r["seconds"] < 20
    assert r["peak_rss_mb"] - r["rss_before_mb"] < RSS_GROWTH_BOUND_MB, r


def test_a_reference_flood_is_capped() -> None:
    r = probe("references", 30)
    assert r["refs"] == MAX_BLOCK_REFERENCES
    assert r["refs_errors"] >= 1
    assert r["peak_rss_mb"] - r["rss_before_mb"] < RSS_GROWTH_BOUND_MB, r


def _inscription(body: bytes, encoding: str | None, ctype: str = "text/plain") -> Inscription:
    fields: list[tuple[bytes, bytes]] = [(b"\x01", ctype.encode())]
    if encoding is not None:
        fields.append((b"\x09", encoding.encode()))
    pushes = [p for tag, value in fields for p in (tag, value)]
    return Inscription.from_envelope(
        RawEnvelope(input=0, offset=0, payload=(*pushes, b"", body), pushnum=False, stutter=False)
    )


ENCODERS = {
    "br": brotli.compress,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    None: lambda b: b,
}


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=3000), st.sampled_from(sorted(ENCODERS, key=str)), st.booleans()
        ),
        max_size=12,
    ),
    st.integers(0, 20_000),
    st.integers(0, 50),
)
@settings(max_examples=200, deadline=None)
def test_budgets_hold_for_any_bodies(items: list, budget: int, max_refs: int) -> None:  # type: ignore[type-arg]
    inscriptions = []
    for data, encoding, mangle in items:
        body = ENCODERS[encoding](data)
        if mangle and body:
            body = body[: len(body) // 2]
        inscriptions.append(_inscription(body, encoding))
    contents = decode_contents(inscriptions, budget_bytes=budget, max_refs=max_refs)
    assert contents.decoded_bytes <= budget
    assert sum(len(i.refs) for i in contents.items) <= max_refs
    for insc, item in zip(inscriptions, contents.items, strict=True):
        if insc.content_encoding is None:
            assert item.decoded is None
        else:
            assert item.decoded is not None
            assert (item.decoded.data is None) != (item.decoded.error is None)
    # The same inscriptions decode the same way every time (the budget is per block).
    assert decode_contents(inscriptions, budget_bytes=budget, max_refs=max_refs) == contents
