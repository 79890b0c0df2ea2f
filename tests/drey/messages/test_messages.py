"""Drey messages: schemas, deterministic encoding, BIP340 signatures, quarantine reasons."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from typing import Any

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.cbor import decode_cbor, encode_cbor
from drey.crypto.tagged import tagged_hash
from drey.errors import MessageError
from drey.messages import (
    DEFAULTS,
    QUARANTINE_REASONS,
    Allocation,
    AllocationRef,
    FormulaManifest,
    Lead,
    LeadPart,
    Paillier,
    Params,
    Plan,
    Proof,
    Quarantine,
    Result,
    RosterEntry,
    Secondary,
    ShareEntry,
    Shares,
    Stake,
    Vrf,
    assemble_lead_file,
    check_kem,
    check_params_succession,
    check_result,
    check_share_entry,
    encode_message,
    parse_message,
    sign_allocation,
    xonly_public_key,
    z_width,
)
from drey.messages.circuit import Beacon, CircuitContribution, CircuitManifest, FileRef, PtauRef
from drey.messages.fields import BN254_R, is_inscription_id, is_month

RNG = random.Random(20240601)
SECRETS = [bytes([i + 1]) * 32 for i in range(6)]
KEYS = [xonly_public_key(s) for s in SECRETS]
FOUNDER_SECRET = b"\x42" * 32
FOUNDER = xonly_public_key(FOUNDER_SECRET)
OPERATOR_SECRET = b"\x43" * 32
OPERATOR = xonly_public_key(OPERATOR_SECRET)
AUX = b"\x00" * 32


def _prime(bits: int, seed: int) -> int:
    return int(gmpy2.next_prime(random.Random(seed).getrandbits(bits) | (1 << (bits - 1))))


def make_paillier(seed: int = 1) -> tuple[Paillier, int]:
    n = _prime(160, seed) * _prime(160, seed + 1000)
    l2 = ((n * n).bit_length() + 7) // 8
    v = (pow(7 + seed, 2, n * n)).to_bytes(l2, "big")
    return Paillier(n.to_bytes((n.bit_length() + 7) // 8, "big"), v), n


PAILLIER, N = make_paillier()
L2 = PAILLIER.l2


def _mod_n2(seed: int, n: int = N) -> bytes:
    rng = random.Random(seed)
    while True:
        x = rng.randrange(2, n * n)
        if gmpy2.gcd(x, n) == 1:
            return x.to_bytes(((n * n).bit_length() + 7) // 8, "big")


def make_roster(count: int = 5, seed: int = 0, n: int = N) -> tuple[RosterEntry, ...]:
    return tuple(
        RosterEntry(i + 1, KEYS[i], bytes([0xA0 + i]) * 32, _mod_n2(seed * 100 + i, n))
        for i in range(count)
    )


INSC = "ab" * 32 + "i0"
MONTH = "2025-03"
ROOT = (12345).to_bytes(32, "big")
ROOT2 = (BN254_R - 1).to_bytes(32, "big")


def make_params(**changes: Any) -> Params:
    base = Params(
        first_month="2025-01",
        vault=(b"\x51\x20" + b"\x11" * 32,),
        operator=OPERATOR,
        roster=make_roster(),
        paillier=PAILLIER,
        threshold=3,
        min_stake=100_000,
        dreybits_per_month=2**58 - 1,
        fee_bps=100,
        penalty_bps=500,
        lead_bps=6000,
        formula=INSC,
    )
    return replace(base, **changes).signed(FOUNDER_SECRET, aux_rand=AUX)


def all_messages() -> list[Any]:
    actuary = KEYS[0]
    file = b"PAR1 not really parquet PAR1"
    alloc = Allocation(
        month=MONTH,
        round=0,
        month_root=ROOT,
        n_rows=3,
        months_root=ROOT2,
        sha256=hashlib.sha256(file).digest(),
        sigs=(),
        file=file,
    )
    sigs = tuple(
        sign_allocation(
            SECRETS[i],
            month=MONTH,
            month_root=ROOT,
            months_root=ROOT2,
            sha256=alloc.sha256,
            aux_rand=AUX,
        )
        for i in range(3)
    )
    return [
        make_params(),
        make_params(effective_month="2025-06", confirmations=3, supermajority=(3, 4)),
        Stake(actuary, b"\x01" * 36).signed(SECRETS[0]),
        Plan(2**64 - 1, KEYS[5], b"\x02" * 36).signed(OPERATOR_SECRET),
        Vrf(MONTH, 0, actuary, b"\x03" * 80).signed(SECRETS[0]),
        Lead(MONTH, 1, actuary, _mod_n2(9), b"\x04" * 12, b"\x05" * 40).signed(SECRETS[0]),
        Lead(MONTH, 1, actuary, _mod_n2(9), b"\x04" * 12, b"\x05" * 40, parts=3).signed(SECRETS[0]),
        Secondary(MONTH, 2**32 - 1, KEYS[1], _mod_n2(8), b"\x06" * 12, b"\x07" * 16).signed(
            SECRETS[1]
        ),
        LeadPart(MONTH, 0, actuary, 2, b"\x08" * 12, b"\x09" * 100).signed(SECRETS[0]),
        Shares(
            MONTH,
            0,
            KEYS[2],
            (
                ShareEntry(INSC, _mod_n2(1), b"\x0a" * 32, b"\x0b" * 90),
                ShareEntry("cd" * 32 + "i4294967295", _mod_n2(2), b"\x0c" * 32, b"\x0d" * 90),
            ),
        ).signed(SECRETS[2]),
        replace(alloc, sigs=sigs),
        FormulaManifest("drey-v1", 1, b"\x0e" * 32, (INSC, "ef" * 32 + "i12")).signed(
            FOUNDER_SECRET
        ),
        circuit_manifest(),
        CircuitContribution(KEYS[3], 4, b"\x10" * 32, b"\x11" * 64).signed(SECRETS[3]),
    ]


def circuit_manifest(**changes: Any) -> CircuitManifest:
    """A protocol v1.1 ``circuit`` manifest (docs/protocol/proofs.md §4), founder-signed."""
    files = [FileRef(bytes([0x20 + i]) * 32, ("ab" * 32 + f"i{i}",)) for i in range(3)]
    manifest = CircuitManifest(
        system="groth16-bn254/months-append/v1",
        months_depth=16,
        source=files[0],
        r1cs_sha256=b"\x12" * 32,
        wasm_sha256=b"\x13" * 32,
        ptau=PtauRef(b"\x14" * 32, 13),
        zkey=files[1],
        vk=files[2],
        contributions=(INSC, "ef" * 32 + "i7"),
        beacon=Beacon(900, 10),
    )
    return replace(manifest, **changes).signed(FOUNDER_SECRET, aux_rand=AUX)


def parse(content: Any, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "content_type": content.content_type,
        "content_encoding": None,
        "metaprotocol": content.metaprotocol,
        "delegate": None,
        "body": content.body,
        "metadata": content.metadata,
    }
    fields.update(overrides)
    return parse_message(**fields)


@pytest.mark.parametrize("message", all_messages(), ids=lambda m: type(m).__name__)
def test_every_kind_roundtrips_and_verifies(message: Any) -> None:
    content = encode_message(message)
    parsed = parse(content, founder=FOUNDER)
    assert parsed == message
    assert encode_message(parsed) == content
    map_bytes = content.metadata if isinstance(message, Allocation) else content.body
    assert encode_cbor(decode_cbor(map_bytes)) == map_bytes
    decoded = decode_cbor(map_bytes)
    assert decoded["v"] == 1 and decoded["kind"] == message.KIND
    if message.SIGNED:
        assert len(message.sig) == 64
        expected = tagged_hash(
            "drey/1/" + message.KIND, encode_cbor(message.to_map(with_sig=False))
        )
        assert message.digest() == expected
        assert "sig" not in decode_cbor(message.signing_bytes())


@pytest.mark.parametrize(
    "message",
    [m for m in all_messages() if m.SIGNED],
    ids=lambda m: type(m).__name__,
)
def test_tampered_signature_or_field_is_rejected(message: Any) -> None:
    signer = {
        Params: FOUNDER,
        FormulaManifest: FOUNDER,
        CircuitManifest: FOUNDER,
        Plan: OPERATOR,
    }.get(type(message))
    assert message.verify(signer)
    bad_sig = bytearray(message.sig)
    bad_sig[5] ^= 1
    tampered = replace(message, sig=bytes(bad_sig))
    assert not tampered.verify(signer)
    result = parse(encode_message(tampered), founder=FOUNDER)
    if signer == OPERATOR:  # the operator is only known to the rules engine
        assert result == tampered
    else:
        assert isinstance(result, Quarantine) and result.reason == "bad_signature"
    # Changing a signed field keeps the old sig, which then fails.
    field_name = "round" if hasattr(message, "round") else None
    if field_name:
        moved = replace(message, round=message.round ^ 1)
        assert not moved.verify(signer)


def test_signing_refuses_a_key_that_is_not_the_named_actuary() -> None:
    with pytest.raises(MessageError):
        Stake(KEYS[0], b"\x01" * 36).signed(SECRETS[1])


def test_unsigned_message_cannot_be_encoded() -> None:
    with pytest.raises(MessageError) as info:
        encode_message(Stake(KEYS[0], b"\x01" * 36))
    assert info.value.reason == "bad_field"


def test_allocation_sigs_each_verify() -> None:
    alloc = next(m for m in all_messages() if isinstance(m, Allocation))
    assert alloc.verify()
    forged = replace(alloc, sigs=(*alloc.sigs[:2], replace(alloc.sigs[2], actuary=KEYS[4])))
    assert not forged.verify() and forged.bad_sig() == forged.sigs[2]
    result = parse(encode_message(forged))
    assert isinstance(result, Quarantine) and result.reason == "bad_signature"
    with pytest.raises(MessageError):
        alloc.signed(SECRETS[0])


# --- every quarantine reason --------------------------------------------------------------


def _stake_map() -> dict[str, Any]:
    return Stake(KEYS[0], b"\x01" * 36).signed(SECRETS[0]).to_map()


def _cbor_body(body: bytes, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "content_type": "application/cbor",
        "content_encoding": None,
        "metaprotocol": "drey/1",
        "delegate": None,
        "body": body,
        "metadata": None,
    }
    fields.update(overrides)
    return parse_message(**fields)


def _with(**changes: Any) -> bytes:
    m = _stake_map()
    for k, v in changes.items():
        if v is None:
            del m[k]
        else:
            m[k] = v
    return encode_cbor(m)


def _alloc_content() -> Any:
    return encode_message(next(m for m in all_messages() if isinstance(m, Allocation)))


def _params_map(**changes: Any) -> bytes:
    m = make_params().to_map()
    m.update(changes)
    return encode_cbor(m)


REASON_CASES: dict[str, list[Any]] = {
    "bad_metaprotocol": [
        lambda: _cbor_body(_with(), metaprotocol="drey/2"),
        lambda: _cbor_body(_with(), metaprotocol=None),
        lambda: _cbor_body(_with(), metaprotocol=b"drey/1\x00"),
        lambda: _cbor_body(_with(), metaprotocol="DREY/1"),
    ],
    "has_content_encoding": [
        lambda: _cbor_body(_with(), content_encoding="br"),
        lambda: _cbor_body(_with(), content_encoding=b""),
    ],
    "has_delegate": [lambda: _cbor_body(_with(), delegate=INSC)],
    "bad_content_type": [
        lambda: _cbor_body(_with(), content_type="application/cbor; charset=binary"),
        lambda: _cbor_body(_with(), content_type=None),
        lambda: _cbor_body(
            _with(), content_type="application/vnd.apache.parquet", metadata=_with()
        ),
        lambda: parse(
            _alloc_content(), content_type="application/cbor", body=_alloc_content().metadata
        ),
    ],
    "missing_body": [
        lambda: _cbor_body(None),
        lambda: parse(_alloc_content(), body=None),
    ],
    "missing_metadata": [lambda: parse(_alloc_content(), metadata=None)],
    "bad_cbor": [
        lambda: _cbor_body(b""),
        lambda: _cbor_body(_with() + b"\x00"),
        lambda: _cbor_body(_with()[:-1]),
    ],
    "non_canonical_cbor": [
        lambda: _cbor_body(b"\xb8\x05" + _with()[1:]),
    ],
    "duplicate_key": [lambda: _cbor_body(bytes.fromhex("a2617601617601"))],
    "forbidden_cbor": [
        lambda: _cbor_body(bytes.fromhex("a1617601").replace(b"\x01", b"\xf9\x3c\x00")),
        lambda: _cbor_body(bytes.fromhex("a1617601").replace(b"\x01", b"\xc2\x41\x01")),
        lambda: _cbor_body(bytes.fromhex("a10101")),
    ],
    "too_deep": [lambda: _cbor_body(b"\xa1\x61a" * 17 + b"\x00")],
    "not_a_map": [lambda: _cbor_body(encode_cbor([1, 2]))],
    "bad_version": [
        lambda: _cbor_body(_with(v=2)),
        lambda: _cbor_body(_with(v=None)),
        lambda: _cbor_body(_with(v=True)),
    ],
    "unknown_kind": [
        lambda: _cbor_body(_with(kind="stakes")),
        lambda: _cbor_body(_with(kind=None)),
        lambda: _cbor_body(_with(kind=b"stake")),
        lambda: _cbor_body(encode_cbor({"v": 1, "kind": "result"})),
    ],
    "unknown_field": [
        lambda: _cbor_body(_with(extra=1)),
        lambda: _cbor_body(
            encode_cbor(
                {
                    **Secondary(MONTH, 0, KEYS[0], b"1", b"2" * 12, b"3" * 16).to_map(
                        with_sig=False
                    ),
                    "parts": 1,
                    "sig": b"\x00" * 64,
                }
            )
        ),
    ],
    "missing_field": [lambda: _cbor_body(_with(outpoint=None))],
    "bad_field": [
        lambda: _cbor_body(_with(outpoint=b"\x01" * 35)),
        lambda: _cbor_body(_with(actuary=b"\xff" * 32)),  # not on the curve
        lambda: _cbor_body(_with(sig=b"\x00" * 63)),
        lambda: _cbor_body(_params_map(dreybits_per_month=2**58)),
        lambda: _cbor_body(_params_map(lead_bps=5000)),
        lambda: _cbor_body(_params_map(fee_bps=10001)),
        lambda: _cbor_body(_params_map(vrf_window=0)),
        lambda: _cbor_body(_params_map(supermajority=[3, 2])),
        lambda: _cbor_body(_params_map(supermajority=[0, 2])),
        lambda: _cbor_body(_params_map(min_stake=0)),
        lambda: _cbor_body(_params_map(first_month="1969-12")),
        lambda: _cbor_body(_params_map(formula="AB" * 32 + "i0")),
        lambda: _cbor_body(_params_map(vault=[b"\x51", b"\x51"])),
        lambda: _cbor_body(_params_map(paillier={"n": b"\x00" + PAILLIER.n, "v": PAILLIER.v})),
        lambda: _cbor_body(
            _params_map(paillier={"n": (N + 1).to_bytes(40, "big"), "v": PAILLIER.v})
        ),
    ],
    "bad_params": [
        lambda: _cbor_body(_params_map(threshold=2)),
        lambda: _cbor_body(_params_map(threshold=6)),
        lambda: _cbor_body(_params_map(roster=[e.fields_map() for e in reversed(make_roster())])),
        lambda: _cbor_body(
            _params_map(
                roster=[
                    e.fields_map()
                    for e in (*make_roster()[:4], replace(make_roster()[4], key=KEYS[0]))
                ]
            )
        ),
        lambda: _cbor_body(
            _params_map(
                roster=[
                    e.fields_map()
                    for e in (*make_roster()[:4], replace(make_roster()[4], vrf_key=b"\xa0" * 32))
                ]
            )
        ),
        lambda: _cbor_body(
            _params_map(
                roster=[
                    e.fields_map()
                    for e in (*make_roster()[:4], replace(make_roster()[4], vk=b"\x01"))
                ]
            )
        ),
    ],
    "body_hash_mismatch": [lambda: parse(_alloc_content(), body=b"other file")],
    "bad_signature": [
        lambda: _cbor_body(_with(sig=b"\x00" * 64)),
        lambda: _cbor_body(encode_cbor(make_params().to_map()), founder=KEYS[0]),
    ],
}


def test_reason_cases_cover_the_closed_set() -> None:
    assert set(REASON_CASES) == set(QUARANTINE_REASONS)


@pytest.mark.parametrize(
    ("reason", "index"),
    [(r, i) for r, cases in REASON_CASES.items() for i in range(len(cases))],
)
def test_every_quarantine_reason_is_reachable(reason: str, index: int) -> None:
    result = REASON_CASES[reason][index]()
    assert isinstance(result, Quarantine), result
    assert result.reason == reason, result
    assert result.detail


@given(
    st.binary(max_size=300), st.sampled_from(["application/cbor", "application/vnd.apache.parquet"])
)
@settings(max_examples=500)
def test_parse_never_raises_on_arbitrary_bytes(data: bytes, ctype: str) -> None:
    result = parse_message(
        content_type=ctype,
        content_encoding=None,
        metaprotocol="drey/1",
        delegate=None,
        body=data,
        metadata=data,
    )
    assert isinstance(result, Quarantine) and result.reason in QUARANTINE_REASONS


@given(st.data())
@settings(max_examples=300)
def test_parse_never_raises_on_mutated_messages(data: st.DataObject) -> None:
    messages = all_messages()
    message = messages[data.draw(st.integers(0, len(messages) - 1))]
    content = encode_message(message)
    raw = bytearray(content.metadata if isinstance(message, Allocation) else content.body)
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255))
    if isinstance(message, Allocation):
        result = parse(content, metadata=bytes(raw))
    else:
        result = parse(content, body=bytes(raw))
    assert isinstance(result, Quarantine | type(message))
    if isinstance(result, Quarantine):
        assert result.reason in QUARANTINE_REASONS


# --- field formats ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1970-01", True),
        ("2025-12", True),
        ("9999-09", True),
        ("1969-12", False),
        ("2025-13", False),
        ("2025-00", False),
        ("2025-1", False),
        ("2025-01\n", False),
        ("２０２５-01", False),
        ("202５-01", False),
        (202501, False),
    ],
)
def test_month_format(value: object, ok: bool) -> None:
    assert is_month(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("ab" * 32 + "i0", True),
        ("ab" * 32 + "i4294967295", True),
        ("ab" * 32 + "i4294967296", False),
        ("ab" * 32 + "i01", False),
        ("AB" * 32 + "i0", False),
        ("ab" * 31 + "i0", False),
        ("ab" * 32 + "i", False),
        ("ab" * 32 + "i-1", False),
        ("ab" * 32 + "i0\n", False),
    ],
)
def test_inscription_id_format(value: str, ok: bool) -> None:
    assert is_inscription_id(value) is ok


def test_field_element_must_be_below_bn254_order() -> None:
    alloc = next(m for m in all_messages() if isinstance(m, Allocation))
    m = alloc.to_map()
    m["month_root"] = BN254_R.to_bytes(32, "big")
    result = parse(_alloc_content(), metadata=encode_cbor(m))
    assert isinstance(result, Quarantine) and result.reason == "bad_field"


# --- params -------------------------------------------------------------------------------


def test_params_defaults_resolve_and_stay_absent_on_the_wire() -> None:
    params = make_params()
    resolved = params.resolved()
    for name, value in DEFAULTS.items():
        assert getattr(resolved, name) == value
        assert name not in params.to_map()
    explicit = make_params(confirmations=6)
    assert explicit.to_map()["confirmations"] == 6
    assert explicit.serialize() != params.serialize()


def test_threshold_bounds_follow_roster_size() -> None:
    for count in (1, 2, 3, 4, 5):
        roster = make_roster(count)
        for t in range(0, count + 2):
            body = _params_map(roster=[e.fields_map() for e in roster], threshold=t)
            result = _cbor_body(body)
            legal = count // 2 + 1 <= t <= count
            if legal:  # no founder given: the (now stale) sig is not checked
                assert isinstance(result, Params) and result.threshold == t
            else:
                assert isinstance(result, Quarantine) and result.reason in {
                    "bad_params",
                    "bad_field",
                }


def test_params_succession_rules() -> None:
    first = make_params()
    assert check_params_succession(first, earlier=[]) is None
    later = make_params(effective_month="2025-04")
    assert check_params_succession(later, earlier=[first]) is None
    assert check_params_succession(later, earlier=[]).reason == "bad_params"
    assert check_params_succession(first, earlier=[first]).reason == "bad_params"
    assert (
        check_params_succession(make_params(effective_month="2025-01"), earlier=[first]).reason
        == "stale_params"
    )
    assert (
        check_params_succession(
            make_params(effective_month="2025-04"), earlier=[first, later]
        ).reason
        == "stale_params"
    )
    assert (
        check_params_succession(
            make_params(effective_month="2025-05", first_month="2025-02"), earlier=[first]
        ).reason
        == "bad_params"
    )
    assert (
        check_params_succession(
            make_params(effective_month="2025-05", months_depth=20), earlier=[first]
        ).reason
        == "bad_params"
    )
    assert (
        check_params_succession(
            make_params(effective_month="2025-05", months_depth=16), earlier=[first]
        )
        is None
    )
    assert (
        check_params_succession(
            make_params(effective_month="2025-05", vault=(b"\x00\x14" + b"\x22" * 20,)),
            earlier=[first],
        ).reason
        == "bad_params"
    )
    assert (
        check_params_succession(
            make_params(
                effective_month="2025-05", vault=(*first.vault, b"\x00\x14" + b"\x22" * 20)
            ),
            earlier=[first],
        )
        is None
    )
    new_roster = make_roster(4)
    same_key = make_params(effective_month="2025-05", roster=new_roster, threshold=3)
    assert check_params_succession(same_key, earlier=[first]).reason == "bad_params"
    paillier2, n2 = make_paillier(7)
    fresh = make_params(
        effective_month="2025-05",
        roster=make_roster(4, seed=3, n=n2),
        threshold=3,
        paillier=paillier2,
    )
    assert check_params_succession(fresh, earlier=[first]) is None


# --- sizes --------------------------------------------------------------------------------


def test_kem_and_share_sizes() -> None:
    lead = next(m for m in all_messages() if isinstance(m, Lead))
    assert check_kem(lead, paillier=PAILLIER) is None
    for kem in (lead.kem[1:], b"\x00" * L2, (N * N).to_bytes(L2, "big"), N.to_bytes(L2, "big")):
        result = check_kem(replace(lead, kem=kem), paillier=PAILLIER)
        assert result is not None and result.reason == "bad_kem"
    width = z_width(PAILLIER, 5)
    assert width == ((N * N).bit_length() + (120).bit_length() + 385 + 7) // 8
    entry = ShareEntry(INSC, _mod_n2(3), b"\x00" * 32, b"\x01" * width)
    assert check_share_entry(entry, paillier=PAILLIER, roster_size=5) is None
    assert (
        check_share_entry(
            replace(entry, z=b"\x01" * (width + 1)), paillier=PAILLIER, roster_size=5
        ).reason
        == "bad_proof"
    )
    assert (
        check_share_entry(
            replace(entry, share=b"\x00" * L2), paillier=PAILLIER, roster_size=5
        ).reason
        == "bad_share"
    )


def test_shares_entries_are_unique_per_package() -> None:
    shares = next(m for m in all_messages() if isinstance(m, Shares))
    dup = replace(shares, shares=(shares.shares[0], shares.shares[0])).signed(SECRETS[2])
    with pytest.raises(MessageError):
        encode_message(dup)  # producers cannot emit it
    result = parse(_raw(dup))
    assert isinstance(result, Quarantine) and result.reason == "bad_field"


def _raw(message: Any) -> Any:
    from drey.messages import InscriptionContent

    return InscriptionContent(message.CONTENT_TYPE, encode_cbor(message.to_map()), None)


# --- results ------------------------------------------------------------------------------


def _result(actuary_index: int = 0, **changes: Any) -> Result:
    file = b"x" * 1000
    base = Result(
        month=MONTH,
        round=1,
        actuary=KEYS[actuary_index],
        month_root=ROOT,
        n_rows=3,
        months_root=ROOT2,
        proof=Proof("recompute"),
        allocation=AllocationRef(hashlib.sha256(file).digest(), file),
    )
    return replace(base, **changes).signed(SECRETS[actuary_index], aux_rand=AUX)


def test_result_roundtrip_and_checks() -> None:
    lead = next(m for m in all_messages() if isinstance(m, Lead) and m.parts is None)
    good = _result()
    data = good.serialize()
    assert "kind" not in decode_cbor(data)
    assert check_result(data, package=lead) == good
    assert good.proof.is_recompute
    assert check_result(b"\xa0", package=lead).reason == "result_malformed"
    assert check_result(_result(1).serialize(), package=lead).reason == "result_copy"
    forged = replace(good, n_rows=4)  # old sig
    assert check_result(forged.serialize(), package=lead).reason == "result_copy"
    assert (
        check_result(_result(month="2025-04").serialize(), package=lead).reason == "result_mismatch"
    )
    assert check_result(_result(round=2).serialize(), package=lead).reason == "result_mismatch"
    assert (
        check_result(_result(allocation=None).serialize(), package=lead).reason
        == "result_allocation"
    )
    no_bytes = _result(allocation=AllocationRef(b"\x00" * 32))
    assert check_result(no_bytes.serialize(), package=lead).reason == "result_allocation"
    wrong_hash = _result(allocation=AllocationRef(b"\x00" * 32, b"abc"))
    assert check_result(wrong_hash.serialize(), package=lead).reason == "result_allocation"
    big = b"y" * 350_001
    too_big = _result(allocation=AllocationRef(hashlib.sha256(big).digest(), big))
    assert check_result(too_big.serialize(), package=lead).reason == "result_allocation"
    with_parts = replace(lead, parts=2)
    assert check_result(good.serialize(), package=with_parts).reason == "result_allocation"
    assert check_result(no_bytes.serialize(), package=with_parts) == no_bytes
    secondary = Secondary(MONTH, 1, KEYS[1], lead.kem, lead.nonce, lead.ct)
    assert check_result(_result(1).serialize(), package=secondary).reason == "result_allocation"
    plain = _result(1, allocation=None)
    assert check_result(plain.serialize(), package=secondary) == plain
    other = _result(1, allocation=None, proof=Proof("zk", (("vk", b"\x01"),)))
    decoded = check_result(other.serialize(), package=secondary)
    assert isinstance(decoded, Result) and not decoded.proof.is_recompute
    extra = _result(1, allocation=None, proof=Proof("recompute", (("x", 1),)))
    assert not check_result(extra.serialize(), package=secondary).proof.is_recompute
    with_kind = encode_cbor({**plain.to_map(), "kind": "result"})
    assert check_result(with_kind, package=secondary).reason == "result_malformed"


def test_lead_parts_assembly() -> None:
    data = bytes(RNG.getrandbits(8) for _ in range(400_000))
    digest = hashlib.sha256(data).digest()
    parts = {0: data[:150_000], 1: data[150_000:300_000], 2: data[300_000:]}
    assert assemble_lead_file(parts, parts=3, sha256=digest) == data
    assert (
        assemble_lead_file({0: parts[0], 2: parts[2]}, parts=3, sha256=digest).reason
        == "result_allocation"
    )
    assert assemble_lead_file(parts, parts=2**32 - 1, sha256=digest).reason == "result_allocation"
    assert (
        assemble_lead_file({1: parts[0], 0: parts[1], 2: parts[2]}, parts=3, sha256=digest).reason
        == "result_allocation"
    )
    small = {0: b"abc"}
    assert (
        assemble_lead_file(small, parts=1, sha256=hashlib.sha256(b"abc").digest()).reason
        == "result_allocation"
    )


def test_circuit_messages_are_strict_and_the_manifest_needs_the_founder() -> None:
    good = encode_message(circuit_manifest())
    assert parse(good, founder=FOUNDER) == circuit_manifest()
    assert parse(good, founder=KEYS[0]).reason == "bad_signature"
    for path, value in (
        (("beacon", "iterations"), 9),
        (("contributions",), [INSC, INSC]),
        (("ptau", "power"), 29),
        (("months_depth",), 0),
        (("zkey", "parts"), []),
    ):
        fields = circuit_manifest().to_map()
        *inner, last = path
        target = fields
        for key in inner:
            target = target[key]
        target[last] = value
        got = parse(replace(good, body=encode_cbor(fields)), founder=FOUNDER)
        assert isinstance(got, Quarantine) and ".".join(path) in got.detail, (path, got)
    signed = CircuitContribution(KEYS[3], 1, b"\x10" * 32, b"\x11" * 64).signed(SECRETS[3])
    forged = replace(signed, actuary=KEYS[2])  # another actuary's name on KEYS[3]'s signature
    assert parse(encode_message(forged)).reason == "bad_signature"
