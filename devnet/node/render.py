"""Bitcoin Core's JSON renderings (``blockheaderToJSON``, ``blockToJSON``, ``TxToUniv``,
``ScriptToUniv``) and its UniValue writer, so the dev node's replies have Core's keys, key
order and number formats (amounts as ``50.00000000``, doubles with 16 significant digits).

Shapes follow Bitcoin Core 30 (``target`` in headers and ``getblockchaininfo`` since 29; no
``coinbase_tx``, which v31 adds). Descriptors are what ``InferDescriptor`` prints without
wallet data: ``rawtr(<key>)`` for P2TR, ``pk``/``multi`` for bare keys, ``raw`` for
OP_RETURN/non-standard, ``addr`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coincurve import PublicKey, PublicKeyXOnly

from btc import Block, Transaction
from btc.errors import TruncatedPushError
from btc.hashes import hash_to_hex
from btc.script import iter_instructions
from devnet.node.encoding import encode_base58check, encode_segwit_address, with_checksum

if TYPE_CHECKING:
    from devnet.chain import BlockRecord, Chain, SpentCoin

REGTEST_HRP = "bcrt"
REGTEST_P2PKH = 111
REGTEST_P2SH = 196


@dataclass(frozen=True, slots=True)
class Amount:
    """Satoshis, written as Core's ``ValueFromAmount`` (``%d.%08d``)."""

    sats: int

    def text(self) -> str:
        sign = "-" if self.sats < 0 else ""
        q, r = divmod(abs(self.sats), 100_000_000)
        return f"{sign}{q}.{r:08d}"


@dataclass(frozen=True, slots=True)
class Double:
    """A double written as UniValue does (``std::setprecision(16)``)."""

    value: float

    def text(self) -> str:
        return f"{self.value:.16g}"


def dumps(value: Any) -> str:
    """Compact JSON as UniValue's ``write()`` produces it."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(v: Any, out: list[str]) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, (Amount, Double)):
        out.append(v.text())
    elif isinstance(v, float):
        out.append(Double(v).text())
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, dict):
        out.append("{")
        first = True
        for key, item in v.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(v).__name__} as JSON")


# -- scripts ------------------------------------------------------------------------------------
_OPNAMES: dict[int, str] = {
    0x00: "0",
    0x4C: "OP_PUSHDATA1",
    0x4D: "OP_PUSHDATA2",
    0x4E: "OP_PUSHDATA4",
    0x4F: "-1",
    0x50: "OP_RESERVED",
}
_OPNAMES.update({0x50 + n: str(n) for n in range(1, 17)})
for _code, _name in enumerate(
    [
        "NOP",
        "VER",
        "IF",
        "NOTIF",
        "VERIF",
        "VERNOTIF",
        "ELSE",
        "ENDIF",
        "VERIFY",
        "RETURN",
        "TOALTSTACK",
        "FROMALTSTACK",
        "2DROP",
        "2DUP",
        "3DUP",
        "2OVER",
        "2ROT",
        "2SWAP",
        "IFDUP",
        "DEPTH",
        "DROP",
        "DUP",
        "NIP",
        "OVER",
        "PICK",
        "ROLL",
        "ROT",
        "SWAP",
        "TUCK",
        "CAT",
        "SUBSTR",
        "LEFT",
        "RIGHT",
        "SIZE",
        "INVERT",
        "AND",
        "OR",
        "XOR",
        "EQUAL",
        "EQUALVERIFY",
        "RESERVED1",
        "RESERVED2",
        "1ADD",
        "1SUB",
        "2MUL",
        "2DIV",
        "NEGATE",
        "ABS",
        "NOT",
        "0NOTEQUAL",
        "ADD",
        "SUB",
        "MUL",
        "DIV",
        "MOD",
        "LSHIFT",
        "RSHIFT",
        "BOOLAND",
        "BOOLOR",
        "NUMEQUAL",
        "NUMEQUALVERIFY",
        "NUMNOTEQUAL",
        "LESSTHAN",
        "GREATERTHAN",
        "LESSTHANOREQUAL",
        "GREATERTHANOREQUAL",
        "MIN",
        "MAX",
        "WITHIN",
        "RIPEMD160",
        "SHA1",
        "SHA256",
        "HASH160",
        "HASH256",
        "CODESEPARATOR",
        "CHECKSIG",
        "CHECKSIGVERIFY",
        "CHECKMULTISIG",
        "CHECKMULTISIGVERIFY",
        "NOP1",
        "CHECKLOCKTIMEVERIFY",
        "CHECKSEQUENCEVERIFY",
        "NOP4",
        "NOP5",
        "NOP6",
        "NOP7",
        "NOP8",
        "NOP9",
        "NOP10",
        "CHECKSIGADD",
    ],
    start=0x61,
):
    _OPNAMES[_code] = "OP_" + _name
_OPNAMES[0xFF] = "OP_INVALIDOPCODE"


def _script_num(data: bytes) -> int:
    if not data:
        return 0
    v = int.from_bytes(data, "little")
    if data[-1] & 0x80:
        return -(v & ~(0x80 << (8 * (len(data) - 1))))
    return v


def script_asm(script: bytes) -> str:
    """Core's ``ScriptToAsmStr`` (without signature-hash decoding)."""
    words: list[str] = []
    try:
        for op, data in iter_instructions(script):
            if data is not None:
                words.append(str(_script_num(data)) if len(data) <= 4 else data.hex())
            else:
                words.append(_OPNAMES.get(op, "OP_UNKNOWN"))
    except TruncatedPushError:
        words.append("[error]")
    return " ".join(words)


