"""The product's one configuration model, as the warehouse side reads it.

One TOML file (``drey.toml``: ``--config``, else ``$DREY_CONFIG``) holds every setting of the
product; each key is also the environment variable ``DREY_<KEY>`` and, where a command takes
it, a flag. Lowest first: built-in defaults, the file, the environment, flags::

    network = "mainnet"
    shard_root = "/var/lib/drey/shards"     # the follower writes it, the warehouse reads it
    [node]                                  # the follower: indexer/follow/config.py
    rpc_cookie = "/home/bitcoin/.bitcoin/.cookie"
    [warehouse]                             # this module
    warehouse_dir = "/var/lib/drey/warehouse"
    founder = "…64 hex…"
    publish_url = "s3://analytics/drey"     # optional: a copy of each publication (fsspec)
    [dagster]
    dagster_home = "/var/lib/drey/dagster"  # environment: DAGSTER_HOME, Dagster's own
    executor = "multiprocess"               # or "in_process" (the default): pipelines/executor.py
    max_concurrent_steps = 2                # multiprocess: steps at once (0: one per core)
    collector = "paused"                    # or "running": pipelines/collector.py

:func:`load_settings` validates the whole file in one pass: the follower's keys through
:func:`indexer.follow.config.load_config` (the same validator ``indexer follow`` uses, so the
shard root is named once and checked once) and the ``[warehouse]`` and ``[dagster]`` tables
here. Every error is one :class:`~pipelines.errors.ConfigurationError` line naming the key and
where its value came from.

Defaults: the work directory is the checkout's ``var/run`` (what ``make run`` builds), or
``./var/run`` from the working directory when the package is installed outside a checkout;
the founder key defaults to the main job's devnet founder when that devnet exists.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from indexer.errors import ConfigError
from indexer.follow.config import (
    FollowConfig,
    config_path,
    env_name,
    load_config,
    read_config_file,
)
from pipelines.errors import ConfigurationError
from pipelines.remote import filesystem

REPO = Path(__file__).resolve().parents[1]
_PACKAGE = Path(__file__).resolve().parent
# Installed from the wheel, the package carries sql/ (pyproject's force-include); a checkout
# has its pyproject.toml beside the package.
IN_CHECKOUT = not (_PACKAGE / "sql").exists() and (REPO / "pyproject.toml").exists()


def packaged(name: str, in_checkout: str) -> Path:
    """A file the wheel carries inside the package (``pipelines/<name>``), or, in a checkout,
    its place in the repository (``in_checkout``)."""
    return REPO / in_checkout if IN_CHECKOUT else _PACKAGE / name


# The warehouse contract (numbered view, macro and check files) and the instance's defaults.
SQL_DIR = packaged("sql", "sql")
DAGSTER_YAML = packaged("dagster.yaml", "dagster_home/dagster.yaml")


def default_workdir() -> Path:
    """Where the main job works when no --workdir is given (devnet/, shards/, warehouse/)."""
    return (REPO if IN_CHECKOUT else Path.cwd()) / "var" / "run"


def default_dagster_home() -> Path:
    return REPO / "dagster_home" if IN_CHECKOUT else default_workdir() / "dagster_home"


Kind = Literal["path", "text", "int", "seconds"]
# in_process: every step of a run in the run's process (state loaded once per run);
# multiprocess: each step in a process of its own, independent steps at once.
ExecutorKind = Literal["in_process", "multiprocess"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = get_args(ExecutorKind)
# paused: CPython's cyclic collector off while a run works; running: CPython's default.
CollectorMode = Literal["paused", "running"]
COLLECTOR_MODES: tuple[CollectorMode, ...] = get_args(CollectorMode)
# The [warehouse] and [dagster] tables: key → kind. The follower's keys are in
# indexer/follow/config.py (FollowConfig).
SECTIONS: dict[str, dict[str, Kind]] = {
    "warehouse": {
        "warehouse_dir": "path",
        "founder": "text",
        "verify_workers": "int",
        "lock_wait": "seconds",
        "publish_url": "text",
    },
    "dagster": {
        "dagster_home": "path",
        "executor": "text",
        "max_concurrent_steps": "int",
        "collector": "text",
    },
}
_KINDS: dict[str, Kind] = {k: v for keys in SECTIONS.values() for k, v in keys.items()}
# dagster_home's variable is Dagster's own, so `dagster dev` and the daemon agree with us.
_ENV_NAMES = {key: env_name(key) for key in _KINDS} | {"dagster_home": "DAGSTER_HOME"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the product, validated. ``follow.shard_root`` is the one shard root."""

    follow: FollowConfig
    warehouse_dir: Path
    founder: str = ""  # x-only founder key, 64 hex; empty: no params are valid
    verify_workers: int = 0  # processes verifying decryption-share proofs; 0: one per core
    lock_wait: float = 600.0  # seconds a run waits for another writer of the store
    publish_url: str = ""  # a copy of each publication there (fsspec URL; pipelines/remote.py)
    dagster_home: Path | None = None
    # How a run Dagster launches executes its steps (pipelines/executor.py); the main job
    # always runs in one process.
    executor: ExecutorKind = "in_process"
    max_concurrent_steps: int = 0  # multiprocess: steps at once; 0: one per core
    collector: CollectorMode = (
        "paused"  # the cyclic collector during a run (pipelines/collector.py)
    )

    def __post_init__(self) -> None:
        founder_key(self.founder)
        if self.publish_url:
            filesystem(self.publish_url)  # the protocol is known and installed
        if self.executor not in EXECUTOR_KINDS:
            raise ConfigurationError(
                f"executor: {self.executor!r} is not one of {', '.join(EXECUTOR_KINDS)}"
            )
        if self.collector not in COLLECTOR_MODES:
            raise ConfigurationError(
                f"collector: {self.collector!r} is not one of {', '.join(COLLECTOR_MODES)}"
            )
        if not 0 <= self.max_concurrent_steps <= 256:
            raise ConfigurationError(
                f"max_concurrent_steps: {self.max_concurrent_steps} is out of range (0..256)"
            )
        if not 0 <= self.verify_workers <= 256:
            raise ConfigurationError(
                f"verify_workers: {self.verify_workers} is out of range (0..256)"
            )
        if not 0 <= self.lock_wait <= 86_400:
            raise ConfigurationError(f"lock_wait: {self.lock_wait:g} is out of range (0..86400 s)")

    @property
    def shard_root(self) -> Path:
        return self.follow.shard_root

    @property
    def founder_key(self) -> bytes | None:
        return founder_key(self.founder)


