"""The ``indexer`` command line."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from btc.commitments import verify_block
from btc.errors import DecodeError
from btc.ord.inscription import Inscription
from btc.ord.transaction import inscriptions_in_transaction
from btc.scan import scan_block
from btc.transaction import Transaction
from indexer.errors import ConfigError, IndexerError
from indexer.follow.cli import add_subcommands as add_follow_subcommands
from indexer.networks import NETWORKS, bip34_height, first_inscription_height
from indexer.shards import tables_for_blocks, write_shard

_HEX = re.compile(r"[0-9a-fA-F]+")
_HEX_BYTES = re.compile(rb"[0-9a-fA-F]+")


def inscription_json(txid: str, number: int, insc: Inscription) -> dict[str, object]:
    """The CLI's JSON object for one inscription (keys fixed by the CLI contract)."""
    body = insc.body
    delegate = insc.delegate
    return {
        "id": f"{txid}i{number}",
        "txid": txid,
        "input": insc.input,
        "offset": insc.offset,
        "content_type": insc.content_type,
        "content_encoding": insc.content_encoding,
        "metaprotocol": insc.metaprotocol,
        "pointer": insc.pointer,
        "parents": [str(parent) for parent in insc.parents],
        "delegate": None if delegate is None else str(delegate),
        "metadata_hex": None if insc.metadata is None else insc.metadata.hex(),
        "body_len": None if body is None else len(body),
        "body_sha256": None if body is None else hashlib.sha256(body).hexdigest(),
        "flags": list(insc.flags),
    }


def read_bytes_arg(value: str) -> bytes:
    """Hex text itself, or a path to a file holding hex or raw bytes."""
    text = value.strip()
    if len(text) % 2 == 0 and _HEX.fullmatch(text):
        return bytes.fromhex(text)
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{value[:80]!r} is neither an existing file nor hex")
    data = path.read_bytes()
    stripped = data.strip()
    if len(stripped) % 2 == 0 and _HEX_BYTES.fullmatch(stripped):
        return bytes.fromhex(stripped.decode("ascii"))
    return data


def cmd_decode_tx(args: argparse.Namespace) -> int:
    tx = Transaction.deserialize(read_bytes_arg(args.tx))
    txid = tx.txid_hex
    for number, insc in enumerate(inscriptions_in_transaction(tx)):
        print(json.dumps(inscription_json(txid, number, insc)))
    return 0


def cmd_decode_block(args: argparse.Namespace) -> int:
    raw = read_bytes_arg(args.block)
    height = args.height
    if height is None:
        height = bip34_height(raw)
        if height is None:
            raise ConfigError("block has no BIP34 height in its coinbase; pass --height")
    if not args.no_verify:
        verify_block(raw)  # altered bytes: exit 2 naming the failed commitment
    scanned = scan_block(raw, find_inscriptions=height >= first_inscription_height(args.network))
    if args.out is not None:
        paths = write_shard(
            tables_for_blocks([(height, scanned)]), Path(args.out), name=f"{height:09d}"
        )
        print(
            json.dumps(
                {
                    "height": height,
                    "hash": scanned.hash,
                    "files": {k: str(v) for k, v in paths.items()},
                }
            )
        )
        return 0
    for found in scanned.inscriptions:
        print(json.dumps(inscription_json(found.txid, found.number, found.inscription)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="indexer", description="Drey chain indexer")
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version('drey-warehouse')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("decode-tx", help="print the inscriptions of one transaction as JSON lines")
    p.add_argument("tx", help="transaction hex, or a file holding hex or raw bytes")
    p.set_defaults(func=cmd_decode_tx)

    p = sub.add_parser(
        "decode-block", help="print a block's inscriptions as JSON lines, or write shards"
    )
    p.add_argument("block", help="raw block file (.bin) or hex file")
    p.add_argument("--out", type=Path, help="write the shard tables under this directory instead")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the merkle root and witness commitment checks (decode altered bytes too)",
    )
    p.add_argument("--height", type=int, help="block height (default: the coinbase's BIP34 height)")
    p.add_argument("--network", choices=sorted(NETWORKS), default="mainnet")
    p.set_defaults(func=cmd_decode_block)

    add_follow_subcommands(sub)  # follow, status
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except DecodeError as exc:
        print(f"indexer: cannot decode: {exc}", file=sys.stderr)
        return 2
    except IndexerError as exc:
        print(f"indexer: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
