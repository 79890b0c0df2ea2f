"""ord 0.27's envelope field tags (``src/inscriptions/tag.rs``).

Even tags ord does not know make an inscription unbound ("unrecognized even field"); odd ones
are ignored. Values are the single-byte pushes that precede a field's value.
"""

from __future__ import annotations

from enum import Enum


class Tag(bytes, Enum):
    CONTENT_TYPE = b"\x01"
    POINTER = b"\x02"
    PARENT = b"\x03"
    METADATA = b"\x05"
    METAPROTOCOL = b"\x07"
    CONTENT_ENCODING = b"\x09"
    DELEGATE = b"\x0b"
    RUNE = b"\x0d"
    NOTE = b"\x0f"
    PROPERTIES = b"\x11"
    PROPERTY_ENCODING = b"\x13"
