"""The ``follow`` and ``status`` subcommands of ``indexer`` (wired in by ``indexer/cli.py``).

Exit codes of ``follow``: 0 stopped (SIGINT/SIGTERM, or caught up with ``--exit-at-tip``),
2 bad configuration, 3 reorg deeper than the finality zone (see the message for the
``--rebuild-from`` height), 4 a block that fails verification from every source (the node's
copy is corrupt), 5 the shard root cannot be written or read (disk full, permissions, an
unreadable manifest or file), 6 the node stayed unavailable longer than ``--max-wait`` (default
600 s with ``--exit-at-tip``, forever otherwise), 1 any other error. Each non-zero exit prints
one line saying what happened and what to do.

Exit codes of ``status``: 0 the shard root was read (and the node, when asked, answered), 5 no
committed shard root there, 6 the node was asked for and did not answer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from indexer.errors import ConfigError, IndexerError
from indexer.follow.config import (
    CONFIG_ENV,
    DEFAULT_EXIT_AT_TIP_MAX_WAIT,
    env_name,
    load_config,
)
from indexer.follow.errors import (
    CorruptBlockError,
    DeepReorgError,
    ManifestError,
    NodeUnavailableError,
    StorageError,
)
from indexer.follow.follower import Follower
from indexer.follow.logs import setup_logging
from indexer.follow.status import node_status, render_text, shard_status
from indexer.networks import NETWORKS

EXIT_DEEP_REORG = 3
EXIT_CORRUPT_BLOCK = 4
EXIT_STORAGE = 5
EXIT_NODE_UNAVAILABLE = 6

# Flag dest -> config key (flags override the file; None means "not given").
_OVERRIDES = (
    "shard_root",
    "network",
    "rpc_url",
    "rpc_user",
    "rpc_password",
    "rpc_cookie",
    "rest_url",
    "zmq",
    "start_height",
    "vault_scripts",
    "vault_outpoints",
    "finality_depth",
    "blocks_dir",
    "range_blocks",
    "bucket_blocks",
    "fetch_workers",
    "prefetch_blocks",
    "poll_interval",
    "retire_grace",
    "max_wait",
)


def _add_node_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML config file (flags override it)")
    p.add_argument("--shard-root", dest="shard_root", help="shard root directory")
    p.add_argument("--network", choices=NETWORKS)
    p.add_argument("--rpc-url", dest="rpc_url", help="node RPC, http://host:port/")
    p.add_argument("--rpc-user", dest="rpc_user")
    p.add_argument("--rpc-password", dest="rpc_password")
    p.add_argument("--rpc-cookie", dest="rpc_cookie", help="cookie file (re-read after a 401)")


def add_subcommands(sub: Any) -> None:
    p = sub.add_parser(
        "follow",
        help="follow a node from a start height to the tip and stay there, writing shards",
        description="Follow a Bitcoin node into the shard tables (see docs/follower.md).",
    )
    _add_node_flags(p)
    p.add_argument("--rest-url", dest="rest_url", help="REST base URL (blocks as .bin)")
    p.add_argument("--rest", action="store_true", help="use REST on the RPC URL's host and port")
    p.add_argument("--zmq", action="append", help="ZMQ endpoint (sequence/hashblock); repeat")
    p.add_argument("--start-height", dest="start_height", type=int)
    p.add_argument(
        "--vault-script", dest="vault_scripts", action="append", help="watched scriptPubKey (hex)"
    )
    p.add_argument(
        "--vault-outpoint",
        dest="vault_outpoints",
        action="append",
        help="vault output unspent before the start height (txid:vout)",
    )
    p.add_argument("--finality-depth", dest="finality_depth", type=int)
    p.add_argument("--blocks-dir", dest="blocks_dir", help="Core blocks directory for backfill")
    p.add_argument("--range-blocks", dest="range_blocks", type=int)
    p.add_argument("--bucket-blocks", dest="bucket_blocks", type=int)
    p.add_argument("--fetch-workers", dest="fetch_workers", type=int)
    p.add_argument("--prefetch-blocks", dest="prefetch_blocks", type=int)
    p.add_argument("--poll-interval", dest="poll_interval", type=float)
    p.add_argument("--retire-grace", dest="retire_grace", type=float)
    p.add_argument(
        "--rebuild-from",
        type=int,
        metavar="HEIGHT",
        help="drop everything committed at or above HEIGHT first (deep-reorg recovery)",
    )
    p.add_argument("--exit-at-tip", action="store_true", help="exit once caught up")
    p.add_argument(
        "--max-wait",
        dest="max_wait",
        type=_seconds,
        metavar="SECONDS",
        help="give up (exit 6) after waiting this long for an unavailable node; "
        f"'inf' waits forever (default: {DEFAULT_EXIT_AT_TIP_MAX_WAIT:g} with --exit-at-tip, "
        "else forever)",
    )
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--log-format", choices=("kv", "json"), default="kv")
    p.add_argument("--log-level", choices=("debug", "info", "warning"), default="info")
    p.set_defaults(func=cmd_follow)

    s = sub.add_parser("status", help="committed tip, lag behind the node, shard counts")
    _add_node_flags(s)
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.add_argument("--no-node", action="store_true", help="do not contact the node")
    s.set_defaults(func=cmd_status)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out = {k: getattr(args, k, None) for k in _OVERRIDES}
    if getattr(args, "rest", False) and out.get("rest_url") is None:
        out["rest_url"] = True
    return out


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 s, got {text}")
    return value


def cmd_follow(args: argparse.Namespace) -> int:
    config = load_config(args.config, _overrides(args), env=os.environ)
    if config.max_wait is None and args.exit_at_tip:
        config = replace(config, max_wait=DEFAULT_EXIT_AT_TIP_MAX_WAIT)
    log = setup_logging(fmt=args.log_format, level=getattr(logging, args.log_level.upper()))
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    progress = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    follower = Follower(config, log=log, stop=stop, progress=progress)
    try:
        m = follower.run(exit_at_tip=args.exit_at_tip, rebuild_from=args.rebuild_from)
    except DeepReorgError as exc:
        print(f"indexer follow: {exc}", file=sys.stderr)
        return EXIT_DEEP_REORG
    except CorruptBlockError as exc:
        print(f"indexer follow: {exc}", file=sys.stderr)
        return EXIT_CORRUPT_BLOCK
    except (StorageError, ManifestError) as exc:
        print(f"indexer follow: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    except NodeUnavailableError as exc:
        print(f"indexer follow: {exc}", file=sys.stderr)
        return EXIT_NODE_UNAVAILABLE
    except ConfigError:
        raise  # exit status 2, from indexer.cli
    except IndexerError as exc:  # the follower's own errors, a node error that is not transient
        print(f"indexer follow: {exc}", file=sys.stderr)
        return 1
    log.info("stopped", extra={"fields": {"tip": m.tip_height, "hash": m.tip_hash}})
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, _overrides(args), env=os.environ)
        root = config.shard_root
    except ConfigError:
        if args.shard_root is None:
            raise
        config = None
        root = Path(args.shard_root)
    status = shard_status(root)
    asked = any(
        given is not None
        for given in (
            args.config,
            args.rpc_url,
            os.environ.get(CONFIG_ENV),
            os.environ.get(env_name("rpc_url")),
        )
    )
    if config is not None and asked and not args.no_node:
        tip = status.get("tip", {}).get("height") if status.get("committed") else None
        status["node"] = node_status(config, tip)
    print(json.dumps(status) if args.json else render_text(status))
    if "manifest_version" not in status:
        where = "does not exist" if not root.exists() else "holds no committed manifest"
        print(f"indexer status: {root} {where}; run `indexer follow` first", file=sys.stderr)
        return EXIT_STORAGE
    node = status.get("node")
    if node is not None and not node["reachable"]:
        print(f"indexer status: the node at {node['url']} did not answer: {node['error']}",
              file=sys.stderr)  # fmt: skip
        return EXIT_NODE_UNAVAILABLE
    return 0
