"""The dev node's RPC methods: Core's chain-reading calls plus ``devnet_*`` controls.

Parameters are checked as Core's ``RPCHelpMan`` does: too many or missing required arguments is
``RPC_MISC_ERROR`` (-1) with a usage text, a wrong JSON type ``RPC_TYPE_ERROR`` (-3), an
unknown named parameter ``RPC_INVALID_PARAMETER`` (-8). Error codes and messages of the
chain calls are Core's (``Block not found`` -5, ``Block height out of range`` -8, ...).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btc import Block, Transaction
from btc.errors import DecodeError
from btc.hashes import hash_to_hex
from btc.ord.envelope import Envelope
from devnet.errors import BadArgumentError, BlockRejectedError, DevnetError
from devnet.node.render import (
    Amount,
    Double,
    block_to_json,
    difficulty,
    header_hex,
    header_to_json,
    tx_to_json,
)

if TYPE_CHECKING:
    from devnet.node.server import DevNode

from btc.rpc_codes import (
    RPC_DESERIALIZATION_ERROR,
    RPC_IN_WARMUP,
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_METHOD_NOT_FOUND,
    RPC_MISC_ERROR,
    RPC_TYPE_ERROR,
    RPC_VERIFY_ERROR,
)

# Core's RPCArg types, as the usage texts and type errors name them.
_STRING, _NUMBER, _BOOL, _ARRAY, _OBJECT = (
    ("string",),
    ("number",),
    ("bool",),
    ("array",),
    ("object",),
)

CLIENT_VERSION = 300000
SUBVERSION = "/Satoshi:30.0.0(devnet)/"


class JSONRPCError(Exception):
    """An error object the dev node returns for a call (Core's code and message). Not a
    :class:`DevnetError`: it is the reply to a client, and the handlers that turn devnet
    errors into replies must not catch it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def obj(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    types: tuple[str, ...]  # UniValue type names: "number", "string", "bool", "array", "object"
    required: bool = False


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    args: tuple[Arg, ...]
    fn: Callable[..., Any]
    help: str


def _uv_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _hash_param(value: Any, name: str) -> bytes:
    """Core's ``ParseHashV``."""
    if not isinstance(value, str):
        raise JSONRPCError(
            RPC_TYPE_ERROR, f"JSON value of type {_uv_type(value)} is not of expected type string"
        )
    if len(value) != 64:
        raise JSONRPCError(
            RPC_INVALID_PARAMETER, f"{name} must be of length 64 (not {len(value)}, for '{value}')"
        )
    try:
        return bytes.fromhex(value)[::-1]
    except ValueError:
        raise JSONRPCError(
            RPC_INVALID_PARAMETER, f"{name} must be hexadecimal string (not '{value}')"
        ) from None


def _verbosity(value: Any, default: int) -> int:
    """Core's ``ParseVerbosity(allow_bool=true)``."""
    if value is None:
        return default
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value
    raise JSONRPCError(
        RPC_TYPE_ERROR, f"JSON value of type {_uv_type(value)} is not of expected type number"
    )


class Methods:
    """Method table bound to a :class:`DevNode`."""

    # Long on purpose: one registration per RPC method (name, arguments, handler, help text as
    # Core words it), a table rather than logic.
    def __init__(self, node: DevNode) -> None:
        self.node = node
        self.chain = node.chain
        self.table: dict[str, Method] = {}
        self._started = time.time()
        add = self._add
        add(
            "getblockchaininfo",
            (),
            self.getblockchaininfo,
            "Returns an object containing various state info regarding blockchain processing.",
        )
        add(
            "getblockcount",
            (),
            self.getblockcount,
            "Returns the height of the most-work fully-validated chain.",
        )
        add(
            "getbestblockhash",
            (),
            self.getbestblockhash,
            "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
        )
        add(
            "getblockhash",
            (Arg("height", _NUMBER, True),),
            self.getblockhash,
            "Returns hash of block in best-block-chain at height provided.",
        )
        add(
            "getblockheader",
            (Arg("blockhash", _STRING, True), Arg("verbose", _BOOL)),
            self.getblockheader,
            "If verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.",
        )
        add(
            "getblock",
            (Arg("blockhash", _STRING, True), Arg("verbosity", ("number", "bool"))),
            self.getblock,
            "If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.",
        )
        add(
            "getrawtransaction",
            (
                Arg("txid", _STRING, True),
                Arg("verbosity", ("number", "bool")),
                Arg("blockhash", _STRING),
            ),
            self.getrawtransaction,
            "Return the raw transaction data.",
        )
        add(
            "getchaintips",
            (),
            self.getchaintips,
            "Return information about all known tips in the block tree.",
        )
        add(
            "getdifficulty",
            (),
            self.getdifficulty,
            "Returns the proof-of-work difficulty as a multiple of the minimum difficulty.",
        )
        add(
            "getzmqnotifications",
            (),
            self.getzmqnotifications,
            "Returns information about the active ZeroMQ notifications.",
        )
        add(
            "submitblock",
            (Arg("hexdata", _STRING, True), Arg("dummy", _STRING)),
            self.submitblock,
            "Attempts to submit new block to network.",
        )
        add(
            "getnetworkinfo",
            (),
            self.getnetworkinfo,
            "Returns an object containing various state info regarding P2P networking.",
        )
        add(
            "getindexinfo",
            (Arg("index_name", _STRING),),
            self.getindexinfo,
            "Returns the status of one or all available indices currently running in the node.",
        )
        add(
            "waitfornewblock",
            (Arg("timeout", _NUMBER), Arg("current_tip", _STRING)),
            self.waitfornewblock,
            "Waits for any new block and returns useful info about it.",
        )
        add(
            "waitforblock",
            (Arg("blockhash", _STRING, True), Arg("timeout", _NUMBER)),
            self.waitforblock,
            "Waits for a specific new block and returns useful info about it.",
        )
        add(
            "waitforblockheight",
            (Arg("height", _NUMBER, True), Arg("timeout", _NUMBER)),
            self.waitforblockheight,
            "Waits for (at least) block height and returns the height and hash of the current tip.",
        )
        add("uptime", (), self.uptime, "Returns the total uptime of the server.")
        add("stop", (), self.stop, "Request a graceful shutdown of Bitcoin Core.")
        add(
            "help",
            (Arg("command", _STRING),),
            self.help,
            "List all commands, or get help for a specified command.",
        )
        add(
            "devnet_mine",
            (Arg("nblocks", _NUMBER), Arg("times", _ARRAY), Arg("options", _OBJECT)),
            self.devnet_mine,
            "Mine nblocks (default 1) coinbase-only blocks on the tip; times: optional list of block timestamps. Returns the block hashes.",
        )
        add(
            "devnet_inscribe",
            (Arg("envelopes", _ARRAY, True), Arg("options", _OBJECT)),
            self.devnet_inscribe,
            "Inscribe envelopes [{content_type, body_hex|body_text, metaprotocol, metadata_hex, content_encoding, parents, delegate, pointer}] in one commit/reveal; options {fee_rate, postage, mine (default true), time}.",
        )
        add(
            "devnet_reorg",
            (Arg("height", _NUMBER, True), Arg("nblocks", _NUMBER), Arg("times", _ARRAY)),
            self.devnet_reorg,
            "Mine a competing branch on the active block at height (default length: one more block than the active chain has above it, so the node reorganises).",
        )
        add(
            "devnet_info",
            (),
            self.devnet_info,
            "Devnet state: data directory, tip, wallet balance.",
        )

    def _add(self, name: str, args: tuple[Arg, ...], fn: Callable[..., Any], text: str) -> None:
        self.table[name] = Method(name, args, fn, text)

    # -- dispatch ---------------------------------------------------------------------------
    def execute(self, name: str, params: Any) -> Any:
        method = self.table.get(name)
        if method is None:
            raise JSONRPCError(RPC_METHOD_NOT_FOUND, "Method not found")
        if isinstance(params, dict):
            names = [a.name for a in method.args]
            positional: list[Any] = [None] * len(names)
            last = -1
            for key, value in params.items():
                if key not in names:
                    raise JSONRPCError(RPC_INVALID_PARAMETER, f"Unknown named parameter {key}")
                i = names.index(key)
                positional[i] = value
                last = max(last, i)
            args = positional[: last + 1]
        else:
            args = list(params)
        if len(args) > len(method.args) or any(
            a.required and (i >= len(args) or args[i] is None) for i, a in enumerate(method.args)
        ):
            raise JSONRPCError(RPC_MISC_ERROR, self._usage(method))
        # Core's RPCHelpMan::HandleRequest: every mismatch, as a UniValue object written with
        # an indent of 4 (json.dumps(indent=4) writes the same text).
        mismatch = {
            f"Position {i + 1} ({a.name})": f"JSON value of type {_uv_type(v)} is not of "
            f"expected type {a.types[0]}"
            for i, (a, v) in enumerate(zip(method.args, args, strict=False))
            if v is not None and _uv_type(v) not in a.types
        }
        if mismatch:
            raise JSONRPCError(
                RPC_TYPE_ERROR, "Wrong type passed:\n" + json.dumps(mismatch, indent=4)
            )
        args += [None] * (len(method.args) - len(args))
        try:
            return method.fn(*args)
        except BadArgumentError as exc:
            raise JSONRPCError(RPC_INVALID_PARAMETER, str(exc)) from None
        except DevnetError as exc:
            raise JSONRPCError(RPC_MISC_ERROR, str(exc)) from None

    def _usage(self, m: Method) -> str:
        sig = " ".join(a.name if a.required else f"( {a.name} )" for a in m.args)
        return f"{m.name} {sig}".rstrip() + "\n\n" + m.help + "\n"

    # -- Core methods -------------------------------------------------------------------------
    def getblockchaininfo(self) -> dict[str, Any]:
        return self.node.blockchaininfo()

    def getblockcount(self) -> int:
        return self.chain.height

    def getbestblockhash(self) -> str:
        return self.chain.tip.hash_hex

    def getdifficulty(self) -> Double:
        return Double(difficulty(self.chain.tip.header.bits))

    def getblockhash(self, height: Any) -> str:
        if not isinstance(height, int) or isinstance(height, bool):
            # UniValue::getInt throws std::runtime_error, which Core reports as RPC_MISC_ERROR.
            raise JSONRPCError(RPC_MISC_ERROR, "JSON integer out of range")
        if height < 0 or height > self.chain.height:
            raise JSONRPCError(RPC_INVALID_PARAMETER, "Block height out of range")
        return hash_to_hex(self.chain.hash_at(height))

    def getblockheader(self, blockhash: Any, verbose: Any) -> Any:
        h = _hash_param(blockhash, "hash")
        rec = self.chain.record(h)
        if rec is None:
            raise JSONRPCError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
        if verbose is False:
            return header_hex(rec)
        return header_to_json(self.chain, rec)

    def getblock(self, blockhash: Any, verbosity: Any) -> Any:
        h = _hash_param(blockhash, "blockhash")
        level = _verbosity(verbosity, 1)
        rec = self.chain.record(h)
        if rec is None:
            raise JSONRPCError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
        raw = self.chain.read_block(h)
        if level <= 0:
            return raw.hex()
        return block_to_json(self.chain, rec, raw, min(level, 3))

    def getrawtransaction(self, txid: Any, verbosity: Any, blockhash: Any) -> Any:
        h = _hash_param(txid, "parameter 1")
        level = _verbosity(verbosity, 0)
        genesis = Block.deserialize(self.chain.read_block(self.chain.genesis_hash))
        if h == genesis.header.merkle_root:
            raise JSONRPCError(
                RPC_INVALID_ADDRESS_OR_KEY,
                "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved",
            )
        block_rec = None
        if blockhash is not None:
            bh = _hash_param(blockhash, "parameter 3")
            block_rec = self.chain.record(bh)
            if block_rec is None:
                raise JSONRPCError(RPC_INVALID_ADDRESS_OR_KEY, "Block hash not found")
            block = Block.deserialize(self.chain.read_block(bh))
            index = next((i for i, t in enumerate(block.transactions) if t.txid == h), None)
            if index is None:
                raise JSONRPCError(
                    RPC_INVALID_ADDRESS_OR_KEY,
                    "No such transaction found in the provided block. Use gettransaction for wallet transactions.",
                )
            tx: Transaction = block.transactions[index]
            found_in = bh
        else:
            found = self.chain.find_transaction(h) if self.node.txindex else None
            if found is None:
                msg = (
                    "No such mempool or blockchain transaction"
                    if self.node.txindex
                    else "No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries"
                )
                raise JSONRPCError(
                    RPC_INVALID_ADDRESS_OR_KEY,
                    msg + ". Use gettransaction for wallet transactions.",
                )
            tx, found_in = found
        if level <= 0:
            return tx.serialize().hex()
        result: dict[str, Any] = {}
        if block_rec is not None:
            result["in_active_chain"] = self.chain.in_active_chain(block_rec.hash)
        undo = None
        if level >= 2 and not tx.is_coinbase:
            block_undo = self.chain.read_undo(found_in)
            if block_undo is not None:
                block = Block.deserialize(self.chain.read_block(found_in))
                idx = next(i for i, t in enumerate(block.transactions) if t.txid == h)
                undo = block_undo[idx - 1]
        result.update(tx_to_json(tx, undo=undo, prevouts=undo is not None))
        result["blockhash"] = hash_to_hex(found_in)
        rec = self.chain.record(found_in)
        if rec is not None:
            if self.chain.in_active_chain(found_in):
                result["confirmations"] = self.chain.height - rec.height + 1
                result["time"] = rec.time
                result["blocktime"] = rec.time
            else:
                result["confirmations"] = 0
        return result

    def getchaintips(self) -> list[dict[str, Any]]:
        tips = sorted(self.chain.tips(), key=lambda r: (-r.height, r.hash[::-1]))
        out = []
        for rec in tips:
            fork = self.chain.fork_point(rec.hash)
            out.append(
                {
                    "height": rec.height,
                    "hash": rec.hash_hex,
                    "branchlen": rec.height - fork.height,
                    "status": self.chain.status(rec.hash),
                }
            )
        return out

    def getzmqnotifications(self) -> list[dict[str, Any]]:
        return self.node.zmq_notifications()

    def submitblock(self, hexdata: str, _dummy: Any) -> str | None:
        try:
            raw = bytes.fromhex(hexdata)
            block = Block.deserialize(raw)
        except (ValueError, DecodeError):
            raise JSONRPCError(RPC_DESERIALIZATION_ERROR, "Block decode failed") from None
        if not block.transactions or not block.transactions[0].is_coinbase:
            raise JSONRPCError(RPC_DESERIALIZATION_ERROR, "Block does not start with a coinbase")
        block = _add_witness_nonce(block)
        try:
            return self.chain.submit_block(block).bip22
        except BadArgumentError as exc:
            raise JSONRPCError(RPC_DESERIALIZATION_ERROR, str(exc)) from None

    def getnetworkinfo(self) -> dict[str, Any]:
        return {
            "version": CLIENT_VERSION,
            "subversion": SUBVERSION,
            "protocolversion": 70016,
            "localservices": "0000000000000c09",
            "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED", "P2P_V2"],
            "localrelay": False,
            "timeoffset": 0,
            "networkactive": False,
            "connections": 0,
            "connections_in": 0,
            "connections_out": 0,
            "networks": [],
            "relayfee": Amount(1000),
            "incrementalfee": Amount(1000),
            "localaddresses": [],
            "warnings": [],
        }

    def getindexinfo(self, index_name: Any) -> dict[str, Any]:
        if not self.node.txindex or index_name not in (None, "", "txindex"):
            return {}
        return {"txindex": {"synced": True, "best_block_height": self.chain.height}}

    def waitfornewblock(self, timeout: Any, current_tip: Any) -> dict[str, Any]:
        seconds = _timeout(timeout)
        start_tip = _hash_param(current_tip, "current_tip") if current_tip else self.chain.tip.hash
        rec = self.chain.wait_for_tip_change(start_tip, seconds)
        return {"hash": rec.hash_hex, "height": rec.height}

    def waitforblock(self, blockhash: Any, timeout: Any) -> dict[str, Any]:
        h = _hash_param(blockhash, "blockhash")
        self.chain.wait_for(lambda: self.chain.tip.hash == h, _timeout(timeout))
        rec = self.chain.tip
        return {"hash": rec.hash_hex, "height": rec.height}

    def waitforblockheight(self, height: int, timeout: Any) -> dict[str, Any]:
        self.chain.wait_for(lambda: self.chain.height >= height, _timeout(timeout))
        rec = self.chain.tip
        return {"hash": rec.hash_hex, "height": rec.height}

    def uptime(self) -> int:
        return int(time.time() - self._started)

    def stop(self) -> str:
        self.node.request_stop()
        return "Bitcoin Core stopping"

    def help(self, command: Any) -> str:
        if command:
            m = self.table.get(command)
            if m is None:
                return f"help: unknown command: {command}"
            return self._usage(m)
        return "\n".join(self._usage(m).splitlines()[0] for m in self.table.values())

    # -- devnet controls ----------------------------------------------------------------------
    def devnet_mine(self, nblocks: Any, times: Any, options: Any) -> list[str]:
        n = 1 if nblocks is None else nblocks
        if not isinstance(n, int) or n < 0:
            raise JSONRPCError(RPC_INVALID_PARAMETER, "nblocks must be a non-negative integer")
        if times is not None and (len(times) != n or not all(isinstance(t, int) for t in times)):
            raise JSONRPCError(RPC_INVALID_PARAMETER, f"times must list {n} integer timestamps")
        try:
            return self.node.mine(n, times)
        except BlockRejectedError as exc:
            raise JSONRPCError(RPC_VERIFY_ERROR, str(exc)) from None

    def devnet_inscribe(self, envelopes: list[Any], options: Any) -> dict[str, Any]:
        opts = dict(options or {})
        envs = [_envelope_from_json(e, i) for i, e in enumerate(envelopes)]
        unknown = set(opts) - {"fee_rate", "postage", "mine", "time"}
        if unknown:
            raise JSONRPCError(
                RPC_INVALID_PARAMETER, f"unknown option(s): {', '.join(sorted(unknown))}"
            )
        kwargs: dict[str, Any] = {"fee_rate": float(opts.get("fee_rate", 1.0))}
        if "postage" in opts:
            kwargs["postage"] = int(opts["postage"])
        mine = bool(opts.get("mine", True))
        try:
            cr = self.chain.inscribe(envs, mine=mine, time=opts.get("time"), **kwargs)
        except BlockRejectedError as exc:
            raise JSONRPCError(RPC_VERIFY_ERROR, str(exc)) from None
        block = self.chain.tip.hash_hex if mine else None
        if not mine:
            self.node.hold_transactions(cr.transactions)
        return {
            "commit": cr.commit.txid_hex,
            "reveal": cr.reveal.txid_hex,
            "inscriptions": list(cr.inscription_ids),
            "fee": Amount(cr.fee),
            "block": block,
            "hex": [cr.commit.serialize().hex(), cr.reveal.serialize().hex()],
        }

    def devnet_reorg(self, height: Any, nblocks: Any, times: Any) -> dict[str, Any]:
        old_tip = self.chain.tip
        try:
            blocks = self.chain.fork(height, nblocks, times=times)
        except BlockRejectedError as exc:
            raise JSONRPCError(RPC_VERIFY_ERROR, str(exc)) from None
        except BadArgumentError as exc:
            raise JSONRPCError(RPC_INVALID_PARAMETER, str(exc)) from None
        return {
            "fork_height": height,
            "old_tip": old_tip.hash_hex,
            "blocks": [b.header.hash_hex for b in blocks],
            "tip": self.chain.tip.hash_hex,
            "height": self.chain.height,
        }

    def devnet_info(self) -> dict[str, Any]:
        tip = self.chain.tip
        return {
            "datadir": str(self.chain.datadir.root),
            "height": tip.height,
            "bestblockhash": tip.hash_hex,
            "mediantime": tip.median_time_past,
            "wallet_balance": Amount(self.chain.wallet.balance()),
            "wallet_spendable": Amount(self.chain.wallet.balance(height=tip.height + 1)),
            "wallet_script": self.chain.wallet.script_pubkey.hex(),
        }


def _timeout(ms: Any) -> float | None:
    """Core's wait* timeouts: milliseconds, 0 = wait forever, negative = error."""
    if ms is None or ms == 0:
        return None
    if ms < 0:
        raise JSONRPCError(RPC_MISC_ERROR, "Negative timeout")
    return ms / 1000


def _envelope_from_json(obj: Any, i: int) -> Envelope:
    if not isinstance(obj, dict):
        raise JSONRPCError(RPC_INVALID_PARAMETER, f"envelope {i} must be an object")
    allowed = {
        "content_type",
        "body_hex",
        "body_text",
        "metaprotocol",
        "metadata_hex",
        "content_encoding",
        "parents",
        "delegate",
        "pointer",
    }
    unknown = set(obj) - allowed
    if unknown:
        raise JSONRPCError(
            RPC_INVALID_PARAMETER, f"envelope {i}: unknown key(s) {', '.join(sorted(unknown))}"
        )
    try:
        body = (
            bytes.fromhex(obj["body_hex"])
            if "body_hex" in obj
            else obj["body_text"].encode()
            if "body_text" in obj
            else None
        )
        metadata = bytes.fromhex(obj["metadata_hex"]) if "metadata_hex" in obj else None
        return Envelope(
            body=body,
            content_type=obj.get("content_type"),
            metaprotocol=obj.get("metaprotocol"),
            metadata=metadata,
            content_encoding=obj.get("content_encoding"),
            parents=tuple(obj.get("parents", ())),
            delegate=obj.get("delegate"),
            pointer=obj.get("pointer"),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise JSONRPCError(RPC_INVALID_PARAMETER, f"envelope {i}: {exc}") from None


def _add_witness_nonce(block: Block) -> Block:
    """Core's ``UpdateUncommittedBlockStructures``: a coinbase with a witness commitment but no
    witness gets the 32-zero-byte reserved value."""
    from dataclasses import replace

    cb = block.transactions[0]
    has_commitment = any(
        len(o.script_pubkey) >= 38 and o.script_pubkey[:6] == b"\x6a\x24\xaa\x21\xa9\xed"
        for o in cb.outputs
    )
    if not has_commitment or cb.inputs[0].witness:
        return block
    inputs = (replace(cb.inputs[0], witness=(bytes(32),)), *cb.inputs[1:])
    return Block(block.header, (replace(cb, inputs=inputs), *block.transactions[1:]))


__all__ = ["RPC_IN_WARMUP", "JSONRPCError", "Methods"]
