"""The dev node end to end, read with the follower's clients (indexer.node): RPC, REST, ZMQ.

The ``served`` chain (module fixture) carries a commit/reveal with four envelopes; blocks
fetched over RPC and REST are decoded with ``btc``, the reveal's tapscript is
compared byte for byte, and the project's scanner/decoder (``btc.scan``,
``btc.ord``) must find exactly the envelopes that were written.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from btc import Block, Transaction, hash_to_hex
from btc.ord.envelope import Envelope, reveal_script
from btc.scan import scan_block
from devnet.chain import Chain
from devnet.node.server import WARMUP_LOADING, DevNode
from indexer.node import (
    NodeAuthError,
    RESTBadRequestError,
    RESTClient,
    RESTNotFoundError,
    RESTUnavailableError,
    RPCClient,
    RPCInvalidAddressOrKeyError,
    RPCInvalidParameterError,
    RPCMethodNotFoundError,
    RPCWarmupError,
    WorkQueueFullError,
    ZMQMessage,
)
from indexer.node.errors import RPCMiscError, RPCTypeError

BLOCKCHAININFO_KEYS = [
    "chain", "blocks", "headers", "bestblockhash", "bits", "target", "difficulty", "time",
    "mediantime", "verificationprogress", "initialblockdownload", "chainwork", "size_on_disk",
    "pruned", "warnings",
]  # fmt: skip
HEADER_KEYS = [
    "hash", "confirmations", "height", "version", "versionHex", "merkleroot", "time",
    "mediantime", "nonce", "bits", "target", "difficulty", "chainwork", "nTx",
    "previousblockhash",
]  # fmt: skip
TX_KEYS = ["txid", "hash", "version", "size", "vsize", "weight", "locktime", "vin", "vout"]


def raw_post(
    port: int, body: Any, *, auth: str | None, path: str = "/", method: str = "POST"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request(method, path, data, headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


def reveal_block(served: Any) -> tuple[str, Block]:
    txid = served.inscriptions.reveal.txid_hex
    info = served.rpc.getrawtransaction(txid, 1)
    return info["blockhash"], Block.deserialize(served.rpc.getblock_raw(info["blockhash"]))


def assert_envelopes_match(raw: bytes, served: Any, ord_decoder: Any) -> None:
    """The project's block scanner and inscription decoder find exactly what was written."""
    cr = served.inscriptions
    block = Block.deserialize(raw)
    reveal = next(tx for tx in block.transactions if tx.txid == cr.reveal.txid)
    assert reveal.inputs[0].prevout.txid == cr.commit.txid
    assert reveal.inputs[0].witness[1] == reveal_script(cr.reveal_key.xonly, cr.envelopes)
    scanned = scan_block(raw)
    assert [i.id for i in scanned.inscriptions] == list(cr.inscription_ids)
    assert len(cr.envelopes) == 4
    for env, found in zip(cr.envelopes, scanned.inscriptions, strict=True):
        ord_decoder.assert_same(found.inscription, env)


def drain(served: Any) -> list[ZMQMessage]:
    msgs = served.sub.drain(timeout=0.3)
    # The subscriber connected before the node published anything: every topic counts from 0.
    assert all(m.sequence == 0 for m in msgs if m.first)
    return msgs


def leave_ibd(served: Any) -> None:
    """Mine a block stamped now: the kernel leaves initial block download (hashblock/rawblock
    are not published during IBD, as in bitcoind)."""
    if served.rpc.getblockchaininfo()["initialblockdownload"]:
        served.mine_now()
    drain(served)


