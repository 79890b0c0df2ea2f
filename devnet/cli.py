"""``python -m devnet``: create, mine, inscribe, reorg, serve and inspect a devnet.

Exit status: 0 success, 2 bad arguments, 3 data directory busy, 4 block rejected by the kernel,
1 any other devnet error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

from btc.errors import EncodeError
from btc.ord.envelope import Envelope
from devnet.chain import Chain
from devnet.errors import BadArgumentError, BlockRejectedError, DataDirBusyError, DevnetError
from devnet.node.render import Amount, dumps
from devnet.node.zmqpub import TOPICS, NotifierConfig

EXIT_ERROR, EXIT_USAGE, EXIT_BUSY, EXIT_REJECTED = 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


# Long on purpose: the subcommands and their flags, declarations rather than logic.
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m devnet", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {version('drey-warehouse')}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def datadir(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--datadir", required=True, type=Path, help="devnet data directory")

    c = sub.add_parser("create", help="create a devnet (genesis plus optional blocks)")
    datadir(c)
    c.add_argument("--seed", default="devnet", help="seed for keys and nonces (text)")
    c.add_argument(
        "--blocks", type=int, default=101, help="blocks to mine (101: one mature coinbase)"
    )
    c.add_argument("--start-time", type=int, help="timestamp of the first mined block")
    c.add_argument("--interval", type=int, default=600, help="default seconds between blocks")

    m = sub.add_parser("mine", help="mine coinbase-only blocks on the tip")
    datadir(m)
    m.add_argument("-n", "--blocks", type=int, default=1)
    m.add_argument("--times", type=_int_list, help="comma-separated block timestamps")

    i = sub.add_parser("inscribe", help="inscribe one or more envelopes and mine them")
    datadir(i)
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--body", help="body text")
    src.add_argument("--body-file", type=Path, help="body from a file")
    src.add_argument("--no-body", action="store_true", help="an envelope without body")
    i.add_argument("--content-type", default="text/plain;charset=utf-8")
    i.add_argument("--metaprotocol")
    i.add_argument("--metadata-hex", help="metadata (tag 5) as hex, e.g. CBOR")
    i.add_argument("--content-encoding")
    i.add_argument("--parent", action="append", default=[], help="parent inscription id")
    i.add_argument("--delegate")
    i.add_argument("--count", type=int, default=1, help="copies of the envelope in one reveal")
    i.add_argument("--fee-rate", type=float, default=1.0, help="sat/vB")
    i.add_argument("--time", type=int, help="block timestamp")

    r = sub.add_parser("reorg", help="mine a competing branch from a height")
    datadir(r)
    r.add_argument("--from-height", type=int, required=True, help="fork point (stays active)")
    r.add_argument("-n", "--blocks", type=int, help="branch length (default: enough to reorg)")

    s = sub.add_parser("submit", help="submit a raw block (hex), as submitblock does")
    datadir(s)
    src2 = s.add_mutually_exclusive_group(required=True)
    src2.add_argument("--hex", help="block as hex")
    src2.add_argument("--file", type=Path, help="file holding the block as hex or raw bytes")

    n = sub.add_parser("node", help="serve the chain over JSON-RPC, REST and ZMQ")
    datadir(n)
    n.add_argument("--rpc-bind", default="127.0.0.1")
    n.add_argument("--rpc-port", type=int, default=18443)
    n.add_argument("--rpcuser")
    n.add_argument("--rpcpassword")
    n.add_argument("--rest", action="store_true", help="enable the REST interface")
    n.add_argument("--zmq-pub", metavar="ADDRESS", help="publish every topic at ADDRESS")
    for topic in TOPICS:
        n.add_argument(f"--zmqpub{topic}", metavar="ADDRESS", action="append", default=[])
        n.add_argument(f"--zmqpub{topic}hwm", type=int, default=1000, metavar="N")
    n.add_argument("--no-txindex", action="store_true", help="serve as a node without -txindex")
    n.add_argument("--warmup-seconds", type=float, default=0.0, help="answer -28 for this long")
    n.add_argument("--rpcthreads", type=int, default=16)
    n.add_argument("--rpcworkqueue", type=int, default=64)

    sim = sub.add_parser(
        "simulate", help="Drey protocol traffic, honest and hostile, with an answer key"
    )
    datadir(sim)
    sim.add_argument("--months", type=int, default=3, help="allocation months to simulate")
    sim.add_argument("--actuaries", type=int, default=9, help="roster size N")
    sim.add_argument("--users", type=int, default=40, help="customers (plans)")
    sim.add_argument("--seed", default="drey-sim", help="seed for every key, nonce and choice")
    sim.add_argument(
        "--scenarios",
        default="honest",
        help="NAME[@MONTH[.ROUND]],... or 'all' (see docs/simulator.md)",
    )
    sim.add_argument("--blocks-per-month", type=int, default=36)
    sim.add_argument("--first-month", help="YYYY-MM of the first month (default: 2 years ago)")
    sim.add_argument(
        "--paillier-bits",
        type=int,
        default=2048,
        help="threshold Paillier modulus size; smaller (≥ 512) only for tests",
    )
    sim.add_argument("--threshold", type=int, help="t (default ⌊N/2⌋ + 1)")

    f = sub.add_parser("info", help="print the devnet state")
    datadir(f)
    f.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BlockRejectedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except DataDirBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except (
        BadArgumentError,
        EncodeError,
    ) as exc:  # EncodeError: an envelope field that cannot be written
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DevnetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    command = _COMMANDS.get(args.command)
    if command is None:  # pragma: no cover - argparse refuses other names
        raise BadArgumentError(f"unknown command {args.command!r}")
    return command(args)


def _create(args: argparse.Namespace) -> int:
    if args.blocks < 0:
        raise BadArgumentError("--blocks must be ≥ 0")
    with Chain.create(args.datadir, seed=args.seed, block_interval=args.interval) as chain:
        times = None
        if args.start_time is not None and args.blocks:
            times = [args.start_time + k * args.interval for k in range(args.blocks)]
        chain.mine(args.blocks, times=times)
        print(f"created {args.datadir}: height {chain.height}, tip {chain.tip.hash_hex}")
    return 0


def _mine(args: argparse.Namespace) -> int:
    with Chain.open(args.datadir) as chain:
        for block in chain.mine(args.blocks, times=args.times):
            print(block.header.hash_hex)
    return 0


def _inscribe(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise BadArgumentError("--count must be ≥ 1")
    body = (
        None
        if args.no_body
        else args.body.encode()
        if args.body is not None
        else _read(args.body_file)
    )
    try:
        metadata = bytes.fromhex(args.metadata_hex) if args.metadata_hex else None
    except ValueError:
        raise BadArgumentError(f"--metadata-hex is not hex: {args.metadata_hex!r}") from None
    env = Envelope(
        body=body,
        content_type=args.content_type,
        metaprotocol=args.metaprotocol,
        metadata=metadata,
        content_encoding=args.content_encoding,
        parents=tuple(args.parent),
        delegate=args.delegate,
    )
    with Chain.open(args.datadir) as chain:
        cr = chain.inscribe([env] * args.count, fee_rate=args.fee_rate, time=args.time)
        print(f"block {chain.tip.hash_hex} height {chain.height}")
        print(f"commit {cr.commit.txid_hex}")
        print(f"reveal {cr.reveal.txid_hex}")
        for iid in cr.inscription_ids:
            print(f"inscription {iid}")
    return 0


def _reorg(args: argparse.Namespace) -> int:
    with Chain.open(args.datadir) as chain:
        old = chain.tip
        blocks = chain.fork(args.from_height, args.blocks)
        print(f"old tip {old.hash_hex} height {old.height}")
        print(f"new tip {chain.tip.hash_hex} height {chain.height} ({len(blocks)} blocks)")
    return 0


def _submit(args: argparse.Namespace) -> int:
    data = args.hex.encode() if args.hex is not None else _read(args.file)
    try:
        raw = bytes.fromhex(data.decode().strip())
    except (UnicodeDecodeError, ValueError):
        raw = data
    with Chain.open(args.datadir) as chain:
        result = chain.submit_block(raw)
        if result.status == "rejected":
            raise BlockRejectedError(
                result.block_hash[::-1].hex(),
                reason=result.reason,
                debug=result.debug,
                result=result.result,
            )
        print(f"{result.status} {result.block_hash[::-1].hex()} height {chain.height}")
    return 0


def _info(args: argparse.Namespace) -> int:
    with Chain.open(args.datadir) as chain:
        tip = chain.tip
        info = {
            "datadir": str(chain.datadir.root),
            "height": tip.height,
            "bestblockhash": tip.hash_hex,
            "time": tip.time,
            "mediantime": tip.median_time_past,
            "chaintips": len(chain.tips()),
            "wallet_balance": Amount(chain.wallet.balance()),
            "wallet_spendable": Amount(chain.wallet.balance(height=tip.height + 1)),
        }
        if args.json:
            print(dumps(info))
        else:
            for k, v in info.items():
                print(f"{k}: {v.text() if isinstance(v, Amount) else v}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import re

    from devnet.simulate import ScenarioError, SimulationConfig, parse_scenarios, run_simulation

    if args.first_month is not None and not re.fullmatch(
        r"(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])", args.first_month
    ):
        raise BadArgumentError(f"--first-month must be YYYY-MM, got {args.first_month!r}")
    try:
        config = SimulationConfig(
            datadir=args.datadir,
            months=args.months,
            actuaries=args.actuaries,
            users=args.users,
            seed=args.seed,
            scenarios=parse_scenarios(args.scenarios),
            blocks_per_month=args.blocks_per_month,
            first_month=args.first_month,
            paillier_bits=args.paillier_bits,
            threshold=args.threshold,
        )
    except ScenarioError as exc:
        raise BadArgumentError(str(exc)) from None
    report = run_simulation(config, log=lambda msg: print(msg, file=sys.stderr))
    print(
        json.dumps(
            {
                "datadir": str(report.datadir),
                "answer_key": str(report.answer_key),
                "height": report.tip_height,
                "seconds": round(report.seconds, 3),
                "months": dict(report.months),
            }
        )
    )
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadArgumentError(f"cannot read {path}: {exc}") from None


def _serve(args: argparse.Namespace) -> int:
    from devnet.node.server import WARMUP_LOADING, DevNode

    configs = []
    if args.zmq_pub:
        configs += [NotifierConfig(t, args.zmq_pub, getattr(args, f"zmqpub{t}hwm")) for t in TOPICS]
    for t in TOPICS:
        configs += [
            NotifierConfig(t, a, getattr(args, f"zmqpub{t}hwm"))
            for a in getattr(args, f"zmqpub{t}")
        ]
    if (args.rpcuser is None) != (args.rpcpassword is None):
        raise BadArgumentError("--rpcuser and --rpcpassword go together")
    with Chain.open(args.datadir) as chain:
        node = DevNode(
            chain,
            rpc_bind=args.rpc_bind,
            rpc_port=args.rpc_port,
            rpc_user=args.rpcuser,
            rpc_password=args.rpcpassword,
            rest=args.rest,
            zmq=configs,
            txindex=not args.no_txindex,
            warmup=WARMUP_LOADING if args.warmup_seconds > 0 else None,
            rpc_threads=args.rpcthreads,
            rpc_work_queue=args.rpcworkqueue,
        )
        with node:
            if args.warmup_seconds > 0:
                import threading

                timer = threading.Timer(args.warmup_seconds, node.set_warmup, (None,))
                timer.daemon = True
                timer.start()
            print(
                json.dumps(
                    {
                        "rpc": node.url,
                        "rest": node.rest,
                        "zmq": node.zmq_endpoints(),
                        "cookie": str(chain.datadir.cookie_file)
                        if args.rpcpassword is None
                        else None,
                        "height": chain.height,
                    }
                ),
                flush=True,
            )
            node.serve_forever()
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "create": _create,
    "mine": _mine,
    "inscribe": _inscribe,
    "reorg": _reorg,
    "submit": _submit,
    "node": _serve,
    "simulate": _simulate,
    "info": _info,
}
