"""``indexer status``: what is committed under a shard root, and how far behind the node it is."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from indexer.follow.config import FollowConfig
from indexer.follow.manifest import read_manifest
from indexer.follow.source import TRANSIENT, NodeSource
from indexer.shards.schema import TABLES


def shard_status(root: Path) -> dict[str, Any]:
    """The committed state under ``root`` (no node needed)."""
    m = read_manifest(root)
    if m is None:
        return {"shard_root": str(root), "committed": False}
    files = {t: 0 for t in TABLES}
    rows = {t: 0 for t in TABLES}
    for s in m.segments:
        for t, n in s.rows.items():
            rows[t] += n
            files[t] += 1
    in_ranges = sum(1 for s in m.segments if s.end <= m.final_height)
    return {
        "shard_root": str(root),
        "committed": m.tip_hash is not None,
        "manifest_version": m.version,
        "committed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.committed_at)),
        "age_s": round(time.time() - m.committed_at, 1),
        "network": m.settings.get("network"),
        "start_height": m.start_height,
        "tip": {"height": m.tip_height, "hash": m.tip_hash},
        "final_height": m.final_height,
        "segments": len(m.segments),
        "final_segments": in_ranges,
        "tip_segments": len(m.segments) - in_ranges,
        "files": files,
        "rows": rows,
        "retired_files": len(m.retired),
        "vault_unspent": len(m.vault_unspent),
        "layout": {"range_blocks": m.range_blocks, "bucket_blocks": m.bucket_blocks},
    }


def node_status(config: FollowConfig, committed_tip: int | None) -> dict[str, Any]:
    """The node's tip and the lag behind it, with one quick attempt (no retries)."""
    fast = replace(config, rpc_timeout=min(config.rpc_timeout, 5.0))
    source = NodeSource(
        fast, log=logging.getLogger("indexer.follow.status"), stop=threading.Event()
    )
    out: dict[str, Any] = {"url": fast.resolved_rpc_url}
    try:
        tip = source.tip(attempts=1)
    except TRANSIENT as exc:
        out["reachable"] = False
        out["error"] = str(exc)
        return out
    finally:
        source.close()
    out.update(
        reachable=True,
        height=tip.height,
        hash=tip.hash,
        lag=None if committed_tip is None else tip.height - committed_tip,
    )
    return out


def render_text(status: dict[str, Any]) -> str:
    lines = []
    for key, value in status.items():
        if isinstance(value, dict):
            inner = " ".join(f"{k}={v}" for k, v in value.items())
            lines.append(f"{key}: {inner}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
