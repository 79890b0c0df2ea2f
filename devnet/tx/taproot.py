"""Taproot (BIP341/BIP342): leaves, trees, output keys, control blocks and signature hashes.

``taproot_sighash`` implements BIP341's ``SigMsg`` for every hash type (``SIGHASH_DEFAULT``,
``ALL``, ``NONE``, ``SINGLE``, each optionally ``ANYONECANPAY``), for key-path (ext_flag 0) and
tapscript (ext_flag 1, BIP342) spends. Its results are checked against Core's own interpreter
(libbitcoinkernel's script verification) in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from struct import pack

from coincurve import PublicKeyXOnly

from btc import Transaction, TxOut
from btc.compact_size import encode_compact_size
from devnet.errors import BadArgumentError, TxBuildError
from devnet.tx.keys import SECP256K1_N, KeyPair, tagged_hash

TAPSCRIPT_LEAF_VERSION = 0xC0
SIGHASH_DEFAULT = 0x00
SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_ANYONECANPAY = 0x80
_VALID_HASH_TYPES = {0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83}


def tapleaf_hash(script: bytes, leaf_version: int = TAPSCRIPT_LEAF_VERSION) -> bytes:
    return tagged_hash(
        "TapLeaf", bytes((leaf_version,)) + encode_compact_size(len(script)) + script
    )


def tapbranch_hash(a: bytes, b: bytes) -> bytes:
    return tagged_hash("TapBranch", a + b if a < b else b + a)


def p2tr_script(output_key: bytes) -> bytes:
    """``OP_1 <32-byte x-only key>``."""
    if len(output_key) != 32:
        raise BadArgumentError(f"taproot output key must be 32 bytes, got {len(output_key)}")
    return b"\x51\x20" + output_key


def taproot_tweak(internal_key: bytes, merkle_root: bytes | None) -> bytes:
    t = tagged_hash("TapTweak", internal_key + (merkle_root or b""))
    if int.from_bytes(t, "big") >= SECP256K1_N:
        raise TxBuildError("taproot tweak exceeds the curve order")
    return t


def tweak_public_key(internal_key: bytes, merkle_root: bytes | None) -> tuple[bytes, int]:
    """Output key Q = P + t·G as (x-only bytes, parity of Q's y)."""
    pk = PublicKeyXOnly(internal_key)
    pk.tweak_add(taproot_tweak(internal_key, merkle_root))
    return pk.format(), int(pk.parity)


@dataclass(frozen=True, slots=True)
class TapLeaf:
    script: bytes
    leaf_version: int = TAPSCRIPT_LEAF_VERSION

    @property
    def hash(self) -> bytes:
        return tapleaf_hash(self.script, self.leaf_version)


@dataclass(frozen=True, slots=True)
class TaprootOutput:
    """A P2TR output: internal key plus an optional script tree.

    The tree is built by pairing leaves in order, level by level (a balanced tree for a power of
    two; the last odd node is carried up). ``leaves`` empty means a key-path-only output (BIP86
    style, tweak over the key alone).
    """

    internal_key: bytes
    leaves: tuple[TapLeaf, ...] = ()
    _paths: tuple[tuple[bytes, ...], ...] = field(init=False, repr=False, compare=False)
    _root: bytes | None = field(init=False, repr=False, compare=False)
    _output: tuple[bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.internal_key) != 32:
            raise BadArgumentError(f"internal key must be 32 bytes, got {len(self.internal_key)}")
        root, paths = _build_tree([leaf.hash for leaf in self.leaves])
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_paths", paths)
        object.__setattr__(self, "_output", tweak_public_key(self.internal_key, root))

    @property
    def merkle_root(self) -> bytes | None:
        return self._root

    @property
    def output_key(self) -> bytes:
        return self._output[0]

    @property
    def parity(self) -> int:
        return self._output[1]

    @property
    def script_pubkey(self) -> bytes:
        return p2tr_script(self.output_key)

    def merkle_path(self, leaf_index: int) -> tuple[bytes, ...]:
        return self._paths[leaf_index]

    def control_block(self, leaf_index: int) -> bytes:
        """BIP341 control block: (leaf version | parity) ‖ internal key ‖ merkle path."""
        if not 0 <= leaf_index < len(self.leaves):
            raise BadArgumentError(
                f"leaf index {leaf_index} out of range ({len(self.leaves)} leaves)"
            )
        leaf = self.leaves[leaf_index]
        return (
            bytes((leaf.leaf_version | self.parity,))
            + self.internal_key
            + b"".join(self._paths[leaf_index])
        )


def _build_tree(hashes: list[bytes]) -> tuple[bytes | None, tuple[tuple[bytes, ...], ...]]:
    if not hashes:
        return None, ()
    paths: list[list[bytes]] = [[] for _ in hashes]
    # Each node carries the leaf indices below it so sibling hashes can be appended to paths.
    level: list[tuple[bytes, list[int]]] = [(h, [i]) for i, h in enumerate(hashes)]
    while len(level) > 1:
        nxt: list[tuple[bytes, list[int]]] = []
        for i in range(0, len(level) - 1, 2):
            (ha, la), (hb, lb) = level[i], level[i + 1]
            for j in la:
                paths[j].append(hb)
            for j in lb:
                paths[j].append(ha)
            nxt.append((tapbranch_hash(ha, hb), la + lb))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0][0], tuple(tuple(p) for p in paths)