def _valid_pubkey(data: bytes) -> bool:
    try:
        PublicKey(data)
    except ValueError:
        return False
    return True


def _push_only(script: bytes) -> bool:
    try:
        return all(op <= 0x60 for op, _ in iter_instructions(script))
    except TruncatedPushError:
        return False


def solve(script: bytes) -> tuple[str, str | None, str]:
    """(Core's output type, address or None, descriptor without checksum)."""
    n = len(script)
    hx = script.hex()
    if n == 23 and script[0] == 0xA9 and script[1] == 0x14 and script[22] == 0x87:
        addr = encode_base58check(bytes((REGTEST_P2SH,)) + script[2:22])
        return "scripthash", addr, f"addr({addr})"
    if 4 <= n <= 42 and (script[0] == 0 or 0x51 <= script[0] <= 0x60) and script[1] + 2 == n:
        version = 0 if script[0] == 0 else script[0] - 0x50
        program = script[2:]
        addr = encode_segwit_address(REGTEST_HRP, version, program)
        if version == 0 and len(program) == 20:
            return "witness_v0_keyhash", addr, f"addr({addr})"
        if version == 0 and len(program) == 32:
            return "witness_v0_scripthash", addr, f"addr({addr})"
        if version == 1 and len(program) == 32:
            try:
                PublicKeyXOnly(program)
            except ValueError:
                return "witness_v1_taproot", addr, f"addr({addr})"
            return "witness_v1_taproot", addr, f"rawtr({program.hex()})"
        if version == 1 and program == b"\x4e\x73":
            return "anchor", addr, f"addr({addr})"
        if version != 0:
            return "witness_unknown", addr, f"addr({addr})"
        return "nonstandard", None, f"raw({hx})"
    if n >= 1 and script[0] == 0x6A and _push_only(script[1:]):
        return "nulldata", None, f"raw({hx})"
    if n in (35, 67) and script[0] == n - 2 and script[-1] == 0xAC and _valid_pubkey(script[1:-1]):
        return "pubkey", None, f"pk({script[1:-1].hex()})"
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        addr = encode_base58check(bytes((REGTEST_P2PKH,)) + script[3:23])
        return "pubkeyhash", addr, f"addr({addr})"
    multi = _multisig(script)
    if multi is not None:
        m, keys = multi
        return "multisig", None, f"multi({m},{','.join(k.hex() for k in keys)})"
    return "nonstandard", None, f"raw({hx})"


def _multisig(script: bytes) -> tuple[int, list[bytes]] | None:
    try:
        ops = list(iter_instructions(script))
    except TruncatedPushError:
        return None
    if len(ops) < 4 or ops[-1][0] != 0xAE:
        return None
    m_op, n_op = ops[0][0], ops[-2][0]
    if not (0x51 <= m_op <= 0x60 and 0x51 <= n_op <= 0x60):
        return None
    keys = [d for _, d in ops[1:-2]]
    if any(d is None or len(d) not in (33, 65) or not _valid_pubkey(d) for d in keys):
        return None
    m, n = m_op - 0x50, n_op - 0x50
    if len(keys) != n or m > n:
        return None
    return m, [k for k in keys if k is not None]


def script_to_json(script: bytes) -> dict[str, Any]:
    """Core's ``ScriptToUniv(script, include_hex=true, include_address=true)``."""
    kind, addr, desc = solve(script)
    out: dict[str, Any] = {
        "asm": script_asm(script),
        "desc": with_checksum(desc),
        "hex": script.hex(),
    }
    if addr is not None:
        out["address"] = addr
    out["type"] = kind
    return out