# -- RPC -----------------------------------------------------------------------------------------
def test_rpc_chain_reads_and_raw_blocks_decode_to_the_envelopes(
    served: Any, ord_decoder: Any
) -> None:
    rpc, chain = served.rpc, served.chain
    info = rpc.getblockchaininfo()
    assert list(info) == BLOCKCHAININFO_KEYS
    assert info["chain"] == "regtest" and info["blocks"] == chain.height == rpc.getblockcount()
    assert info["bestblockhash"] == rpc.getbestblockhash() == chain.tip.hash_hex
    assert info["bits"] == "207fffff" and info["difficulty"] == Decimal("4.656542373906925E-10")
    assert info["chainwork"] == f"{2 * (chain.height + 1):064x}"
    assert info["size_on_disk"] > sum(r.size for r in chain.records())
    assert rpc.getblockhash(0) == "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"

    blockhash, block = reveal_block(served)
    assert_envelopes_match(block.serialize(), served, ord_decoder)
    header = rpc.getblockheader(blockhash)
    assert list(header)[: len(HEADER_KEYS)] == HEADER_KEYS and "nextblockhash" in header
    assert bytes.fromhex(rpc.getblockheader(blockhash, False)) == block.header.serialize()
    v1 = rpc.getblock(blockhash, 1)
    assert v1["tx"] == [tx.txid_hex for tx in block.transactions]
    assert (v1["size"], v1["nTx"]) == (len(block.serialize()), len(block.transactions))
    v2 = rpc.getblock(blockhash, 2)
    reveal_json = v2["tx"][2]
    assert list(reveal_json)[:9] == TX_KEYS
    assert (
        Transaction.deserialize(bytes.fromhex(reveal_json["hex"])).txid_hex == reveal_json["txid"]
    )
    assert reveal_json["fee"] == Decimal(served.inscriptions.fee) / 10**8
    assert (
        reveal_json["vin"][0]["txinwitness"][1] == block.transactions[2].inputs[0].witness[1].hex()
    )
    assert reveal_json["vout"][0]["scriptPubKey"]["type"] == "witness_v1_taproot"
    assert reveal_json["vout"][0]["scriptPubKey"]["address"].startswith("bcrt1p")
    assert reveal_json["vout"][0]["scriptPubKey"]["desc"].startswith("rawtr(")
    assert "fee" not in v2["tx"][0]  # coinbase
    cb = v2["tx"][0]["vin"][0]
    assert list(cb) == ["coinbase", "txinwitness", "sequence"]
    assert v2["tx"][0]["vout"][-1]["scriptPubKey"]["type"] == "nulldata"
    v3 = rpc.getblock(blockhash, 3)
    prevout = v3["tx"][2]["vin"][0]["prevout"]
    assert prevout["generated"] is False and prevout["height"] == header["height"]
    # getrawtransaction: tx index, explicit block, verbosity levels.
    raw = rpc.getrawtransaction(served.inscriptions.reveal.txid_hex)
    assert Transaction.deserialize(bytes.fromhex(raw)) == served.inscriptions.reveal
    verbose = rpc.getrawtransaction(served.inscriptions.reveal.txid_hex, 1, blockhash)
    assert verbose["in_active_chain"] is True and verbose["blockhash"] == blockhash
    assert verbose["confirmations"] == chain.height - header["height"] + 1
    assert "fee" in rpc.getrawtransaction(served.inscriptions.reveal.txid_hex, 2)
    # Amounts are Core's fixed 8-decimal numbers on the wire.
    status, _, body = raw_post(
        served.port,
        {"method": "getblock", "params": [blockhash, 2], "id": 1},
        auth=served.cookie(),
    )
    assert status == 200 and b'"value":0.00010000,"n":0' in body  # the 10000-sat postage


def test_rpc_error_codes(served: Any) -> None:
    rpc = served.rpc
    with pytest.raises(RPCInvalidAddressOrKeyError, match="Block not found") as e5:
        rpc.getblock("00" * 32)
    assert e5.value.code == -5
    with pytest.raises(RPCInvalidParameterError, match="Block height out of range") as e8:
        rpc.getblockhash(10**6)
    assert e8.value.code == -8
    with pytest.raises(RPCInvalidParameterError, match="must be of length 64"):
        rpc.getblockheader("abc")
    with pytest.raises(RPCInvalidParameterError, match="must be hexadecimal string"):
        rpc.getblock("zz" * 32)
    with pytest.raises(RPCMethodNotFoundError) as e32601:
        rpc.call("nosuchmethod")
    assert e32601.value.code == -32601
    with pytest.raises(RPCMiscError, match="getblockhash height"):
        rpc.call("getblockhash")
    with pytest.raises(RPCTypeError) as e3:
        rpc.call("getblockhash", "1")
    assert e3.value.message == (
        "Wrong type passed:\n{\n"
        '    "Position 1 (height)": "JSON value of type string is not of expected type number"\n}'
    )
    with pytest.raises(
        RPCInvalidAddressOrKeyError, match="No such mempool or blockchain transaction"
    ):
        rpc.getrawtransaction("11" * 32)
    with pytest.raises(RPCInvalidParameterError, match="Unknown named parameter"):
        rpc.call("getblockhash", heigth=1)
    assert rpc.call("getblockhash", height=0) == rpc.getblockhash(0)


