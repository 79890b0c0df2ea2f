"""Fields and flags of one envelope, as ord 0.27's ``ParsedEnvelope::from(RawEnvelope)``.

Raw field bytes are kept as they were pushed; typed views (``content_type``, ``pointer``,
``parents``, ...) apply ord's accessors (invalid UTF-8 → None, oversized pointer → None, invalid
ids dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

from btc.ord.envelope import RawEnvelope
from btc.ord.ids import InscriptionId, decode_inscription_id_field
from btc.ord.tags import Tag

FLAG_NAMES = (
    "duplicate_field",
    "incomplete_field",
    "pushnum",
    "stutter",
    "unrecognized_even_field",
)


# Tags whose values are concatenated in order rather than first-value-wins.
_CHUNKED = (Tag.METADATA, Tag.PROPERTIES)


@dataclass(frozen=True, slots=True)
class Inscription:
    input: int
    offset: int
    content_type_raw: bytes | None
    content_encoding_raw: bytes | None
    metaprotocol_raw: bytes | None
    pointer_raw: bytes | None
    parents_raw: tuple[bytes, ...]
    delegate_raw: bytes | None
    metadata: bytes | None
    rune: bytes | None
    properties: bytes | None
    property_encoding: bytes | None
    body: bytes | None
    pushnum: bool
    stutter: bool
    duplicate_field: bool
    incomplete_field: bool
    unrecognized_even_field: bool

    @classmethod
    def from_envelope(cls, envelope: RawEnvelope) -> Inscription:
        payload = envelope.payload
        separator = next((i for i in range(0, len(payload), 2) if not payload[i]), None)
        head = payload if separator is None else payload[:separator]
        fields: dict[bytes, list[bytes]] = {}
        for i in range(0, len(head) - 1, 2):
            fields.setdefault(head[i], []).append(head[i + 1])
        incomplete_field = len(head) % 2 == 1
        duplicate_field = any(len(values) > 1 for values in fields.values())

        def take(tag: Tag) -> bytes | None:
            values = fields.get(tag.value)
            if not values:
                return None
            if tag in _CHUNKED:
                del fields[tag.value]
                return b"".join(values)
            first = values.pop(0)
            if not values:
                del fields[tag.value]
            return first

        content_encoding = take(Tag.CONTENT_ENCODING)
        content_type = take(Tag.CONTENT_TYPE)
        delegate = take(Tag.DELEGATE)
        metadata = take(Tag.METADATA)
        metaprotocol = take(Tag.METAPROTOCOL)
        parents = tuple(fields.pop(Tag.PARENT.value, ()))
        pointer = take(Tag.POINTER)
        properties = take(Tag.PROPERTIES)
        property_encoding = take(Tag.PROPERTY_ENCODING)
        rune = take(Tag.RUNE)
        unrecognized_even_field = any(tag[:1] and tag[0] % 2 == 0 for tag in fields)
        body = None if separator is None else b"".join(payload[separator + 1 :])
        return cls(
            input=envelope.input,
            offset=envelope.offset,
            content_type_raw=content_type,
            content_encoding_raw=content_encoding,
            metaprotocol_raw=metaprotocol,
            pointer_raw=pointer,
            parents_raw=parents,
            delegate_raw=delegate,
            metadata=metadata,
            rune=rune,
            properties=properties,
            property_encoding=property_encoding,
            body=body,
            pushnum=envelope.pushnum,
            stutter=envelope.stutter,
            duplicate_field=duplicate_field,
            incomplete_field=incomplete_field,
            unrecognized_even_field=unrecognized_even_field,
        )

    # -- typed views (ord's accessors) ------------------------------------------------------
    @property
    def content_type(self) -> str | None:
        return _utf8(self.content_type_raw)

    @property
    def content_encoding(self) -> str | None:
        return _utf8(self.content_encoding_raw)

    @property
    def metaprotocol(self) -> str | None:
        return _utf8(self.metaprotocol_raw)

    @property
    def pointer(self) -> int | None:
        """Little-endian u64; bytes beyond the 8th must be zero, else None."""
        raw = self.pointer_raw
        if raw is None or any(raw[8:]):
            return None
        return int.from_bytes(raw[:8], "little")

    @property
    def parents(self) -> tuple[InscriptionId, ...]:
        decoded = (decode_inscription_id_field(value) for value in self.parents_raw)
        return tuple(parent for parent in decoded if parent is not None)

    @property
    def delegate(self) -> InscriptionId | None:
        return None if self.delegate_raw is None else decode_inscription_id_field(self.delegate_raw)

    @property
    def flags(self) -> tuple[str, ...]:
        """Names of the set flags, sorted."""
        return tuple(name for name in FLAG_NAMES if getattr(self, name))


def _utf8(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
