"""The ord 0.27 envelope rules of INSCRIPTIONS.md, edge by edge, on hand-built scripts."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from btc.errors import EncodeError
from btc.ord import (
    Envelope,
    Inscription,
    InscriptionId,
    envelopes_from_tapscript,
    tapscript_from_witness,
)
from btc.ord import reveal_script as write_reveal_script
from btc.ord.envelope import encode_pointer
from btc.ord.transaction import inscriptions_in_transaction
from btc.script import (
    OP_0,
    OP_1,
    OP_1NEGATE,
    OP_16,
    OP_CHECKSIG,
    OP_ENDIF,
    OP_IF,
    OP_VERIFY,
    iter_instructions,
)

from .blocks import envelope, reveal_script, script, tx_with_witnesses, witness_for
from .ord_checks import Ord

OP_AND = 0x84
TXID = "ab" * 32


def decode(tapscript: bytes) -> list[Inscription]:
    return [Inscription.from_envelope(e) for e in envelopes_from_tapscript(tapscript, 0)]


def one(tapscript: bytes) -> Inscription:
    found = decode(tapscript)
    assert len(found) == 1
    return found[0]


# -- where the tapscript is --------------------------------------------------------------------


def test_tapscript_position_rules() -> None:
    s, c = b"script", b"\xc0" + bytes(32)
    assert tapscript_from_witness(()) is None
    assert tapscript_from_witness((s,)) is None  # key path
    assert tapscript_from_witness((s, b"\x50annex")) is None  # key path + annex
    assert tapscript_from_witness((b"sig", s, c)) == s
    assert tapscript_from_witness((b"sig", s, c, b"\x50annex")) == s  # annex: item n-3
    assert tapscript_from_witness((s, c, b"\x50")) == s
    assert tapscript_from_witness((s, b"")) == s  # empty last item is not an annex


def test_key_path_and_annex_witnesses_yield_nothing() -> None:
    env = envelope(b"\x01", b"text/plain", b"", b"hi")
    tx = tx_with_witnesses((env,), (env, b"\x50"))
    assert inscriptions_in_transaction(tx) == []
    tx = tx_with_witnesses((b"sig", env, b"\xc0" + bytes(32), b"\x50\x01"))
    assert len(inscriptions_in_transaction(tx)) == 1


# -- reading the script ------------------------------------------------------------------------


def test_non_minimal_pushes_count_as_pushes() -> None:
    # OP_PUSHDATA1 0 as the empty push, PUSHDATA2 "ord", PUSHDATA4 content type.
    tapscript = (
        b"\x4c\x00"
        + bytes([OP_IF])
        + b"\x4d\x03\x00ord"
        + b"\x4e\x01\x00\x00\x00\x01"
        + b"\x4c\x04text"
        + b"\x00"
        + b"\x02hi"
        + bytes([OP_ENDIF])
    )
    insc = one(tapscript)
    assert insc.content_type == "text" and insc.body == b"hi"


def test_truncated_push_anywhere_drops_the_whole_input() -> None:
    good = envelope(b"\x01", b"text/plain", b"", b"body")
    assert decode(good) == decode(good)  # sanity: decodes
    assert len(decode(good)) == 1
    assert decode(good + b"\x05ab") == []  # truncated after an accepted envelope
    assert decode(b"\x4d\x01" + good) == []  # truncated length bytes
    tx = tx_with_witnesses(witness_for(good + b"\x01"), witness_for(good))
    found = inscriptions_in_transaction(tx)
    assert [f.input for f in found] == [1]


def test_envelope_anywhere_in_the_script() -> None:
    env = envelope(b"\x01", b"text/plain", b"", b"x")
    assert len(decode(script(b"\x02" * 32, OP_CHECKSIG) + env)) == 1
    assert len(decode(env + script(b"\x02" * 32, OP_CHECKSIG))) == 1
    assert len(decode(script(OP_1, OP_VERIFY) + env)) == 1


def test_missing_endif_wrong_protocol_and_bad_opcode() -> None:
    assert decode(script(OP_0, OP_IF, b"ord", b"\x01", b"text")) == []
    assert decode(script(OP_IF, b"ord", OP_ENDIF)) == []
    assert decode(script(OP_0, OP_IF, b"orb", OP_ENDIF)) == []
    assert decode(script(OP_0, OP_IF, OP_ENDIF)) == []
    # A non-push opcode inside drops the envelope; scanning resumes after it.
    dropped_then_ok = script(OP_0, OP_IF, b"ord", OP_CHECKSIG, OP_ENDIF) + envelope(b"", b"second")
    found = decode(dropped_then_ok)
    assert len(found) == 1 and found[0].body == b"second" and found[0].offset == 0


@pytest.mark.parametrize("op", [OP_1NEGATE, *range(OP_1, OP_16 + 1)])
def test_every_pushnum_opcode(op: int) -> None:
    insc = one(script(OP_0, OP_IF, b"ord", OP_0, op, OP_ENDIF))
    assert insc.pushnum
    assert insc.body == (b"\x81" if op == OP_1NEGATE else bytes([op - OP_1 + 1]))
    assert insc.flags == ("pushnum",)


def test_pushnum_tag_is_a_field() -> None:
    # OP_11 pushes tag 11 (delegate) as in mainnet 857002a3.
    delegate = InscriptionId(TXID, 0)
    insc = one(script(OP_0, OP_IF, b"ord", 0x5B, delegate.to_field(), OP_ENDIF))
    assert insc.delegate == delegate and insc.pushnum and insc.body is None


# -- stutter ----------------------------------------------------------------------------------


def test_stutter_variants() -> None:
    assert one(script(OP_0, OP_0, OP_IF, b"ord", OP_ENDIF)).stutter
    assert one(script(OP_0, OP_IF, OP_0, OP_IF, b"ord", OP_ENDIF)).stutter
    assert one(script(OP_0, OP_IF, OP_0, OP_IF, OP_0, OP_IF, b"ord", OP_ENDIF)).stutter
    assert not one(script(OP_0, OP_0, OP_AND, OP_0, OP_IF, b"ord", OP_ENDIF)).stutter
    assert not one(script(OP_0, OP_IF, b"ord", OP_ENDIF)).stutter


def test_stutter_cleared_by_dropped_envelope_but_not_by_accepted_one() -> None:
    # Dropped on a bad opcode: cleared.
    assert not one(
        script(OP_0, OP_0, OP_IF, b"ord", OP_CHECKSIG, OP_0, OP_IF, b"ord", OP_ENDIF)
    ).stutter
    # Accepted envelope: the flag is kept for the next one (ord's compatibility quirk).
    found = decode(script(OP_0, OP_0, OP_IF, b"ord", OP_ENDIF, OP_0, OP_IF, b"ord", OP_ENDIF))
    assert [f.stutter for f in found] == [True, True]
    assert [f.offset for f in found] == [0, 1]


# -- fields -------------------------------------------------------------------------------------


def test_body_separator_and_fields() -> None:
    insc = one(envelope(b"\x01", b"text/plain;charset=utf-8", b"", b"foo", b"bar"))
    assert insc.content_type == "text/plain;charset=utf-8" and insc.body == b"foobar"
    assert one(envelope(b"\x01", b"text/plain")).body is None  # no separator: no body
    assert one(envelope(b"\x01", b"text/plain", b"")).body == b""  # present but empty
    assert one(envelope(b"\x01", b"text/plain", b"", b"", b"", b"")).body == b""
    # An empty push at an odd index is a value, not the separator.
    insc = one(envelope(b"\x07", b"", b"", b"body"))
    assert insc.metaprotocol == "" and insc.body == b"body"


def test_body_chunked_at_520_bytes() -> None:
    body = bytes(range(256)) * 5
    chunks = [body[i : i + 520] for i in range(0, len(body), 520)]
    insc = one(envelope(b"\x01", b"image/png", b"", *chunks))
    assert insc.body == body and len(chunks) == 3


def test_incomplete_duplicate_and_unrecognized_fields() -> None:
    assert one(envelope(b"\x63")).incomplete_field
    assert one(envelope(b"\xff", b"", b"\xff", b"")).duplicate_field
    assert not one(envelope(b"\xff", b"a")).unrecognized_even_field  # odd unknown: ignored
    assert one(envelope(b"\x16", b"\x00")).unrecognized_even_field  # even unknown (22)
    assert one(envelope(b"\x42", b"\x01")).unrecognized_even_field  # tag 66 (unbound)
    assert (
        one(envelope(b"\x01\x00", b"x")).unrecognized_even_field is False
    )  # 01 00: odd first byte
    assert one(envelope(b"\x02\x00", b"x")).unrecognized_even_field  # 02 00 is not tag 2
    insc = one(envelope(b"\x02", b"\x01", b"\x02", b"\x00"))
    assert insc.pointer == 1 and insc.duplicate_field and insc.unrecognized_even_field
    insc = one(envelope(b"\x01", b"a", b"\x01", b"b"))  # leftover odd tag 1: only duplicate
    assert insc.content_type == "a" and insc.duplicate_field and not insc.unrecognized_even_field
    assert sorted(insc.flags) == list(insc.flags) == ["duplicate_field"]


def test_chunked_metadata_and_properties() -> None:
    insc = one(envelope(b"\x05", b"\xa1\x61", b"\x05", b"a\x01"))
    assert insc.metadata == b"\xa1\x61a\x01" and insc.duplicate_field
    assert one(envelope(b"\x05", b"")).metadata == b""
    assert one(envelope(b"\x11", b"\x00", b"\x11", b"\x01")).properties == b"\x00\x01"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", 0),
        (b"\x01", 1),
        (b"\x22\x02", 546),
        (b"\xff" * 8, 2**64 - 1),
        (b"\x01" + bytes(8), 1),  # bytes beyond the 8th are zero: kept
        (b"\x01" + bytes(7) + b"\x01", None),  # a nonzero 9th byte: ignored
    ],
)
def test_pointer_decoding(raw: bytes, expected: int | None) -> None:
    insc = one(envelope(b"\x02", raw))
    assert insc.pointer == expected
    assert insc.pointer_raw == raw


def test_inscription_id_fields() -> None:
    txid_internal = bytes.fromhex(TXID)[::-1]
    parents = [
        txid_internal,  # index 0, no index bytes
        txid_internal + b"\x01",
        txid_internal + b"\x00\x01",  # 2-byte index 256
        txid_internal + b"\x00\x00\x00\x00",  # full 4 bytes may end in zeros
        txid_internal + b"\x01\x00",  # 2-byte index ending in 00: invalid
        txid_internal[:31],  # too short
        txid_internal + b"\x01" * 5,  # too long
    ]
    pushes: list[bytes] = []
    for value in parents:
        pushes += [b"\x03", value]
    insc = one(envelope(*pushes))
    assert [str(p) for p in insc.parents] == [f"{TXID}i0", f"{TXID}i1", f"{TXID}i256", f"{TXID}i0"]
    assert len(insc.parents_raw) == 7
    assert one(envelope(b"\x0b", txid_internal + b"\x01\x00")).delegate is None
    assert InscriptionId.parse(f"{TXID}i7").to_field() == txid_internal + b"\x07"
    with pytest.raises(ValueError):
        InscriptionId.parse(f"{TXID}i07")


def test_invalid_utf8_content_type_is_kept_raw() -> None:
    insc = one(envelope(b"\x01", b"\xff\xfe", b"", b"x"))
    assert insc.content_type is None and insc.content_type_raw == b"\xff\xfe"


def test_rune_note_and_encoding_tags() -> None:
    insc = one(envelope(b"\x0d", b"\xf9\xd3", b"\x0f", b"note", b"\x09", b"br", b"\x13", b"enc"))
    assert (
        insc.rune == b"\xf9\xd3"
        and insc.content_encoding == "br"
        and insc.property_encoding == b"enc"
    )
    assert not insc.unrecognized_even_field


# -- several envelopes ----------------------------------------------------------------------------


def test_ids_count_across_inputs_and_envelopes() -> None:
    two = reveal_script(envelope(b"", b"a"), envelope(b"", b"b"))
    tx = tx_with_witnesses((b"\x01" * 64,), witness_for(two), witness_for(envelope(b"", b"c")))
    found = inscriptions_in_transaction(tx)
    assert [(f.input, f.offset, f.body) for f in found] == [
        (1, 0, b"a"),
        (1, 1, b"b"),
        (2, 0, b"c"),
    ]


def test_coinbase_is_skipped() -> None:
    from btc.transaction import OutPoint, Transaction, TxIn, TxOut

    coinbase = Transaction(
        2,
        (TxIn(OutPoint(bytes(32), 0xFFFFFFFF), b"\x01\x01", 0, witness_for(envelope(b"", b"x"))),),
        (TxOut(0, b""),),
    )
    assert inscriptions_in_transaction(coinbase) == []


# -- never raises -------------------------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=5))
def test_decoder_never_raises_on_arbitrary_witnesses(witness: list[bytes]) -> None:
    tapscript = tapscript_from_witness(witness)
    if tapscript is not None:
        for env in envelopes_from_tapscript(tapscript, 0):
            Inscription.from_envelope(env).flags  # noqa: B018 - exercising the accessors
            Inscription.from_envelope(env).pointer  # noqa: B018


_opcodes = st.sampled_from(
    [OP_0, OP_IF, OP_ENDIF, OP_1, OP_16, OP_1NEGATE, OP_CHECKSIG, 0x4C, 0x01, 0x03]
)
_tokens = st.one_of(
    _opcodes,
    st.sampled_from([b"ord", b"\x01", b"\x02", b"text/plain", b"\x05"]),
    st.binary(max_size=8),
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_tokens, max_size=30))
def test_decoder_never_raises_on_envelope_like_scripts(tokens: list[int | bytes]) -> None:
    raw = b"".join(bytes([t]) if isinstance(t, int) else t for t in tokens)
    for env in envelopes_from_tapscript(raw, 0):
        insc = Inscription.from_envelope(env)
        assert insc.offset == env.offset
        insc.parents  # noqa: B018
        insc.delegate  # noqa: B018


# --- the writer, pinned to the reader -----------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    body=st.one_of(st.none(), st.binary(max_size=2000)),
    content_type=st.one_of(st.none(), st.text(max_size=40)),
    parents=st.lists(
        st.tuples(st.binary(min_size=32, max_size=32), st.integers(0, 2**32 - 1)), max_size=3
    ),
    delegate=st.one_of(st.none(), st.integers(0, 1000)),
    encoding=st.one_of(st.none(), st.sampled_from(["br", "gzip"])),
    metadata=st.one_of(st.none(), st.binary(min_size=1, max_size=1600)),
    pointer=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    n=st.integers(1, 3),
)
# A metadata value equal to its own tag (found by CI): a field count, not a byte count.
@example(body=b"", content_type=None, parents=[], delegate=None, encoding=None,
         metadata=b"\x05", pointer=None, n=1)  # fmt: skip
def test_envelope_roundtrip(
    body: bytes | None,
    content_type: str | None,
    parents: list[tuple[bytes, int]],
    delegate: int | None,
    encoding: str | None,
    metadata: bytes | None,
    pointer: int | None,
    n: int,
) -> None:
    key = bytes(range(1, 33))  # any 32 bytes: the script is read, never verified
    env = Envelope(
        body=body,
        content_type=content_type,
        metadata=metadata,
        pointer=pointer,
        metaprotocol="drey/1",
        content_encoding=encoding,
        parents=tuple(f"{t.hex()}i{i}" for t, i in parents),
        delegate=None if delegate is None else f"{'ab' * 32}i{delegate}",
    )
    script = write_reveal_script(key, [env] * n)
    ops = list(iter_instructions(script))
    assert ops[0] == (32, key) and ops[1] == (OP_CHECKSIG, None)
    assert all(len(d) <= 520 for _, d in ops if d is not None)
    found = Ord.decode_script(script)
    assert len(found) == n
    for offset, ins in enumerate(found):
        assert ins.offset == offset
        Ord.assert_same(ins, env)
    if metadata is not None:
        assert _tag_pushes(ops, b"\x05") == n * -(-len(metadata) // 520)


def _tag_pushes(ops: list[tuple[int, bytes | None]], tag: bytes) -> int:
    """How many fields of ``tag`` the envelopes of ``ops`` carry: fields are (tag, value)
    pushes after ``ord`` up to the body separator, so a value equal to the tag (metadata
    b"\x05") is not counted."""
    count, i = 0, 0
    while i < len(ops):
        if ops[i][1] == b"ord":
            i += 1
            while i < len(ops) and ops[i][1] not in (None, b""):
                count += ops[i][1] == tag
                i += 2
            while i < len(ops) and ops[i][0] != OP_ENDIF:
                i += 1
        i += 1
    return count


def test_inscription_id_and_pointer_encoding() -> None:
    txid = "11" * 31 + "22"
    assert InscriptionId.parse(txid + "i0").to_field() == bytes.fromhex(txid)[::-1]
    assert InscriptionId.parse(txid + "i1").to_field() == bytes.fromhex(txid)[::-1] + b"\x01"
    assert InscriptionId.parse(txid + "i256").to_field() == bytes.fromhex(txid)[::-1] + b"\x00\x01"
    assert encode_pointer(0) == b"" and encode_pointer(256) == b"\x00\x01"
    with pytest.raises(EncodeError, match="not an inscription id"):
        Envelope(delegate=txid).encode()
    with pytest.raises(EncodeError, match="not an inscription id"):
        Envelope(parents=(txid + "i4294967296",)).encode()
    with pytest.raises(EncodeError, match="push above 520"):
        Envelope(extra_fields=((b"\x01", bytes(521)),)).encode()