def test_jsonrpc_versions_http_status_and_batches(served: Any) -> None:
    port, auth = served.port, served.cookie()
    # 1.0 / no version: result+error+id; errors are HTTP 500, unknown method 404.
    status, headers, body = raw_post(
        port, {"method": "getblockcount", "params": [], "id": "a"}, auth=auth
    )
    reply = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert (
        list(reply) == ["result", "error", "id"] and reply["error"] is None and reply["id"] == "a"
    )
    status, _, body = raw_post(port, {"method": "getblockhash", "params": [-1], "id": 1}, auth=auth)
    assert status == 500 and json.loads(body) == {
        "result": None,
        "error": {"code": -8, "message": "Block height out of range"},
        "id": 1,
    }
    status, _, body = raw_post(port, {"method": "nope", "id": 1}, auth=auth)
    assert status == 404 and json.loads(body)["error"]["code"] == -32601
    # 2.0: HTTP 200 with either result or error; a notification gets 204.
    status, _, body = raw_post(
        port, {"jsonrpc": "2.0", "method": "getblockhash", "params": [-1], "id": 7}, auth=auth
    )
    assert status == 200 and json.loads(body) == {
        "jsonrpc": "2.0",
        "error": {"code": -8, "message": "Block height out of range"},
        "id": 7,
    }
    status, _, body = raw_post(
        port, {"jsonrpc": "2.0", "method": "getblockcount", "id": 8}, auth=auth
    )
    assert list(json.loads(body)) == ["jsonrpc", "result", "id"]
    status, _, body = raw_post(port, {"jsonrpc": "2.0", "method": "getblockcount"}, auth=auth)
    assert (status, body) == (204, b"")
    # Malformed requests.
    status, _, body = raw_post(port, b"{not json", auth=auth)
    assert status == 500 and json.loads(body) == {
        "result": None,
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }
    status, _, body = raw_post(port, {"jsonrpc": "3.0", "method": "x", "id": 1}, auth=auth)
    assert (
        status == 400 and json.loads(body)["error"]["message"] == "JSON-RPC version not supported"
    )
    status, _, body = raw_post(port, {"method": 5, "id": 1}, auth=auth)
    assert status == 400 and json.loads(body)["error"] == {
        "code": -32600,
        "message": "Method must be a string",
    }
    status, _, body = raw_post(port, {}, auth=auth, method="GET")
    assert (status, body) == (405, b"JSONRPC server handles only POST requests")
    # Batches: always HTTP 200, one reply per non-notification, errors inline.
    batch = [
        {"jsonrpc": "2.0", "method": "getblockcount", "id": 1},
        {"jsonrpc": "2.0", "method": "getblockhash", "params": [10**6], "id": 2},
        {"jsonrpc": "2.0", "method": "getblockcount"},
        {"method": "nope", "id": 3},
        "garbage",
    ]
    status, _, body = raw_post(port, batch, auth=auth)
    replies = json.loads(body)
    assert status == 200 and len(replies) == 4
    assert replies[0]["result"] == served.chain.height
    assert replies[1]["error"]["code"] == -8
    assert replies[2] == {
        "result": None,
        "error": {"code": -32601, "message": "Method not found"},
        "id": 3,
    }
    assert replies[3]["error"] == {"code": -32600, "message": "Invalid Request object"}
    status, _, body = raw_post(port, [{"jsonrpc": "2.0", "method": "getblockcount"}], auth=auth)
    assert (status, body) == (204, b"")
    # The client's batch keeps call order and per-call errors.
    out = served.rpc.batch([("getblockhash", [0]), ("getblock", ["00" * 32]), ("getblockcount",)])
    assert [r.ok for r in out] == [True, False, True]
    assert isinstance(out[1].error, RPCInvalidAddressOrKeyError)
    with pytest.raises(RPCInvalidAddressOrKeyError):
        out[1].value()
    legacy = RPCClient(served.url, cookie_file=served.cookie_file, jsonrpc="1.0")
    with pytest.raises(RPCInvalidParameterError):
        legacy.getblockhash(-1)
    assert legacy.getblockcount() == served.chain.height
    legacy.close()


