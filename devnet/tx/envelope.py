"""ord inscription envelopes, written the way ord 0.27 writes them.

An envelope is ``OP_0 OP_IF "ord" (<tag> <value>)* [OP_0 <body chunk>*] OP_ENDIF``; tags are
single-byte pushes (``01`` content type, ``02`` pointer, ``03`` parent, ``05`` metadata,
``07`` metaprotocol, ``09`` content encoding, ``0b`` delegate). Values and body are pushed in
chunks of at most 520 bytes (Core's ``MAX_SCRIPT_ELEMENT_SIZE``, enforced in tapscript), so
metadata longer than 520 bytes becomes several tag-5 pushes that ord concatenates. Field order
follows ord's ``append_reveal_script_to_builder``. The reveal script puts the envelopes after
``<x-only key> OP_CHECKSIG``, as ord does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from devnet.errors import BadArgument
from indexer.bitcoin.hashes import hex_to_hash
from indexer.bitcoin.script import OP_CHECKSIG, OP_ENDIF, OP_IF, encode_push

MAX_SCRIPT_ELEMENT_SIZE = 520
PROTOCOL_ID = b"ord"

TAG_CONTENT_TYPE = b"\x01"
TAG_POINTER = b"\x02"
TAG_PARENT = b"\x03"
TAG_METADATA = b"\x05"
TAG_METAPROTOCOL = b"\x07"
TAG_CONTENT_ENCODING = b"\x09"
TAG_DELEGATE = b"\x0b"


def encode_inscription_id(inscription_id: str) -> bytes:
    """``<txid>i<n>`` to ord's value bytes: txid in internal order, index LE with trailing
    zero bytes trimmed (index 0 is the bare 32-byte txid)."""
    txid_hex, sep, index_text = inscription_id.partition("i")
    if not sep or not index_text.isdigit():
        raise BadArgument(f"inscription id {inscription_id!r} is not <txid>i<index>")
    try:
        txid = hex_to_hash(txid_hex)
    except ValueError as exc:
        raise BadArgument(f"inscription id {inscription_id!r}: bad txid ({exc})") from None
    index = int(index_text)
    if index > 0xFFFFFFFF:
        raise BadArgument(f"inscription id {inscription_id!r}: index exceeds u32")
    return txid + index.to_bytes(4, "little").rstrip(b"\x00")


def encode_pointer(pointer: int) -> bytes:
    """Little-endian, trailing zero bytes trimmed (ord's encoding; 0 is the empty value)."""
    if pointer < 0 or pointer >= 1 << 64:
        raise BadArgument(f"pointer {pointer} out of range [0, 2**64)")
    return pointer.to_bytes(8, "little").rstrip(b"\x00")


def _chunks(data: bytes) -> list[bytes]:
    return [
        data[i : i + MAX_SCRIPT_ELEMENT_SIZE] for i in range(0, len(data), MAX_SCRIPT_ELEMENT_SIZE)
    ]


def _text(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class Envelope:
    """One inscription. ``body=None`` writes no body separator (ord: no body, not empty).

    ``metadata`` is raw bytes (normally CBOR); ``extra_fields`` appends raw (tag, value) pairs
    after the known fields, for tests of unknown or duplicated tags.
    """

    body: bytes | None = None
    content_type: str | bytes | None = None
    metaprotocol: str | bytes | None = None
    metadata: bytes | None = None
    content_encoding: str | bytes | None = None
    parents: tuple[str, ...] = ()
    delegate: str | None = None
    pointer: int | None = None
    extra_fields: tuple[tuple[bytes, bytes], ...] = ()

    def fields(self) -> list[tuple[bytes, bytes]]:
        """(tag, value) pushes in ord's order; long values are split into 520-byte chunks."""
        out: list[tuple[bytes, bytes]] = []
        if self.content_type is not None:
            out.append((TAG_CONTENT_TYPE, _text(self.content_type)))
        if self.content_encoding is not None:
            out.append((TAG_CONTENT_ENCODING, _text(self.content_encoding)))
        if self.metaprotocol is not None:
            out.append((TAG_METAPROTOCOL, _text(self.metaprotocol)))
        out.extend((TAG_PARENT, encode_inscription_id(p)) for p in self.parents)
        if self.delegate is not None:
            out.append((TAG_DELEGATE, encode_inscription_id(self.delegate)))
        if self.pointer is not None:
            out.append((TAG_POINTER, encode_pointer(self.pointer)))
        if self.metadata is not None:
            out.extend((TAG_METADATA, chunk) for chunk in _chunks(self.metadata) or [b""])
        for tag, value in self.extra_fields:
            out.append((tag, value))
        for tag, value in out:
            if len(tag) > MAX_SCRIPT_ELEMENT_SIZE or len(value) > MAX_SCRIPT_ELEMENT_SIZE:
                raise BadArgument(
                    f"envelope field with tag {tag.hex()} has a push above "
                    f"{MAX_SCRIPT_ELEMENT_SIZE} bytes ({len(value)})"
                )
        return out

    def encode(self) -> bytes:
        """The envelope's script bytes (``OP_0 OP_IF ... OP_ENDIF``)."""
        parts = [b"\x00", bytes((OP_IF,)), encode_push(PROTOCOL_ID)]
        for tag, value in self.fields():
            parts.append(encode_push(tag))
            parts.append(encode_push(value))
        if self.body is not None:
            parts.append(b"\x00")
            parts.extend(encode_push(chunk) for chunk in _chunks(self.body))
        parts.append(bytes((OP_ENDIF,)))
        return b"".join(parts)


def reveal_script(key: bytes, envelopes: Sequence[Envelope]) -> bytes:
    """``<x-only key> OP_CHECKSIG`` followed by every envelope, in order."""
    if len(key) != 32:
        raise BadArgument(f"reveal key must be 32 x-only bytes, got {len(key)}")
    if not envelopes:
        raise BadArgument("a reveal script needs at least one envelope")
    return encode_push(key) + bytes((OP_CHECKSIG,)) + b"".join(e.encode() for e in envelopes)
