"""Fast block scanning: raw block bytes to envelopes and vault activity.

A full object parse of every transaction costs ~10× more than the data we keep. The scanner
instead walks each transaction by offsets, reads only lengths, and fully decodes a witness item
only when it is the input's tapscript candidate and contains the bytes ``ord`` (an envelope needs
a push of ``ord``, so the filter is exact). Txids are hashed only for transactions that carry an
envelope or touch a vault.

Limits: the caller must pass every vault outpoint still unspent before this block; outputs created
and spent inside the block are handled here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from struct import unpack_from

from btc.block import HEADER_SIZE, BlockHeader
from btc.compact_size import read_compact_size
from btc.errors import MalformedBlockError, TrailingBytesError, TruncatedError
from btc.hashes import hash_to_hex, sha256d
from btc.ord.envelope import envelopes_from_tapscript
from btc.ord.inscription import Inscription

_ORD = b"ord"


@dataclass(frozen=True, slots=True)
class FoundInscription:
    """An inscription with its place in the block. ``number`` is n in ``<txid>i<n>``."""

    tx_index: int
    txid: str
    number: int
    first_input_prevout: str
    inscription: Inscription

    @property
    def id(self) -> str:
        return f"{self.txid}i{self.number}"


@dataclass(frozen=True, slots=True)
class VaultOutput:
    tx_index: int
    txid: str
    vout: int
    value: int
    script_pubkey: bytes


@dataclass(frozen=True, slots=True)
class VaultSpend:
    tx_index: int
    txid: str
    input: int
    spent_txid: str
    spent_vout: int


@dataclass(frozen=True, slots=True)
class ScannedBlock:
    header: BlockHeader
    hash: str
    tx_count: int
    size: int
    weight: int
    inscriptions: tuple[FoundInscription, ...]
    vault_outputs: tuple[VaultOutput, ...]
    vault_spends: tuple[VaultSpend, ...]


def scan_block(
    raw: bytes,
    *,
    find_inscriptions: bool = True,
    vault_scripts: Collection[bytes] = (),
    vault_outpoints: Collection[bytes] = (),
) -> ScannedBlock:
    """Scan one serialized block.

    ``vault_outpoints`` holds 36-byte serialized outpoints (txid internal order ‖ vout LE) of vault
    outputs unspent before this block. Raises :class:`~indexer.errors.DecodeError` subclasses on
    malformed bytes. It does not check that the bytes are the block the header commits to:
    :func:`btc.verify.verify_block` does (the follower runs it on its fetch
    threads, in parallel with scanning).
    """
    raw = bytes(raw)
    try:
        return _scan(raw, find_inscriptions, frozenset(vault_scripts), set(vault_outpoints))
    except IndexError:
        # Hot loops index without bounds checks; running off the end means truncation.
        raise TruncatedError("block ends inside a transaction", offset=len(raw)) from None


# Long on purpose: this is the decoder's hot loop (every input, output and witness item of
# every transaction of every block; bench/decode.py), kept in one frame so that its state stays
# in local variables and no Python call is paid per item. Its parts are marked below:
# inputs, outputs, witnesses, then the rows of a transaction that has any.
def _scan(
    raw: bytes,
    find_inscriptions: bool,
    watch_scripts: frozenset[bytes],
    watch_outpoints: set[bytes],
) -> ScannedBlock:
    header = BlockHeader.deserialize(raw)
    tx_count, pos = read_compact_size(raw, HEADER_SIZE)
    end = len(raw)
    stripped_size = pos  # header + count; grows by each transaction's non-witness bytes
    watch_spends = bool(watch_outpoints) or bool(watch_scripts)
    inscriptions: list[FoundInscription] = []
    outputs: list[VaultOutput] = []
    spends: list[VaultSpend] = []

    for tx_index in range(tx_count):
        start = pos
        if pos + 10 > end:
            raise TruncatedError(f"truncated transaction {tx_index}", offset=pos)
        pos += 4
        segwit = raw[pos] == 0
        if segwit:
            if raw[pos + 1] != 1:
                raise MalformedBlockError(
                    f"transaction {tx_index}: unknown flags {raw[pos + 1]:#x}", offset=pos + 1
                )
            pos += 2
        n_in = raw[pos]
        if n_in < 0xFD:
            pos += 1
        else:
            n_in, pos = read_compact_size(raw, pos)
        # Inputs: note the ones spending a watched vault outpoint.
        inputs_start = pos
        spent_here: list[tuple[int, bytes]] = []
        for i in range(n_in):
            if watch_spends and raw[pos : pos + 36] in watch_outpoints:
                spent_here.append((i, raw[pos : pos + 36]))
            pos += 36
            n = raw[pos]
            if n < 0xFD:
                pos += 1 + n + 4
            else:
                n, pos = read_compact_size(raw, pos)
                pos += n + 4
        n_out = raw[pos]
        if n_out < 0xFD:
            pos += 1
        else:
            n_out, pos = read_compact_size(raw, pos)
        # Outputs: note the ones paying a watched vault script.
        paid: list[tuple[int, int, bytes]] = []
        for vout in range(n_out):
            n = raw[pos + 8]
            if n < 0xFD:
                script_start = pos + 9
            else:
                n, script_start = read_compact_size(raw, pos + 8)
            if watch_scripts:
                script = raw[script_start : script_start + n]
                if script in watch_scripts:
                    paid.append((vout, unpack_from("<q", raw, pos)[0], script))
            pos = script_start + n
        # Witnesses: the tapscript of each script-path spend that holds an ord envelope.
        witness_start = pos
        candidates: list[tuple[int, int, int]] = []
        if segwit:
            items = 0
            for i in range(n_in):
                count = raw[pos]
                if count < 0xFD:
                    pos += 1
                else:
                    count, pos = read_compact_size(raw, pos)
                items += count
                # Keep the last three items' (start, length): the tapscript is item n-2 or n-3.
                s1 = s2 = s3 = l1 = l2 = l3 = 0
                for _ in range(count):
                    n = raw[pos]
                    if n < 0xFD:
                        pos += 1
                    else:
                        n, pos = read_compact_size(raw, pos)
                    s3, l3, s2, l2, s1, l1 = s2, l2, s1, l1, pos, n
                    pos += n
                if count < 2 or (tx_index == 0) or not find_inscriptions:
                    continue
                if l1 and raw[s1] == 0x50:
                    if count < 3:
                        continue
                    s, length = s3, l3
                else:
                    s, length = s2, l2
                if raw.find(_ORD, s, s + length) != -1:
                    candidates.append((i, s, length))
            if not items:
                # Core refuses a witness flag with every stack empty ("Superfluous witness
                # record"): the txid would not commit to the serialization.
                raise MalformedBlockError(
                    f"transaction {tx_index}: witness flag but no witness items",
                    offset=witness_start,
                )
        pos += 4
        if pos > end:
            raise TruncatedError(f"truncated transaction {tx_index}", offset=start)
        witness_len = pos - 4 - witness_start if segwit else 0
        stripped_size += pos - start - witness_len - (2 if segwit else 0)

        # Only a transaction with envelopes or vault moves pays for its txid and rows.
        if not (candidates or paid or spent_here):
            continue
        if segwit:
            txid_raw = sha256d(
                raw[start : start + 4] + raw[start + 6 : witness_start] + raw[pos - 4 : pos]
            )
        else:
            txid_raw = sha256d(raw[start:pos])
        txid = hash_to_hex(txid_raw)
        number = 0
        for input_index, s, length in candidates:
            for envelope in envelopes_from_tapscript(raw[s : s + length], input_index):
                first_prevout = f"{hash_to_hex(raw[inputs_start : inputs_start + 32])}:{unpack_from('<I', raw, inputs_start + 32)[0]}"
                inscriptions.append(
                    FoundInscription(
                        tx_index, txid, number, first_prevout, Inscription.from_envelope(envelope)
                    )
                )
                number += 1
        for input_index, outpoint in spent_here:
            watch_outpoints.discard(outpoint)
            spends.append(
                VaultSpend(
                    tx_index,
                    txid,
                    input_index,
                    hash_to_hex(outpoint[:32]),
                    unpack_from("<I", outpoint, 32)[0],
                )
            )
        for vout, value, script in paid:
            outputs.append(VaultOutput(tx_index, txid, vout, value, script))
            watch_outpoints.add(txid_raw + vout.to_bytes(4, "little"))

    if pos != end:
        if pos > end:
            raise TruncatedError("block ends inside its last transaction", offset=end)
        raise TrailingBytesError(f"{end - pos} bytes after the last transaction", offset=pos)
    return ScannedBlock(
        header=header,
        hash=header.hash_hex,
        tx_count=tx_count,
        size=end,
        weight=stripped_size * 3 + end,
        inscriptions=tuple(inscriptions),
        vault_outputs=tuple(outputs),
        vault_spends=tuple(spends),
    )


def outpoint_key(txid_hex: str, vout: int) -> bytes:
    """The 36-byte serialized outpoint used in ``vault_outpoints``."""
    return bytes.fromhex(txid_hex)[::-1] + vout.to_bytes(4, "little")


def outpoint_keys(pairs: Iterable[tuple[str, int]]) -> set[bytes]:
    return {outpoint_key(txid, vout) for txid, vout in pairs}