def test_auth_cookie(served: Any) -> None:
    port = served.port
    status, headers, body = raw_post(port, {"method": "getblockcount"}, auth=None)
    assert (status, body) == (401, b"") and headers["www-authenticate"] == 'Basic realm="jsonrpc"'
    start = time.monotonic()
    status, _, _ = raw_post(port, {"method": "getblockcount"}, auth="__cookie__:wrong")
    assert status == 401 and time.monotonic() - start >= 0.25
    text = served.cookie_file.read_text()
    assert text.startswith("__cookie__:") and len(text) == len("__cookie__:") + 64
    assert served.cookie_file.stat().st_mode & 0o777 == 0o600
    with pytest.raises(NodeAuthError):
        RPCClient(served.url, user="__cookie__", password="nope").getblockcount()


def test_dev_node_password_and_cookie_across_restarts(tmp_path: Any) -> None:
    """The dev node's -rpcuser/-rpcpassword and cookie rotation (bitcoind's are exercised by
    the real-Core tier: tests/core)."""
    with Chain.create(tmp_path / "pw") as chain:
        node = DevNode(chain, rpc_port=0, rpc_user="alice", rpc_password="s3cret")
        with node:
            assert not chain.datadir.cookie_file.exists()  # Core: no cookie with -rpcpassword
            assert RPCClient(node.url, user="alice", password="s3cret").getblockcount() == 0
            with pytest.raises(NodeAuthError):
                RPCClient(node.url, user="alice", password="x").getblockcount()
        # Cookie auth survives a node restart: the client re-reads the new cookie after a 401.
        node = DevNode(chain, rpc_port=0)
        node.start()
        client = RPCClient(node.url, cookie_file=chain.datadir.cookie_file)
        assert client.getblockcount() == 0
        first = chain.datadir.cookie_file.read_text()
        port2 = node.port
        node.stop()
        assert not chain.datadir.cookie_file.exists()  # removed at shutdown, like bitcoind
        node = DevNode(chain, rpc_port=port2)
        node.start()
        assert chain.datadir.cookie_file.read_text() != first
        assert client.getblockcount() == 0
        client.close()
        node.stop()


def test_cookie_is_created_fresh_0600_and_never_through_a_link(tmp_path: Any) -> None:
    with Chain.create(tmp_path / "c") as chain:
        path = chain.datadir.cookie_file
        path.parent.mkdir(parents=True, exist_ok=True)
        # A planted world-readable temp file and a symlink at the cookie's name: neither is
        # written through, and the cookie comes out 0600 whatever they were.
        victim = tmp_path / "victim"
        victim.write_text("keep")
        tmp = path.with_name(".cookie.tmp")
        tmp.symlink_to(victim)
        path.symlink_to(victim)
        old_umask = os.umask(0)
        try:
            with DevNode(chain, rpc_port=0) as node:
                assert not path.is_symlink() and path.stat().st_mode & 0o777 == 0o600
                assert path.read_text().startswith("__cookie__:")
                assert victim.read_text() == "keep"
                assert RPCClient(node.url, cookie_file=path).getblockcount() == 0
        finally:
            os.umask(old_umask)