def founder_key(text: str) -> bytes | None:
    """The founder key in ``text`` (64 hex), ``None`` for an empty one."""
    text = text.strip()
    if not text:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigurationError(f"founder: not hex: {text[:80]!r}") from None
    if len(key) != 32:
        raise ConfigurationError(f"founder: must be 32 bytes (x-only, 64 hex), got {len(key)}")
    return key


def _devnet_founder(workdir: Path) -> str:
    """The founder key of the main job's devnet in ``workdir``, or "" when it is not built."""
    try:
        return str(json.loads((workdir / "devnet" / "network.json").read_text())["founder"])
    except (OSError, ValueError, KeyError):
        return ""


def _convert(key: str, value: Any, base: Path | None, label: str) -> Any:
    kind = _KINDS[key]
    if kind == "path":
        if not isinstance(value, str | Path) or not str(value):
            raise ConfigurationError(f"{label}: expected a path, got {value!r}")
        path = Path(value).expanduser()
        return path if path.is_absolute() or base is None else base / path
    if kind == "text":
        if not isinstance(value, str):
            raise ConfigurationError(f"{label}: expected a string, got {value!r}")
        return value
    if isinstance(value, str):  # from the environment
        value = _number(value, kind == "int", label)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{label}: expected a number, got {value!r}")
    if kind == "int" and not isinstance(value, int):
        raise ConfigurationError(f"{label}: expected an integer, got {value!r}")
    return value if kind == "int" else float(value)


def _number(text: str, integer: bool, label: str) -> int | float:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(f"{label}: expected {kind}, got {text!r}") from None


def _file_values(doc: Mapping[str, Any], file: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base = file.resolve().parent
    for section, keys in SECTIONS.items():
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ConfigurationError(f"[{section}] in {file}: expected a table, got {table!r}")
        for key, value in table.items():
            if key not in keys:
                close = difflib.get_close_matches(key, sorted(keys), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigurationError(f"unknown key {key!r} in [{section}] of {file}{hint}")
            out[key] = _convert(key, value, base, f"{key} (in {file})")
    return out


def load_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    workdir: Path | None = None,
) -> Settings:
    """Every setting, from (lowest first) the defaults of ``workdir`` (default
    :func:`default_workdir`), the file (``path``, else ``$DREY_CONFIG`` in ``env``), ``env``'s
    variables (none when ``env`` is None) and ``overrides`` (any key, flat; ``None`` means not
    given). Raises :class:`ConfigurationError` naming the key."""
    workdir = workdir or default_workdir()
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    follower_overrides = {k: v for k, v in given.items() if k not in _KINDS}
    try:
        follow = load_config(
            path, follower_overrides, env=env, defaults={"shard_root": workdir / "shards"}
        )
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    # The devnet's founder is the default only for the devnet's own shards: a configured node
    # never inherits it.
    devnet_shards = follow.shard_root.resolve() == (workdir / "shards").resolve()
    values: dict[str, Any] = {
        "warehouse_dir": workdir / "warehouse",
        "founder": _devnet_founder(workdir) if devnet_shards else "",
        "dagster_home": default_dagster_home(),
    }
    file = config_path(path, env)
    if file is not None:
        try:
            values |= _file_values(read_config_file(file), file)
        except ConfigError as exc:
            raise ConfigurationError(str(exc)) from None
    for key, name in _ENV_NAMES.items():
        text = (env or {}).get(name)
        if text is not None:
            values[key] = _convert(key, text, None, name)
    for key, value in given.items():
        if key in _KINDS:
            values[key] = _convert(key, value, None, key)
    return Settings(follow=follow, **values)
