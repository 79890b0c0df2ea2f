"""Derived tables, rebuilt only when what they are built from changed.

A store table that is a pure function of files (committed shard files, other store tables)
records beside itself a digest of those files and of the code that builds it
(:func:`inputs_digest`). A run whose inputs give the recorded digest keeps the table as it
is, and since its file is not rewritten, the tables built from it keep theirs too: a block
with no Drey message leaves the copies of the inscriptions and the vault ledger, the stake
and plan tables and the statuses alone (at 100,000 users each was rebuilt at every block).

What a digest covers: each input file's path, size, modification time in nanoseconds and
inode. Every file here is written beside its name and renamed over it (the follower's shards
are never rewritten at all: a commit names new files), so rewriting a file changes its
identity, and a table is never kept over a rewritten input. The code is the source of the
``pipelines`` and ``drey`` packages and the SQL contract, hashed once per process (a code
server that loads a new version starts a new process). The digest is recorded only after the
table is renamed into place: a crash between the two leaves the old digest, which no longer
matches, and the next run builds again.

Limits: only inputs that are files count; a table that also depends on a setting passes it as
``extra``. The monthly ``full_job`` rebuilds every table whatever the digests say
(:func:`must_build`): the re-verification never relies on this bookkeeping.

Asset checks are pure functions of the files they read too: a check that passed on inputs
with the same digest is not run again (:func:`passed_before`); a failed one always is.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from pipelines.configuration import SQL_DIR
from pipelines.sensors import FULL_JOB
from pipelines.store import Store

_CODE = ("pipelines", "drey")


@functools.cache
def code_digest() -> str:
    """A digest of the code that builds the tables: every ``.py`` file of the ``pipelines``
    and ``drey`` packages and every file of the SQL contract."""
    h = hashlib.sha256()
    roots = [Path(str(importlib.import_module(n).__file__)).parent for n in _CODE] + [SQL_DIR]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and (path.suffix in {".py", ".sql"} or root == SQL_DIR):
                h.update(str(path.relative_to(root.parent)).encode() + b"\0")
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def inputs_digest(files: Iterable[Path], *, extra: Sequence[str] = ()) -> str:
    """A digest of ``files``' identities (a missing file counts as missing), ``extra`` and
    the code."""
    h = hashlib.sha256(code_digest().encode())
    for path in files:
        try:
            st = path.stat()
        except FileNotFoundError:
            h.update(f"{path}\0missing\n".encode())
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    for value in extra:
        h.update(b"extra\0" + value.encode() + b"\n")
    return h.hexdigest()


def must_build(job: str, store: Store, table: str, digest: str) -> bool:
    """Whether ``table`` has to be built in a run of ``job``: in the full job, when it was
    never built, or when its inputs differ from those it was built from."""
    if job == FULL_JOB:
        return True
    return store.built_from(table) != digest or not store.table_path(table).exists()


def passed_before(job: str, store: Store, check: str, digest: str) -> dg.AssetCheckResult | None:
    """The result of ``check`` when it passed on these very inputs before (a check is a pure
    function of the files it reads), else ``None``: run it. A failed check is always run
    again, and the full job runs every check."""
    if job == FULL_JOB or store.built_from(f"check.{check}") != digest:
        return None
    return dg.AssetCheckResult(
        passed=True,
        metadata={"kept": dg.MetadataValue.text("passed on these very inputs: not run again")},
    )


def record_check(store: Store, check: str, digest: str, result: dg.AssetCheckResult) -> None:
    """Remember a passed result of ``check`` on the inputs of ``digest``."""
    if result.passed:
        store.record_built_from(f"check.{check}", digest)
    else:
        store.built_from_path(f"check.{check}").unlink(missing_ok=True)


def kept_metadata(store: Store, table: str) -> dict[str, dg.MetadataValue]:
    """The materialization metadata of a table kept as it was: its row count (from the
    file's footer) and that it was kept."""
    rows = pq.ParquetFile(store.table_path(table)).metadata.num_rows
    return {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "kept": dg.MetadataValue.text("its inputs did not change: the table was not rebuilt"),
    }
