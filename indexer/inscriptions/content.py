"""Body content-encoding decoding and metadata CBOR to JSON.

Bodies stay as inscribed; decoding produces a separate value. A decompression bomb cannot exhaust
memory: output is capped at ``limit`` bytes (at most ``MAX_DECODED_BYTES`` for one body; the
block budget of :mod:`indexer.inscriptions.budget` lowers it) and a body over it is reported,
not decoded: the decompressor never produces more than ``limit + 1`` bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import brotli
import cbor2

MAX_DECODED_BYTES = 32 * 1024 * 1024
# The content-encodings that are decompressed (anything else is reported as unsupported).
DECOMPRESSING = frozenset({"br", "gzip", "deflate"})


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """``data`` is the decoded body, or None with ``error`` saying why."""

    data: bytes | None
    error: str | None


def decode_body(
    body: bytes,
    content_encoding: str | None,
    *,
    limit: int = MAX_DECODED_BYTES,
    over_limit: str | None = None,
) -> DecodedBody | None:
    """Decode ``body`` per its content-encoding; None when there is nothing to decode.

    At most ``limit`` decoded bytes are kept; a body that decodes to more gets the error
    ``over_limit`` (default: "decoded body exceeds <limit> bytes").
    """
    if content_encoding is None:
        return None
    encoding = content_encoding.strip().lower()
    too_big = over_limit or f"decoded body exceeds {limit} bytes"
    try:
        if encoding == "br":
            decompressor = brotli.Decompressor()
            data = decompressor.process(body, output_buffer_limit=limit + 1)
            if len(data) > limit:
                return DecodedBody(None, too_big)
            if not decompressor.is_finished():
                return DecodedBody(None, "truncated brotli stream")
            return DecodedBody(data, None)
        if encoding in ("gzip", "deflate"):
            wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            decompressor = zlib.decompressobj(wbits)
            data = decompressor.decompress(body, limit + 1)
            if len(data) > limit:
                return DecodedBody(None, too_big)
            if not decompressor.eof:
                return DecodedBody(None, f"truncated {encoding} stream")
            return DecodedBody(data, None)
    except (brotli.error, zlib.error) as exc:
        return DecodedBody(None, f"invalid {encoding} stream: {exc}")
    return DecodedBody(None, f"unsupported content-encoding {content_encoding!r}")


def metadata_to_json(metadata: bytes) -> str | None:
    """The first CBOR item of ``metadata`` as JSON text, or None when it is not valid CBOR.

    Like ord (ciborium ``from_reader``), bytes after the first item are ignored. Byte strings
    become ``{"$bytes": "<hex>"}``, tags ``{"$tag": n, "value": ...}``, non-text map keys are
    rendered as JSON text of the key.
    """
    try:
        value = cbor2.loads(metadata)
    except Exception:  # cbor2 raises many types on hostile input; any of them means "not CBOR"
        return None
    try:
        return json.dumps(_jsonable(value, 0), ensure_ascii=False, sort_keys=False, allow_nan=False)
    except (ValueError, RecursionError):
        return None


def _jsonable(value: Any, depth: int) -> Any:
    if depth > 64:
        raise ValueError("metadata nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        # JSON readers lose precision past 2^53; keep exact digits as text there.
        return value if -(2**53) <= value <= 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, list | tuple):
        return [_jsonable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else json.dumps(_jsonable(k, depth + 1))): _jsonable(
                v, depth + 1
            )
            for k, v in value.items()
        }
    if isinstance(value, cbor2.CBORTag):
        return {"$tag": value.tag, "value": _jsonable(value.value, depth + 1)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, cbor2.CBORSimpleValue):
        return {"$simple": value.value}
    if value is cbor2.undefined:
        return None
    # Other semantic types cbor2 builds (UUID, Fraction, regex, ...): their text form.
    return str(value) if not isinstance(value, memoryview) else base64.b16encode(value).decode()
