"""ord 0.27 envelopes in tapscripts: read exactly as ``RawEnvelope::from_tapscript``, written
exactly as ``append_reveal_script_to_builder``.

Reading (INSCRIPTIONS.md): scan instructions; at each empty push the next instruction must be
``OP_IF`` and the one after a push of ``ord``; inside, pushes append to the payload, ``OP_1..16``
and ``OP_1NEGATE`` append one byte and set *pushnum*, ``OP_ENDIF`` accepts, anything else drops
the envelope. A truncated push anywhere means the whole input yields nothing.

Writing: an envelope is ``OP_0 OP_IF "ord" (<tag> <value>)* [OP_0 <body chunk>*] OP_ENDIF``.
Values and body are pushed in chunks of at most 520 bytes (Core's ``MAX_SCRIPT_ELEMENT_SIZE``,
enforced in tapscript), so metadata longer than 520 bytes becomes several tag-5 pushes that ord
concatenates. Field order follows ord's builder. The reveal script puts the envelopes after
``<x-only key> OP_CHECKSIG``, as ord does. :class:`Envelope` and :func:`reveal_script` write;
:func:`envelopes_from_tapscript` with :meth:`btc.ord.inscription.Inscription.from_envelope`
read back the same fields (property-tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btc.errors import EncodeError, TruncatedPushError
from btc.ord.ids import InscriptionId
from btc.ord.tags import Tag
from btc.script import (
    OP_1,
    OP_1NEGATE,
    OP_16,
    OP_CHECKSIG,
    OP_ENDIF,
    OP_IF,
    encode_push,
    iter_instructions,
)

PROTOCOL_ID = b"ord"
MAX_SCRIPT_ELEMENT_SIZE = 520
TAPROOT_ANNEX_PREFIX = 0x50

# Instructions are (opcode, pushed bytes | None). Pushes carry bytes, other opcodes None.
_Instruction = tuple[int, bytes | None]


@dataclass(frozen=True, slots=True)
class RawEnvelope:
    """One accepted envelope: its input, its offset among the input's envelopes, the payload
    pushes, and the two flags decided while scanning."""

    input: int
    offset: int
    payload: tuple[bytes, ...]
    pushnum: bool
    stutter: bool


def tapscript_from_witness(witness: Sequence[bytes]) -> bytes | None:
    """The item that may hold a tapscript (rust-bitcoin ``Witness::tapscript``), or None."""
    n = len(witness)
    if n < 2:
        return None
    last = witness[-1]
    from_last = 3 if last[:1] == b"\x50" else 2
    if n < from_last:
        return None
    return witness[n - from_last]


def envelopes_from_tapscript(script: bytes, input_index: int) -> list[RawEnvelope]:
    """Every envelope in ``script``; empty when the script holds a truncated push."""
    try:
        instructions = list(iter_instructions(script))
    except TruncatedPushError:
        return []
    envelopes: list[RawEnvelope] = []
    stuttered = False
    count = len(instructions)
    i = 0
    while i < count:
        data = instructions[i][1]
        i += 1
        if data is None or data:
            continue
        # An empty push: try to open an envelope at instruction i.
        if i < count and instructions[i] == (OP_IF, None):
            i += 1
            if i < count and instructions[i][1] == PROTOCOL_ID:
                i += 1
                envelope, i = _read_payload(instructions, i, input_index, len(envelopes), stuttered)
                if envelope is not None:
                    envelopes.append(envelope)
                else:
                    stuttered = False
                continue
        stuttered = _is_empty_push(instructions, i)
    return envelopes


def _is_empty_push(instructions: list[_Instruction], i: int) -> bool:
    return i < len(instructions) and instructions[i][1] == b""


def _read_payload(
    instructions: list[_Instruction], i: int, input_index: int, offset: int, stutter: bool
) -> tuple[RawEnvelope | None, int]:
    payload: list[bytes] = []
    pushnum = False
    count = len(instructions)
    while i < count:
        op, data = instructions[i]
        i += 1
        if data is not None:
            payload.append(data)
        elif op == OP_ENDIF:
            return RawEnvelope(input_index, offset, tuple(payload), pushnum, stutter), i
        elif OP_1 <= op <= OP_16:
            pushnum = True
            payload.append(bytes((op - OP_1 + 1,)))
        elif op == OP_1NEGATE:
            pushnum = True
            payload.append(b"\x81")
        else:
            return None, i
    return None, i


# --- writing ---------------------------------------------------------------------------


def _id_field(inscription_id: str) -> bytes:
    try:
        return InscriptionId.parse(inscription_id).to_field()
    except ValueError as exc:
        raise EncodeError(str(exc)) from None


def encode_pointer(pointer: int) -> bytes:
    """Little-endian, trailing zero bytes trimmed (ord's encoding; 0 is the empty value)."""
    if pointer < 0 or pointer >= 1 << 64:
        raise EncodeError(f"pointer {pointer} out of range [0, 2**64)")
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
            out.append((Tag.CONTENT_TYPE.value, _text(self.content_type)))
        if self.content_encoding is not None:
            out.append((Tag.CONTENT_ENCODING.value, _text(self.content_encoding)))
        if self.metaprotocol is not None:
            out.append((Tag.METAPROTOCOL.value, _text(self.metaprotocol)))
        out.extend((Tag.PARENT.value, _id_field(p)) for p in self.parents)
        if self.delegate is not None:
            out.append((Tag.DELEGATE.value, _id_field(self.delegate)))
        if self.pointer is not None:
            out.append((Tag.POINTER.value, encode_pointer(self.pointer)))
        if self.metadata is not None:
            out.extend((Tag.METADATA.value, chunk) for chunk in _chunks(self.metadata) or [b""])
        for tag, value in self.extra_fields:
            out.append((tag, value))
        for tag, value in out:
            if len(tag) > MAX_SCRIPT_ELEMENT_SIZE or len(value) > MAX_SCRIPT_ELEMENT_SIZE:
                raise EncodeError(
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
        raise EncodeError(f"reveal key must be 32 x-only bytes, got {len(key)}")
    if not envelopes:
        raise EncodeError("a reveal script needs at least one envelope")
    return encode_push(key) + bytes((OP_CHECKSIG,)) + b"".join(e.encode() for e in envelopes)