# -- transactions and blocks ---------------------------------------------------------------------
def tx_to_json(
    tx: Transaction,
    *,
    undo: Sequence[SpentCoin] | None = None,
    prevouts: bool = False,
    include_hex: bool = True,
) -> dict[str, Any]:
    """Core's ``TxToUniv``; ``undo`` (spent coins) adds ``fee`` and, with ``prevouts``, each
    input's ``prevout`` (verbosity 3)."""
    out: dict[str, Any] = {
        "txid": tx.txid_hex,
        "hash": hash_to_hex(tx.wtxid),
        "version": tx.version,
        "size": tx.size,
        "vsize": tx.vsize,
        "weight": tx.weight,
        "locktime": tx.locktime,
    }
    vin = []
    value_in = 0
    for i, txin in enumerate(tx.inputs):
        item: dict[str, Any] = {}
        if tx.is_coinbase:
            item["coinbase"] = txin.script_sig.hex()
        else:
            item["txid"] = hash_to_hex(txin.prevout.txid)
            item["vout"] = txin.prevout.vout
            item["scriptSig"] = {"asm": script_asm(txin.script_sig), "hex": txin.script_sig.hex()}
        if txin.witness:
            item["txinwitness"] = [w.hex() for w in txin.witness]
        if undo is not None:
            coin = undo[i]
            value_in += coin.value
            if prevouts:
                item["prevout"] = {
                    "generated": coin.coinbase,
                    "height": coin.height,
                    "value": Amount(coin.value),
                    "scriptPubKey": script_to_json(coin.script_pubkey),
                }
        item["sequence"] = txin.sequence
        vin.append(item)
    out["vin"] = vin
    out["vout"] = [
        {"value": Amount(o.value), "n": n, "scriptPubKey": script_to_json(o.script_pubkey)}
        for n, o in enumerate(tx.outputs)
    ]
    if undo is not None:
        out["fee"] = Amount(value_in - sum(o.value for o in tx.outputs))
    if include_hex:
        out["hex"] = tx.serialize().hex()
    return out


def difficulty(bits: int) -> float:
    """Core's ``GetDifficulty``."""
    shift = (bits >> 24) & 0xFF
    diff = 0x0000FFFF / (bits & 0x00FFFFFF)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


def target_hex(bits: int) -> str:
    from btc import BlockHeader

    return f"{BlockHeader(0, bytes(32), bytes(32), 0, bits, 0).target:064x}"


def header_to_json(chain: Chain, rec: BlockRecord) -> dict[str, Any]:
    """Core's ``blockheaderToJSON``."""
    h = rec.header
    active = chain.in_active_chain(rec.hash)
    out: dict[str, Any] = {
        "hash": rec.hash_hex,
        "confirmations": chain.height - rec.height + 1 if active else -1,
        "height": rec.height,
        "version": h.version,
        "versionHex": f"{h.version & 0xFFFFFFFF:08x}",
        "merkleroot": hash_to_hex(h.merkle_root),
        "time": h.time,
        "mediantime": rec.median_time_past,
        "nonce": h.nonce,
        "bits": f"{h.bits:08x}",
        "target": target_hex(h.bits),
        "difficulty": Double(difficulty(h.bits)),
        "chainwork": f"{rec.chainwork:064x}",
        "nTx": rec.n_tx,
    }
    if rec.height > 0:
        out["previousblockhash"] = hash_to_hex(h.prev_hash)
    nxt = chain.next_in_active_chain(rec.hash)
    if nxt is not None:
        out["nextblockhash"] = hash_to_hex(nxt)
    return out


def block_to_json(chain: Chain, rec: BlockRecord, raw: bytes, verbosity: int) -> dict[str, Any]:
    """Core's ``blockToJSON`` for verbosity 1 (txids), 2 (transactions, ``fee`` when undo data
    exists) and 3 (plus each input's ``prevout``)."""
    block = Block.deserialize(raw)
    out = header_to_json(chain, rec)
    out["strippedsize"] = rec.stripped_size
    out["size"] = rec.size
    out["weight"] = rec.weight
    if verbosity <= 1:
        out["tx"] = [tx.txid_hex for tx in block.transactions]
        return out
    undo = chain.read_undo(rec.hash)
    txs = []
    for i, tx in enumerate(block.transactions):
        coins = undo[i - 1] if undo is not None and i > 0 else None
        txs.append(tx_to_json(tx, undo=coins, prevouts=verbosity >= 3))
    out["tx"] = txs
    return out


def header_hex(rec: BlockRecord) -> str:
    return rec.header.serialize().hex()
