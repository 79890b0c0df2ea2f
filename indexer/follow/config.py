"""The follower's configuration: a TOML file, then ``DREY_*`` environment variables, then
command-line flags, each overriding the one before.

The file is the product's one configuration file (``drey.toml``): the follower's keys, plus the
``[warehouse]`` and ``[dagster]`` tables that ``drey-warehouse`` and the Dagster code location
read (:data:`PRODUCT_SECTIONS`; ``pipelines/configuration.py`` validates them, the follower leaves
them alone). Without ``--config`` the file is ``$DREY_CONFIG``, if set.

Every key may sit at the top level of the file or in the table named in :data:`SECTIONS`
(``[node]``, ``[storage]``, ``[tuning]``), so both of these work::

    network = "regtest"
    shard_root = "var/shards"
    [node]
    rpc_url = "http://127.0.0.1:18443/"
    rpc_cookie = "var/devnet/regtest/.cookie"
    zmq = ["tcp://127.0.0.1:28332"]

Every key is also the environment variable ``DREY_<KEY>`` (``DREY_SHARD_ROOT``,
``DREY_RPC_PASSWORD``, …; lists comma-separated, ``DREY_REST_URL=true`` for REST on the RPC
port). Relative paths in a file are relative to the file's directory; in the environment and
on the command line, to the working directory. ``docs/follower.md`` lists every key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from indexer.errors import ConfigError
from indexer.networks import NETWORKS, Network, first_inscription_height
from indexer.node.http import redact_urls

DEFAULT_RPC_PORTS: dict[str, int] = {
    "mainnet": 8332,
    "testnet": 18332,
    "testnet4": 48332,
    "signet": 38332,
    "regtest": 18443,
}
_NET_DIRS = {
    "mainnet": "",
    "testnet": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}
_OUTPOINT = re.compile(r"([0-9a-fA-F]{64}):(\d{1,10})")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")

# Finality depth: blocks this far below the node's tip are treated as final (compacted into
# immutable range shards, never rolled back). Bitcoin reorgs deeper than 2 blocks have not
# happened on mainnet since 2013 (the 24-block fork of the 0.8 upgrade); 6 is the customary
# confirmation count; 12 doubles it for the price of a dozen small files per table.
DEFAULT_FINALITY_DEPTH = 12

# A scheduled catch-up (``--exit-at-tip``) must end: by default it waits at most 10 minutes for
# an unavailable node (a restarting bitcoind is back within seconds, a long reindex is not).
DEFAULT_EXIT_AT_TIP_MAX_WAIT = 600.0

SECTIONS: dict[str, tuple[str, ...]] = {
    "node": (
        "rpc_url",
        "rpc_user",
        "rpc_password",
        "rpc_cookie",
        "rest_url",
        "zmq",
        "rpc_timeout",
    ),
    "storage": ("shard_root", "range_blocks", "bucket_blocks", "retire_grace"),
    "tuning": (
        "fetch_workers",
        "prefetch_blocks",
        "batch_max_bytes",
        "hash_batch",
        "poll_interval",
        "backoff_initial",
        "backoff_max",
        "max_wait",
    ),
}


# Tables of the product's file that belong to other commands (the warehouse, the Dagster
# instance): the follower skips them, pipelines/configuration.py validates them.
PRODUCT_SECTIONS = ("warehouse", "dagster")

# Every key ``k`` is also the environment variable ENV_PREFIX + k.upper(); CONFIG_ENV names the
# file itself.
ENV_PREFIX = "DREY_"
CONFIG_ENV = "DREY_CONFIG"
_LIST_KEYS = ("zmq", "vault_scripts", "vault_outpoints")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def env_name(key: str) -> str:
    """The environment variable that sets ``key``."""
    return ENV_PREFIX + key.upper()


@dataclass(frozen=True, slots=True)
class FollowConfig:
    """What ``indexer follow`` needs. Build with :func:`load_config` or directly; invalid
    values raise :class:`~indexer.errors.ConfigError` naming the key."""

    shard_root: Path
    network: Network = "mainnet"
    rpc_url: str | None = None  # default: http://127.0.0.1:<network's RPC port>/
    rpc_user: str | None = None
    rpc_password: str | None = None
    rpc_cookie: Path | None = None  # default: ~/.bitcoin/<network dir>/.cookie
    rest_url: str | None = None  # None: blocks over RPC (getblock <hash> 0)
    zmq: tuple[str, ...] = ()
    start_height: int | None = None  # default: the network's first inscription height
    vault_scripts: tuple[bytes, ...] = ()
    vault_outpoints: tuple[tuple[str, int], ...] = ()  # vault outputs unspent before start
    finality_depth: int = DEFAULT_FINALITY_DEPTH
    blocks_dir: Path | None = None
    range_blocks: int = 100
    bucket_blocks: int = 10_000
    retire_grace: float = 60.0
    fetch_workers: int = 4
    prefetch_blocks: int = 16
    batch_max_bytes: int = 512 * 1024 * 1024
    hash_batch: int = 500
    poll_interval: float = 5.0
    rpc_timeout: float = 30.0
    backoff_initial: float = 0.25
    backoff_max: float = 30.0
    # Give up after waiting this long for the node in one stretch (down, warming up, overloaded,
    # no cookie): NodeUnavailableError, exit 6. None: wait forever (a service under a
    # supervisor); ``indexer follow --exit-at-tip`` defaults to DEFAULT_EXIT_AT_TIP_MAX_WAIT.
    max_wait: float | None = None

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ConfigError(f"network: {self.network!r} is not one of {', '.join(NETWORKS)}")
        for name in ("rpc_url", "rest_url"):
            url = getattr(self, name)
            if url is not None:
                parts = urlsplit(url)
                shown = redact_urls(url)
                if parts.scheme != "http" or not parts.hostname:
                    raise ConfigError(f"{name}: expected http://host:port, got {shown!r}")
                try:
                    parts.port  # noqa: B018 - raises on a bad port
                except ValueError:
                    raise ConfigError(f"{name}: bad port in {shown!r}") from None
        self._move_url_credentials()
        if (self.rpc_user is None) != (self.rpc_password is None):
            raise ConfigError("rpc_user and rpc_password go together (or use rpc_cookie)")
        if self.rpc_user is not None and self.rpc_cookie is not None:
            raise ConfigError("give rpc_user/rpc_password or rpc_cookie, not both")
        for address in self.zmq:
            if "://" not in address:
                raise ConfigError(f"zmq: {address!r} is not a ZeroMQ endpoint (tcp://host:port)")
        if self.start_height is not None and self.start_height < 0:
            raise ConfigError(f"start_height: must be ≥ 0, got {self.start_height}")
        for script in self.vault_scripts:
            if not 0 < len(script) <= 10_000:
                raise ConfigError(f"vault_scripts: a script must be 1..10000 bytes, got {script!r}")
        if len(set(self.vault_scripts)) != len(self.vault_scripts):
            raise ConfigError("vault_scripts: a script is listed twice")
        for txid, vout in self.vault_outpoints:
            if len(txid) != 64 or not 0 <= vout <= 0xFFFFFFFF:
                raise ConfigError(f"vault_outpoints: bad outpoint {txid}:{vout}")
        checks: list[tuple[str, bool, str]] = [
            ("finality_depth", 1 <= self.finality_depth <= 10_000, "1..10000"),
            ("range_blocks", 1 <= self.range_blocks <= 100_000, "1..100000"),
            ("bucket_blocks", self.bucket_blocks >= 1, "≥ 1"),
            ("retire_grace", self.retire_grace >= 0, "≥ 0"),
            ("fetch_workers", 1 <= self.fetch_workers <= 64, "1..64"),
            ("prefetch_blocks", 1 <= self.prefetch_blocks <= 10_000, "1..10000"),
            ("batch_max_bytes", self.batch_max_bytes >= 1 << 20, "≥ 1 MiB"),
            ("hash_batch", 1 <= self.hash_batch <= 50_000, "1..50000"),
            ("poll_interval", 0.01 <= self.poll_interval <= 3600, "0.01..3600 s"),
            ("rpc_timeout", 0.1 <= self.rpc_timeout <= 3600, "0.1..3600 s"),
            ("backoff_initial", 0.001 <= self.backoff_initial <= 60, "0.001..60 s"),
            (
                "backoff_max",
                self.backoff_initial <= self.backoff_max <= 3600,
                "backoff_initial..3600 s",
            ),
        ]
        if self.max_wait is not None and not self.max_wait > 0:
            raise ConfigError(f"max_wait: {self.max_wait!r} must be > 0 s (or absent: forever)")
        for name, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"{name}: {getattr(self, name)!r} is out of range ({allowed})")
        if self.bucket_blocks % self.range_blocks:
            raise ConfigError(
                f"bucket_blocks ({self.bucket_blocks}) must be a multiple of range_blocks "
                f"({self.range_blocks}) so range shards never cross a bucket"
            )

    def _move_url_credentials(self) -> None:
        """``http://user:password@host/`` works as with bitcoin-cli, but the credentials move
        to ``rpc_user``/``rpc_password`` at once, so no URL this config hands out (to logs,
        ``indexer status``, error messages) ever carries them. REST takes no credentials."""
        if self.rest_url is not None and urlsplit(self.rest_url).username is not None:
            raise ConfigError("rest_url: REST takes no credentials; remove user:password@")
        if self.rpc_url is None:
            return
        parts = urlsplit(self.rpc_url)
        if parts.username is None:
            return
        if self.rpc_user is not None or self.rpc_cookie is not None:
            raise ConfigError(
                "rpc_url: credentials in the URL and rpc_user/rpc_cookie too; give one of them"
            )
        if parts.password is None:
            raise ConfigError("rpc_url: a user without a password; give user:password@ or none")
        netloc = parts.netloc.rpartition("@")[2]
        # Frozen dataclass: rewritten here, once, before anyone can read the URL.
        object.__setattr__(self, "rpc_user", unquote(parts.username))
        object.__setattr__(self, "rpc_password", unquote(parts.password))
        object.__setattr__(self, "rpc_url", urlunsplit(parts._replace(netloc=netloc)))

    # -- derived values -----------------------------------------------------------------------
    @property
    def first_height(self) -> int:
        """The first height indexed."""
        if self.start_height is not None:
            return self.start_height
        return first_inscription_height(self.network)

    @property
    def resolved_rpc_url(self) -> str:
        return self.rpc_url or f"http://127.0.0.1:{DEFAULT_RPC_PORTS[self.network]}/"

    @property
    def resolved_cookie(self) -> Path | None:
        """The cookie file to use (None with user/password)."""
        if self.rpc_user is not None:
            return None
        if self.rpc_cookie is not None:
            return self.rpc_cookie
        return Path.home() / ".bitcoin" / _NET_DIRS[self.network] / ".cookie"

    def content_settings(self) -> dict[str, Any]:
        """The settings the shard contents depend on (recorded in the manifest; changing one
        needs a rebuild)."""
        return {
            "network": self.network,
            "start_height": self.first_height,
            "vault_scripts": sorted(s.hex() for s in self.vault_scripts),
            "vault_outpoints": sorted(f"{t}:{v}" for t, v in self.vault_outpoints),
        }


def _as_path(value: Any, key: str, base: Path | None) -> Path:
    if not isinstance(value, str | Path) or not str(value):
        raise ConfigError(f"{key}: expected a path, got {value!r}")
    p = Path(value).expanduser()
    return p if p.is_absolute() or base is None else base / p


def _as_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    return value


def _as_float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    return float(value)


def _as_str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _str_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a string or a list of strings, got {value!r}")
    return list(value)


def parse_vault_script(text: str) -> bytes:
    if not _HEX.fullmatch(text):
        raise ConfigError(f"vault_scripts: {text[:80]!r} is not hex (a scriptPubKey)")
    return bytes.fromhex(text)


def parse_outpoint(text: str) -> tuple[str, int]:
    m = _OUTPOINT.fullmatch(text.strip())
    if not m:
        raise ConfigError(f"vault_outpoints: {text!r} is not <txid>:<vout>")
    return m.group(1).lower(), int(m.group(2))


_FIELDS = {f.name for f in fields(FollowConfig)}


_REST_FROM_RPC = "<the RPC URL's host and port>"
_PATH_KEYS = ("shard_root", "blocks_dir", "rpc_cookie")
_STR_KEYS = ("rpc_url", "rpc_user", "rpc_password", "network")
_INT_KEYS = (
    "start_height",
    "finality_depth",
    "range_blocks",
    "bucket_blocks",
    "fetch_workers",
    "prefetch_blocks",
    "batch_max_bytes",
    "hash_batch",
)


def _convert(key: str, value: Any, base: Path | None, label: str = "") -> Any:
    """``value`` of ``key`` in its field's type; errors name ``label`` (default: the key)."""
    name = label or key
    if key in _PATH_KEYS:
        return _as_path(value, name, base)
    if key in _STR_KEYS:
        return _as_str(value, name)
    if key == "rest_url":
        if value is True:
            # REST is served on the RPC port: the final RPC URL's scheme, host and port,
            # whichever source gives it (resolved at the end of load_config).
            return _REST_FROM_RPC
        if value is False:
            return None
        return _as_str(value, name)
    if key == "zmq":
        return tuple(_str_list(value, name))
    if key == "vault_scripts":
        return tuple(parse_vault_script(v) for v in _str_list(value, name))
    if key == "vault_outpoints":
        return tuple(parse_outpoint(v) for v in _str_list(value, name))
    if key == "start_height" and value is None:
        return None
    if key in _INT_KEYS:
        return _as_int(value, name)
    return _as_float(value, name)


