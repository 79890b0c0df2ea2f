"""Per-block budgets for what a block's inscriptions may make the indexer build.

Anyone can inscribe, and a 52-byte brotli body expands to 32 MiB: a full block of such
envelopes would ask for terabytes. So the work a block causes is bounded by the block, not by
what its envelopes claim:

- **Decoded bodies**: at most ``DECODE_BUDGET_BYTES`` (64 MiB) of decoded content per block,
  consumed in envelope order; a body that does not fit in what is left (or is over the
  per-body ``MAX_DECODED_BYTES``) is not decoded and gets a ``body_decode_error`` that says so.
  Its raw bytes, length and sha256 stay in the shard, addressable by (txid, input, offset).
- **References**: at most ``MAX_BLOCK_REFERENCES`` recursive references per block; the
  inscription at which the budget runs out keeps the references found so far and gets a
  ``refs_error``. The text searched is bounded by the block (raw bodies) plus the decode
  budget (decoded bodies).

Both budgets depend only on the block's own bytes, so every indexer (and every re-index, in
whatever segments) produces the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btc.ord.inscription import Inscription
from indexer.inscriptions.content import (
    DECOMPRESSING,
    MAX_DECODED_BYTES,
    DecodedBody,
    decode_body,
)
from indexer.inscriptions.recursion import PathKind, find_references, is_text_like

__all__ = [
    "DECODE_BUDGET_BYTES",
    "MAX_BLOCK_REFERENCES",
    "BlockContents",
    "InscriptionContent",
    "decode_contents",
]

DECODE_BUDGET_BYTES = 64 * 1024 * 1024
MAX_BLOCK_REFERENCES = 100_000

Reference = tuple[PathKind, str | None, str]


@dataclass(frozen=True, slots=True)
class InscriptionContent:
    """What one inscription's body decodes to, and the references found in it."""

    decoded: DecodedBody | None
    refs: tuple[Reference, ...]
    refs_error: str | None


@dataclass(frozen=True, slots=True)
class BlockContents:
    """One :class:`InscriptionContent` per inscription of a block, in order."""

    items: tuple[InscriptionContent, ...]
    decoded_bytes: int


def decode_contents(
    inscriptions: Sequence[Inscription],
    *,
    budget_bytes: int = DECODE_BUDGET_BYTES,
    max_refs: int = MAX_BLOCK_REFERENCES,
) -> BlockContents:
    """Decode the bodies and find the references of one block's ``inscriptions``."""
    left = budget_bytes
    refs_left = max_refs
    items: list[InscriptionContent] = []
    for insc in inscriptions:
        body = insc.body
        decoded = None
        if body is not None and insc.content_encoding is not None:
            decoded = _decode_within(body, insc.content_encoding, left, budget_bytes)
            if decoded is not None and decoded.data is not None:
                left -= len(decoded.data)
        text = decoded.data if decoded is not None else body
        refs: tuple[Reference, ...] = ()
        refs_error = None
        if text and is_text_like(insc.content_type):
            if refs_left <= 0:
                refs_error = f"block reference budget of {max_refs} exhausted; body not searched"
            else:
                found = find_references(text, limit=refs_left + 1)
                if len(found) > refs_left:
                    found = found[:refs_left]
                    refs_error = (
                        f"block reference budget of {max_refs} exhausted; "
                        f"first {len(found)} references kept"
                    )
                refs = tuple(found)
                refs_left -= len(found)
        items.append(InscriptionContent(decoded, refs, refs_error))
    return BlockContents(tuple(items), budget_bytes - left)


def _decode_within(body: bytes, encoding: str, left: int, budget: int) -> DecodedBody | None:
    if left >= MAX_DECODED_BYTES:
        return decode_body(body, encoding)
    if left <= 0 and encoding.strip().lower() in DECOMPRESSING:
        # Checked before any decompression work: an exhausted budget costs nothing more.
        return DecodedBody(None, f"block decode budget of {budget} bytes exhausted; not decoded")
    return decode_body(
        body,
        encoding,
        limit=left,
        over_limit=f"block decode budget of {budget} bytes exhausted ({left} left); not decoded",
    )
