"""Every long wait has a bound a scheduler can trust: ``indexer follow --exit-at-tip
--max-wait S`` against a dead node, a cookie that never appears, or an unreachable REST port
exits 6 with one line saying what it waited for, within the bound; ``indexer status`` exits 5
for a shard root with nothing committed and 6 for a node that does not answer."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.errors import ConfigError
from indexer.follow.config import DEFAULT_EXIT_AT_TIP_MAX_WAIT
from indexer.follow.errors import NodeUnavailableError

from .helpers import (
    REPO,
    Running,
    config_for,
    follow_to_tip_cli,
    new_chain,
    serve,
    write_toml,
)

BOUND = 1.5


def dead_port() -> int:
    from .test_node_restart import free_port

    return free_port()


def gave_up(result: subprocess.CompletedProcess[str], elapsed: float, *, mentions: str) -> None:
    assert result.returncode == 6, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("indexer follow: gave up after"), last
    assert f"max_wait {BOUND:g} s" in last and mentions in last, last
    assert "--max-wait" in last
    assert elapsed < BOUND + 8, f"took {elapsed:.1f} s for a {BOUND} s bound"


def run_bounded(config_file: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = follow_to_tip_cli(config_file, "--max-wait", str(BOUND), timeout=60)
    return result, time.monotonic() - started


def test_a_dead_node(tmp_path: Path) -> None:
    port = dead_port()
    cfg = replace(config_for(tmp_path / "shards", None), rpc_url=f"http://127.0.0.1:{port}/",
                  rpc_cookie=None, rpc_user="u", rpc_password="p")  # fmt: skip
    result, elapsed = run_bounded(write_toml(tmp_path / "follow.toml", cfg))
    gave_up(result, elapsed, mentions=f"127.0.0.1:{port}")
    assert "node connection" in result.stderr


def test_a_cookie_that_never_appears(tmp_path: Path) -> None:
    chain = new_chain(tmp_path / "dn", blocks=3)
    node = serve(chain)
    try:
        never = tmp_path / "not-there" / ".cookie"
        cfg = config_for(tmp_path / "shards", node, rpc_cookie=never)
        result, elapsed = run_bounded(write_toml(tmp_path / "follow.toml", cfg))
    finally:
        node.stop()
        chain.close()
    gave_up(result, elapsed, mentions=str(never))


def test_an_unreachable_rest_port(tmp_path: Path) -> None:
    chain = new_chain(tmp_path / "dn", blocks=3)
    node = serve(chain)
    port = dead_port()
    try:
        cfg = config_for(tmp_path / "shards", node, rest_url=f"http://127.0.0.1:{port}")
        result, elapsed = run_bounded(write_toml(tmp_path / "follow.toml", cfg))
    finally:
        node.stop()
        chain.close()
    gave_up(result, elapsed, mentions=f"127.0.0.1:{port}")


def test_the_bound_in_the_api_and_its_defaults(tmp_path: Path) -> None:
    cfg = replace(config_for(tmp_path / "shards", None), max_wait=0.5, rpc_cookie=None,
                  rpc_user="u", rpc_password="p")  # fmt: skip
    run = Running(cfg).start()
    run.join(30)
    assert isinstance(run.error, NodeUnavailableError), run.error
    assert run.error.waited_s >= 0.5 and "node connection" in run.error.reason
    assert run.error.url == cfg.resolved_rpc_url
    assert config_for(tmp_path, None).max_wait is None  # a service waits forever
    assert DEFAULT_EXIT_AT_TIP_MAX_WAIT == 600.0  # what --exit-at-tip waits without --max-wait
    with pytest.raises(ConfigError, match="max_wait"):
        replace(cfg, max_wait=0)
    toml = write_toml(tmp_path / "bad.toml", cfg)
    toml.write_text(toml.read_text() + "max_wait = -1\n")
    bad = follow_to_tip_cli(toml)
    assert bad.returncode == 2 and "max_wait" in bad.stderr


def test_status_exits_non_zero_without_shards_or_node(tmp_path: Path) -> None:
    def status(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "indexer", "status", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    missing = status("--shard-root", str(tmp_path / "nowhere"))
    assert missing.returncode == 5
    assert "does not exist" in missing.stderr.strip().splitlines()[-1]
    chain = new_chain(tmp_path / "dn", blocks=3)
    node = serve(chain)
    root = tmp_path / "shards"
    try:
        with Running(config_for(root, node)) as run:
            run.wait_tip(chain.tip.hash_hex)
        ok = status("--shard-root", str(root), "--rpc-url", node.url,
                    "--rpc-cookie", str(node.cookie), "--network", "regtest")  # fmt: skip
        assert ok.returncode == 0, ok.stderr
    finally:
        node.stop()
        chain.close()
    port = dead_port()
    gone = status("--shard-root", str(root), "--rpc-url", f"http://127.0.0.1:{port}/",
                  "--rpc-cookie", str(node.cookie), "--network", "regtest")  # fmt: skip
    assert gone.returncode == 6
    assert f"127.0.0.1:{port}" in gone.stderr.strip().splitlines()[-1]
    assert "tip: height=3" in gone.stdout  # the shard part is still shown
