"""Recursive references: ``/content/<id>`` and the ``/r/...`` endpoints found in text bodies.

Only text-like bodies are searched (the ``TEXT_LIKE`` content types); an encoded body is searched
in its decoded form. Each match yields ``(path_kind, target_id, path)``; ``target_id`` is the
referenced inscription id when the path names one, else None.
"""

from __future__ import annotations

import re
from typing import Literal

PathKind = Literal[
    "content",
    "undelegated_content",
    "metadata",
    "inscription",
    "children",
    "parents",
    "sat",
    "blockheight",
    "blockhash",
    "blockinfo",
    "tx",
    "utxo",
]

_ID = r"[0-9a-f]{64}i(?:0|[1-9][0-9]{0,9})"
_PATTERN = re.compile(
    rb"/(?:"
    rb"(?P<content>content)/(?P<content_id>" + _ID.encode() + rb")"
    rb"|r/(?P<with_id>undelegated-content|metadata|inscription|children|parents)/(?P<r_id>"
    + _ID.encode()
    + rb")"
    rb"(?P<id_rest>(?:/[A-Za-z0-9_-]+)*)"
    rb"|r/sat/(?P<sat>[0-9]+(?:/[A-Za-z0-9_-]+)*)"
    rb"|r/(?P<blockhash>blockhash)(?P<bh_rest>/(?:[0-9]+|tip))?"
    rb"|r/(?P<blockheight>blockheight)"
    rb"|r/blockinfo/(?P<blockinfo>[0-9a-f]{64}|[0-9]+)"
    rb"|r/tx/(?P<tx>[0-9a-f]{64})"
    rb"|r/utxo/(?P<utxo>[0-9a-f]{64}:[0-9]+)"
    rb")"
)

TEXT_LIKE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xml",
    "application/xhtml+xml",
    "image/svg+xml",
    "model/gltf+json",
)


def is_text_like(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return any(
        media.startswith(prefix) if prefix.endswith("/") else media == prefix
        for prefix in TEXT_LIKE
    )


def find_references(
    body: bytes, *, limit: int | None = None
) -> list[tuple[PathKind, str | None, str]]:
    """Every recursive reference in ``body`` in order of appearance (duplicates kept once),
    stopping after ``limit`` references when given."""
    seen: set[str] = set()
    found: list[tuple[PathKind, str | None, str]] = []
    for match in _PATTERN.finditer(body):
        if limit is not None and len(found) >= limit:
            break
        path = match.group(0).decode("ascii")
        if path in seen:
            continue
        seen.add(path)
        groups = match.groupdict()
        if groups["content"]:
            found.append(("content", groups["content_id"].decode(), path))
        elif groups["with_id"]:
            kind = groups["with_id"].decode().replace("-", "_")
            found.append((kind, groups["r_id"].decode(), path))  # type: ignore[arg-type]
        elif groups["sat"]:
            found.append(("sat", None, path))
        elif groups["blockhash"]:
            found.append(("blockhash", None, path))
        elif groups["blockheight"]:
            found.append(("blockheight", None, path))
        elif groups["blockinfo"]:
            found.append(("blockinfo", None, path))
        elif groups["tx"]:
            found.append(("tx", None, path))
        else:
            found.append(("utxo", None, path))
    return found