def key_path_keypair(internal: KeyPair, merkle_root: bytes | None) -> KeyPair:
    """The secret that signs for the output key of ``internal`` tweaked by ``merkle_root``."""
    return internal.tweaked(taproot_tweak(internal.xonly, merkle_root))


def taproot_sighash(
    tx: Transaction,
    input_index: int,
    spent_outputs: Sequence[TxOut],
    *,
    hash_type: int = SIGHASH_DEFAULT,
    leaf_hash: bytes | None = None,
    annex: bytes | None = None,
    codesep_pos: int = 0xFFFFFFFF,
) -> bytes:
    """BIP341 signature hash; ``leaf_hash`` given means a BIP342 script-path spend."""
    if hash_type not in _VALID_HASH_TYPES:
        raise BadArgumentError(f"invalid taproot hash type {hash_type:#04x}")
    if len(spent_outputs) != len(tx.inputs):
        raise BadArgumentError(
            f"need one spent output per input: {len(spent_outputs)} for {len(tx.inputs)} inputs"
        )
    if not 0 <= input_index < len(tx.inputs):
        raise BadArgumentError(f"input index {input_index} out of range ({len(tx.inputs)} inputs)")
    out_type = SIGHASH_ALL if hash_type == SIGHASH_DEFAULT else hash_type & 3
    anyone = bool(hash_type & SIGHASH_ANYONECANPAY)
    if out_type == SIGHASH_SINGLE and input_index >= len(tx.outputs):
        raise BadArgumentError(f"SIGHASH_SINGLE input {input_index} has no matching output")
    parts = [bytes((0, hash_type)), pack("<iI", tx.version, tx.locktime)]
    if not anyone:
        parts.append(sha256(b"".join(i.prevout.serialize() for i in tx.inputs)).digest())
        parts.append(sha256(b"".join(pack("<q", o.value) for o in spent_outputs)).digest())
        parts.append(
            sha256(
                b"".join(
                    encode_compact_size(len(o.script_pubkey)) + o.script_pubkey
                    for o in spent_outputs
                )
            ).digest()
        )
        parts.append(sha256(b"".join(pack("<I", i.sequence) for i in tx.inputs)).digest())
    if out_type not in (SIGHASH_NONE, SIGHASH_SINGLE):
        parts.append(sha256(b"".join(o.serialize() for o in tx.outputs)).digest())
    ext_flag = 0 if leaf_hash is None else 1
    parts.append(bytes((ext_flag * 2 + (annex is not None),)))
    if anyone:
        txin = tx.inputs[input_index]
        spent = spent_outputs[input_index]
        parts.append(txin.prevout.serialize())
        parts.append(spent.serialize())
        parts.append(pack("<I", txin.sequence))
    else:
        parts.append(pack("<I", input_index))
    if annex is not None:
        parts.append(sha256(encode_compact_size(len(annex)) + annex).digest())
    if out_type == SIGHASH_SINGLE:
        parts.append(sha256(tx.outputs[input_index].serialize()).digest())
    if leaf_hash is not None:
        parts.append(leaf_hash + b"\x00" + pack("<I", codesep_pos))
    return tagged_hash("TapSighash", b"".join(parts))


def schnorr_signature(key: KeyPair, sighash: bytes, hash_type: int) -> bytes:
    """64-byte signature for SIGHASH_DEFAULT, 65 bytes (hash type appended) otherwise."""
    sig = key.sign(sighash)
    return sig if hash_type == SIGHASH_DEFAULT else sig + bytes((hash_type,))
