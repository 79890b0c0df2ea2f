"""A copy of each published warehouse on any fsspec filesystem: object storage by URL.

``[warehouse] publish_url`` (``DREY_PUBLISH_URL``) names a directory, for example
``s3://analytics/drey`` (with ``s3fs`` installed), ``gs://…`` (``gcsfs``), ``abfs://…``
(``adlfs``) or ``file:///srv/share/drey``. After each publication, the ``warehouse_copy`` asset
uploads ``warehouse.duckdb`` there. Readers open it read-only, for example DuckDB with its
``httpfs`` extension: ``ATTACH 's3://analytics/drey/warehouse.duckdb' (READ_ONLY)``.

Readers never see half a file. The upload goes to ``warehouse.duckdb.partial`` beside the target,
then moves onto it. On object storage the move is a server-side copy, and a single object
replaces the old one whole. On a POSIX filesystem the move is a rename. The local file stays the
published one: the store, its lock and the incremental publication work on it, and the copy
follows it.

Limits: one writer per URL (the writer lock is local), and the copy is the whole file at each
publication (no per-table upload).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import fsspec
from fsspec.spec import AbstractFileSystem

from pipelines.errors import ConfigurationError

__all__ = ["Uploaded", "filesystem", "upload"]

NAME = "warehouse.duckdb"


@dataclass(frozen=True, slots=True)
class Uploaded:
    """Where a copy went, its size and how long the upload took."""

    url: str
    bytes: int
    seconds: float


def filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem and directory path of ``url``. Raises :class:`ConfigurationError` when
    its protocol is unknown or its implementation is not installed."""
    protocol = url.split("://", 1)[0] if "://" in url else "file"
    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ConfigurationError(
            f"publish_url: unknown protocol {protocol!r} in {url!r} (fsspec knows "
            f"{', '.join(sorted(fsspec.available_protocols())[:12])}, …)"
        ) from None
    except ImportError as exc:  # fsspec says which package: "Install s3fs to access S3"
        raise ConfigurationError(f"publish_url: {url!r}: {exc}") from None
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path.rstrip("/")


def upload(local: Path, url: str) -> Uploaded:
    """Copy the published file ``local`` to ``<url>/warehouse.duckdb``, replacing the last copy
    whole (see the module's docstring)."""
    started = time.perf_counter()
    fs, directory = filesystem(url)
    target = f"{directory}/{NAME}"
    partial = f"{target}.partial"
    fs.makedirs(directory, exist_ok=True)
    fs.put_file(str(local), partial)
    fs.mv(partial, target)
    return Uploaded(
        url=f"{url.rstrip('/')}/{NAME}",
        bytes=local.stat().st_size,
        seconds=time.perf_counter() - started,
    )