def _from_env_text(key: str, text: str, label: str) -> Any:
    """An environment variable's text as the value a TOML file would give ``key``."""
    if key in _LIST_KEYS:
        return [part.strip() for part in text.split(",") if part.strip()]
    if key == "rest_url" and text.strip().lower() in _TRUE + _FALSE:
        return text.strip().lower() in _TRUE
    try:
        if key in _INT_KEYS:
            return int(text)
        if key not in _PATH_KEYS + _STR_KEYS + ("rest_url",):
            return float(text)
    except ValueError:
        kind = "an integer" if key in _INT_KEYS else "a number"
        raise ConfigError(f"{label}: expected {kind}, got {text!r}") from None
    return text


def _rest_from_rpc(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _flatten(doc: Mapping[str, Any], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in PRODUCT_SECTIONS:  # the warehouse's and Dagster's: pipelines/configuration.py
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] in {source}: expected a table, got {value!r}")
            continue
        if key in SECTIONS and isinstance(value, dict):
            for sub, v in value.items():
                if sub not in SECTIONS[key]:
                    raise ConfigError(_unknown(sub, f"[{key}] of {source}"))
                out[sub] = v
        elif key in _FIELDS:
            out[key] = value
        else:
            raise ConfigError(_unknown(key, source))
    return out


def _unknown(key: str, where: str) -> str:
    close = difflib.get_close_matches(key, sorted(_FIELDS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r} in {where}{hint}"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The TOML document at ``path``; :class:`ConfigError` if it is missing or not TOML."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p} is not UTF-8 text") from None


def config_path(path: str | Path | None, env: Mapping[str, str] | None) -> Path | None:
    """The configuration file: ``path``, else ``$DREY_CONFIG`` (when ``env`` is given)."""
    if path is not None:
        return Path(path)
    named = (env or {}).get(CONFIG_ENV)
    return Path(named) if named else None


def load_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> FollowConfig:
    """The follower's configuration from, lowest first: ``defaults``, the TOML file (``path``,
    else ``$DREY_CONFIG``), ``env``'s ``DREY_<KEY>`` variables (none when ``env`` is None),
    and ``overrides`` (flag values, ``None`` meaning "not given"). Raises
    :class:`ConfigError` naming the key, and the variable or file it came from."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}  # where each value came from, for errors
    for key, value in (defaults or {}).items():
        values[key], origin[key] = _convert(key, value, None), "the default"
    file = config_path(path, env)
    if file is not None:
        raw = _flatten(read_config_file(file), str(file))
        base = file.resolve().parent
        for key, value in raw.items():
            values[key], origin[key] = _convert(key, value, base), str(file)
    for key in _FIELDS:
        label = env_name(key)
        text = (env or {}).get(label)
        if text is not None:
            values[key] = _convert(key, _from_env_text(key, text, label), None, label)
            origin[key] = label
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in _FIELDS:
            raise ConfigError(_unknown(key, "the command line"))
        values[key], origin[key] = _convert(key, value, None), "the command line"
    if values.get("rest_url") == _REST_FROM_RPC:
        network = values.get("network", "mainnet")
        rpc = values.get("rpc_url") or f"http://127.0.0.1:{DEFAULT_RPC_PORTS.get(network, 8332)}/"
        values["rest_url"] = _rest_from_rpc(rpc)
    if "shard_root" not in values:
        raise ConfigError(
            "shard_root is required (in the config file, DREY_SHARD_ROOT or --shard-root)"
        )
    try:
        return FollowConfig(**values)
    except ConfigError as exc:
        key = str(exc).partition(":")[0]
        raise ConfigError(f"{exc} (set in {origin[key]})" if key in origin else str(exc)) from None


def with_overrides(config: FollowConfig, **changes: Any) -> FollowConfig:
    """A copy of ``config`` with ``changes`` (validated again)."""
    return replace(config, **changes)