def test_auth_comes_before_the_body_and_bodies_are_bounded(served: Any) -> None:
    port = served.port
    # Without credentials: 401. The dev node answers from the headers, before a byte of the
    # body is read; bitcoind (libevent) reads the whole body first, up to its 32 MiB limit: a
    # documented difference (docs/devnet.md), the dev node being the stricter.
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
    if served.kind == "bitcoind":
        sock.sendall(bytes(2_000_000))
    assert sock.recv(64).startswith(b"HTTP/1.1 401")
    sock.close()
    # A huge one is refused from its headers, before authentication (Core's libevent server).
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n")
    assert sock.recv(64).startswith(b"HTTP/1.1 413")
    sock.close()
    # With credentials, a body over Core's 32 MiB limit is refused before it is read.
    auth = base64.b64encode(served.cookie().encode()).decode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth.encode()
        + b"\r\nContent-Length: 40000000\r\n\r\n"
    )  # fmt: skip
    assert sock.recv(64).startswith(b"HTTP/1.1 413")
    sock.close()
    assert RPCClient(served.url, cookie_file=served.cookie_file).getblockcount() >= 0


def test_an_idle_client_is_dropped(dev_served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dev node only: the handler's timeout is a knob of ours (bitcoind's -rpcservertimeout is
    30 s by default, too long for a test)."""
    from devnet.node import server

    served = dev_served
    monkeypatch.setattr(server._Handler, "timeout", 0.5)
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    start = time.monotonic()
    assert sock.recv(64) == b""  # the server closed the connection
    assert time.monotonic() - start < 4
    sock.close()


def test_warmup_is_minus_28_and_rest_503(dev_served: Any) -> None:
    """Dev node only: it holds warm-up on demand; real Core's -28 while it loads is checked by
    tests/core/test_node_life_core.py."""
    served = dev_served
    rest = RESTClient(served.url)
    served.node.set_warmup(WARMUP_LOADING)
    try:
        with pytest.raises(RPCWarmupError, match="Loading block index") as exc:
            served.rpc.getblockcount()
        assert exc.value.code == -28
        status, _, body = raw_post(
            served.port, {"method": "getblockcount", "id": 1}, auth=served.cookie()
        )
        assert status == 500 and json.loads(body)["error"] == {
            "code": -28,
            "message": WARMUP_LOADING,
        }
        with pytest.raises(
            RESTUnavailableError, match="Service temporarily unavailable: Loading block index"
        ):
            rest.chaininfo()
    finally:
        served.node.set_warmup(None)
    assert served.rpc.getblockcount() == served.chain.height
    rest.close()


def test_work_queue_full_is_http_503(tmp_path: Any) -> None:
    with (
        Chain.create(tmp_path / "wq") as chain,
        DevNode(chain, rpc_port=0, rpc_threads=1, rpc_work_queue=0) as node,
    ):
        waiter = RPCClient(node.url, cookie_file=chain.datadir.cookie_file)
        t = threading.Thread(target=lambda: waiter.call("waitfornewblock", 1500))
        t.start()
        time.sleep(0.3)
        with pytest.raises(WorkQueueFullError, match="Work queue depth exceeded"):
            RPCClient(node.url, cookie_file=chain.datadir.cookie_file).getblockcount()
        t.join()
        assert RPCClient(node.url, cookie_file=chain.datadir.cookie_file).getblockcount() == 0


# -- REST ----------------------------------------------------------------------------------------
def test_rest_endpoints(served: Any, ord_decoder: Any) -> None:
    rest, rpc = RESTClient(served.url), served.rpc
    blockhash, block = reveal_block(served)
    raw = rest.block(blockhash)
    assert (
        raw == bytes.fromhex(rpc.getblock(blockhash, 0)) == bytes.fromhex(rest.block_hex(blockhash))
    )
    assert_envelopes_match(raw, served, ord_decoder)
    height = rpc.getblockheader(blockhash)["height"]
    assert rest.blockhash_by_height(height) == blockhash == rest.blockhash_by_height_hex(height)
    headers = rest.headers(rpc.getblockhash(height - 2), count=3)
    assert [h.hash_hex for h in headers] == [rpc.getblockhash(height + k) for k in (-2, -1, 0)]
    assert rest.headers(rpc.getblockhash(height - 2), count=3, legacy_path=True) == headers
    assert rest.headers("00" * 32, count=3) == []  # unknown block: empty, not an error
    info = rest.chaininfo()
    assert list(info) == BLOCKCHAININFO_KEYS and info["blocks"] == served.chain.height
    notx = rest.block_json(blockhash, tx_details=False)
    assert notx["tx"] == [tx.txid_hex for tx in block.transactions]
    assert "prevout" in rest.block_json(blockhash)["tx"][2]["vin"][0]
    assert (
        Transaction.deserialize(rest.tx(served.inscriptions.reveal.txid_hex))
        == served.inscriptions.reveal
    )
    with pytest.raises(RESTNotFoundError, match="not found"):
        rest.block("00" * 32)
    with pytest.raises(RESTBadRequestError, match="Invalid hash"):
        rest.block("xyz")
    with pytest.raises(RESTNotFoundError, match="Block height out of range"):
        rest.blockhash_by_height(10**6)
    with pytest.raises(RESTBadRequestError, match="Invalid height"):
        rest.get("/rest/blockhashbyheight/-1.bin")
    with pytest.raises(
        RESTBadRequestError,
        match=r"Header count is invalid or out of acceptable range \(1-2000\): 0",
    ):
        rest.headers(blockhash, count=0)
    with pytest.raises(
        RESTNotFoundError, match=r"output format not found \(available: .bin, .hex, .json\)"
    ):
        rest.get(f"/rest/block/{blockhash}")
    with pytest.raises(RESTBadRequestError, match=r"Invalid hash: [0-9a-f]{64}\.xml"):
        rest.get(f"/rest/block/{blockhash}.xml")  # Core keeps an unknown suffix in the hash
    with pytest.raises(RESTNotFoundError, match=r"available: json"):
        rest.get("/rest/chaininfo.bin")
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    conn.request("GET", f"/rest/block/{blockhash}.hex")
    resp = conn.getresponse()
    assert resp.getheader("Content-Type") == "text/plain" and resp.read().endswith(b"\n")
    conn.close()
    rest.close()


# -- ZMQ -----------------------------------------------------------------------------------------
def test_zmq_block_notifications_and_counters(served: Any) -> None:
    leave_ibd(served)
    before = dict(served.sub.tracker.last)
    now = max(int(time.time()), served.chain.tip.median_time_past + 1)
    reveal = served.inscribe_text("zmq", at=now)
    msgs = drain(served)
    tip = served.rpc.getbestblockhash()
    by_topic: dict[str, list[ZMQMessage]] = {}
    for m in msgs:
        by_topic.setdefault(m.topic, []).append(m)
    # Core order: transactions (hashtx/rawtx), then sequence C, then hashblock/rawblock.
    assert [m.topic for m in msgs if m.topic in ("sequence", "hashblock", "rawblock")] == [
        "sequence",
        "hashblock",
        "rawblock",
    ]
    assert [m.hash_hex for m in by_topic["hashtx"]] == [
        served.rpc.getblock(tip)["tx"][i] for i in range(3)
    ]
    assert Transaction.deserialize(by_topic["rawtx"][2].body).txid_hex == reveal
    assert by_topic["sequence"][0].sequence_event().label == "C"
    assert by_topic["sequence"][0].hash_hex == tip
    assert by_topic["hashblock"][0].body.hex() == tip  # display order, as Core sends it
    assert Block.deserialize(by_topic["rawblock"][0].body).header.hash_hex == tip
    # Per-topic counters continue without gaps.
    for topic, items in by_topic.items():
        seqs = [m.sequence for m in items]
        start = before.get(topic, -1) + 1
        assert seqs == list(range(start, start + len(seqs))), topic
        assert all(m.missed == 0 for m in items)
    assert served.rpc.getzmqnotifications() == [
        {"type": f"pub{t}", "address": served.zmq_configured, "hwm": 1000}
        for t in ("hashblock", "hashtx", "rawblock", "rawtx", "sequence")
    ]


def test_reorg_sends_disconnects_then_connects_in_core_order(served: Any) -> None:
    leave_ibd(served)
    rpc = served.rpc
    old_height = rpc.getblockcount()
    old = [rpc.getblockhash(h) for h in range(old_height - 2, old_height + 1)]
    fork_height = old_height - 3
    new = served.reorg(fork_height)
    msgs = drain(served)
    assert len(new) == 4 and rpc.getbestblockhash() == new[-1]
    events = [(m.sequence_event().label, m.hash_hex) for m in msgs if m.topic == "sequence"]
    seq = [(label, h) for label, h in events if label in ("C", "D")]
    assert seq == [("D", h) for h in reversed(old)] + [("C", h) for h in new]
    # bitcoind returns the disconnected blocks' transactions to its mempool (sequence "A");
    # the dev node has no mempool (docs/devnet.md, "Not reproduced").
    mempool = {label for label, _ in events if label not in ("C", "D")}
    assert mempool <= ({"A", "R"} if served.kind == "bitcoind" else set()), mempool
    # hashblock/rawblock: the new tip only.
    assert [m.body.hex() for m in msgs if m.topic == "hashblock"] == [new[-1]]
    assert [Block.deserialize(m.body).header.hash_hex for m in msgs if m.topic == "rawblock"] == [
        new[-1]
    ]
    tips = {t["hash"]: t for t in rpc.getchaintips()}
    assert tips[new[-1]]["status"] == "active" and tips[new[-1]]["branchlen"] == 0
    assert tips[old[-1]] == {
        "height": old_height,
        "hash": old[-1],
        "branchlen": 3,
        "status": "valid-fork",
    }
    assert rpc.getblockheader(old[-1])["confirmations"] == -1


def test_submitblock_results(served: Any) -> None:
    rpc, chain = served.rpc, served.chain
    block = chain.build_block()
    assert rpc.submitblock(block.serialize().hex()) is None
    assert rpc.getbestblockhash() == block.header.hash_hex
    served.catch_up()
    assert rpc.submitblock(block.serialize().hex()) == "duplicate"
    bad = chain.build_block(coinbase_value=10**18 // 10**3)
    assert rpc.submitblock(bad.serialize().hex()) == "bad-cb-amount"
    # A stripped coinbase witness nonce is restored (UpdateUncommittedBlockStructures).
    from dataclasses import replace

    nxt = chain.build_block()
    cb = nxt.transactions[0]
    stripped = Block(nxt.header, (replace(cb, inputs=(replace(cb.inputs[0], witness=()),)),))
    assert rpc.submitblock(stripped.serialize().hex()) is None
    served.catch_up()
    with pytest.raises(Exception, match="Block decode failed") as exc:
        rpc.submitblock("00")
    assert getattr(exc.value, "code", None) == -22
    assert hash_to_hex(chain.tip.hash) == rpc.getbestblockhash()


def test_devnet_controls(dev_served: Any) -> None:
    """Dev node only: the devnet_* RPCs are ours."""
    served = dev_served
    rpc = served.rpc
    h = rpc.getblockcount()
    hashes = rpc.call("devnet_mine", 2)
    assert len(hashes) == 2 and rpc.getblockcount() == h + 2
    info = rpc.call("devnet_info")
    assert info["height"] == h + 2 and info["wallet_balance"] > 0
    res = rpc.call(
        "devnet_inscribe", [{"body_text": "later", "content_type": "text/plain"}], {"mine": False}
    )
    assert res["block"] is None
    with pytest.raises(RPCInvalidAddressOrKeyError):
        rpc.getrawtransaction(res["reveal"])
    rpc.call("devnet_mine")
    assert rpc.getrawtransaction(res["reveal"], 1)["confirmations"] == 1
    with pytest.raises(RPCInvalidParameterError, match="unknown key"):
        rpc.call("devnet_inscribe", [{"bodyy": "x"}])
    assert Envelope  # the RPC builds the same Envelope objects the Python API takes


def test_python_bitcoinrpc_authserviceproxy_interoperates(served: Any) -> None:
    """Clients written for bitcoind (python-bitcoinrpc, JSON-RPC 1.1 requests) work unchanged."""
    from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException

    user, password = served.cookie().split(":", 1)
    proxy = AuthServiceProxy(f"http://{user}:{password}@127.0.0.1:{served.port}/")
    assert proxy.getblockcount() == served.chain.height
    assert proxy.getblockhash(0) == served.rpc.getblockhash(0)
    tip = proxy.getbestblockhash()
    assert proxy.getblock(tip, 2) == served.rpc.getblock(tip, 2)
    with pytest.raises(JSONRPCException) as exc:
        proxy.getblockhash(-1)
    assert exc.value.code == -8
