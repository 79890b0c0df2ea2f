"""The warehouse directory: Parquet tables written by the assets, internal state, the live
DuckDB file.

Layout under ``root``::

    parquet/<table>.parquet            tables over the whole chain
    parquet/<table>/<YYYY-MM>.parquet  month-partitioned tables, one file per month
    state/<name>.pkl                   typed objects handed between assets (the rules
                                       engine's evaluation, its memo); never read by analysts
    state/<name>/                      a list saved as segments (the parsed messages:
                                       pipelines/segments.py)
    state/built_from/<table>           the digest of what a derived table was built from
                                       (pipelines/derived.py)
    warehouse.duckdb                   the published warehouse (replaced atomically)

Every file is written beside its final name and renamed (``indexer.shards.write_parquet_atomic``
for Parquet), so a crash never leaves a half-written table and readers see old or new.
"""

from __future__ import annotations

import copyreg
import dataclasses
import operator
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from drey.messages import Plan
from drey.rules import MessageStatus, PositionedMessage, RedistributionRow
from drey.rules.ledger import BindingPoint
from indexer.faults import crashpoint
from indexer.shards.writer import fsync_dir, write_parquet_atomic
from pipelines.segments import INDEX, load_segments, save_segments

WAREHOUSE_FILE = "warehouse.duckdb"


# The rules engine freezes its lookups in read-only mappings, which pickle cannot store as
# such: they travel as a dict and come back read-only.
def read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[MappingProxyType] = lambda proxy: (read_only, (dict(proxy),))

# The state's most numerous objects (one status and one positioned message per Drey message,
# one plan per user and month, one redistribution row per credited user) travel as their
# class and field values: a slotted dataclass's default pickling calls ``fields()`` for every
# object, which made saving an evaluation at 100,000 users take 2.9 s instead of 1.2 s. Only
# frozen classes whose fields are all ``__init__`` arguments and that have no
# ``__post_init__`` qualify: calling the class rebuilds them exactly
# (tests/pipelines/test_store.py).
FAST_PICKLED: tuple[type, ...] = (MessageStatus, RedistributionRow, PositionedMessage, Plan)


def _by_fields(cls: type) -> Callable[[Any], tuple[type, tuple[Any, ...]]]:
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    return lambda obj: (cls, values(obj))


for _cls in FAST_PICKLED:
    _DISPATCH[_cls] = _by_fields(_cls)

# A binding point's ledger (every bound holding: 330,000 at 100,000 users) is what the next
# binding resumes from in memory; a point read back from a file reads the holdings again.
_POINT_FIELDS = operator.attrgetter(
    *(f.name for f in dataclasses.fields(BindingPoint) if f.name != "ledger")
)
_DISPATCH[BindingPoint] = lambda point: (BindingPoint, _POINT_FIELDS(point))


@dataclass(frozen=True, slots=True)
class Store:
    root: Path

    @property
    def parquet(self) -> Path:
        return self.root / "parquet"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def warehouse(self) -> Path:
        return self.root / WAREHOUSE_FILE

    # -- Parquet tables ---------------------------------------------------------------------
    def table_path(self, table: str, month: str | None = None) -> Path:
        if month is None:
            return self.parquet / f"{table}.parquet"
        return self.parquet / table / f"{month}.parquet"

    def write(
        self, table: str, data: pa.Table, *, month: str | None = None, built_from: str = ""
    ) -> Path:
        """Write ``table`` (or its ``month``) atomically. ``built_from``: the digest of its
        inputs (:mod:`pipelines.derived`), recorded once the table is in place; any earlier
        record is removed first, so a crash never leaves a digest over a table it did not
        build."""
        record = self.built_from_path(table) if month is None else None
        if record is not None:
            record.unlink(missing_ok=True)
        path = write_parquet_atomic(data, self.table_path(table, month))
        if month is not None:
            crashpoint("month_written")
        if record is not None and built_from:
            self.record_built_from(table, built_from)
        return path

    def built_from_path(self, table: str) -> Path:
        return self.state / "built_from" / table

    def record_built_from(self, table: str, digest: str) -> None:
        """Record what ``table``, already in place, was built from."""
        _write_text(self.built_from_path(table), digest)

    def built_from(self, table: str) -> str | None:
        """The inputs digest recorded when ``table`` was last written, or ``None``."""
        try:
            return self.built_from_path(table).read_text()
        except FileNotFoundError:
            return None

    def files(self, table: str) -> list[Path]:
        """Every file of ``table``: the single file, or the month files in month order."""
        single = self.table_path(table)
        if single.exists():
            return [single]
        return sorted((self.parquet / table).glob("*.parquet"))

    def month_tables(self) -> list[str]:
        """The month-partitioned tables written so far (one directory each)."""
        if not self.parquet.exists():
            return []
        return sorted(d.name for d in self.parquet.iterdir() if d.is_dir())

    def months_of(self, table: str) -> list[str]:
        return [p.stem for p in sorted((self.parquet / table).glob("*.parquet"))]

    def read(
        self, table: str, *, month: str | None = None, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """``table`` (or its ``month``), ``columns`` only when given."""
        cols = list(columns) if columns is not None else None
        if month is not None:
            return pq.read_table(self.table_path(table, month), columns=cols)
        files = self.files(table)
        if not files:
            raise FileNotFoundError(f"table {table!r} has no Parquet file under {self.parquet}")
        parts = [pq.read_table(f, columns=cols) for f in files]
        return pa.concat_tables(parts, promote_options="default")

    def drop_months(self, table: str, keep: set[str]) -> list[str]:
        """Delete month files of ``table`` whose month is not in ``keep`` (a reorg can take a
        month away); return the months removed."""
        removed = []
        for month in self.months_of(table):
            if month not in keep:
                self.table_path(table, month).unlink(missing_ok=True)
                removed.append(month)
        return removed

    # -- typed state ------------------------------------------------------------------------
    def state_path(self, name: str) -> Path:
        return self.state / f"{name}.pkl"

    def save_state(self, name: str, value: Any) -> Path:
        path = self.state_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        _dump(path, value)
        fsync_dir(path.parent)
        return path

    def save_segmented(self, name: str, items: Sequence[Any], *, kept: int) -> Path:
        """Save the list ``name`` as segments (:mod:`pipelines.segments`), of which the first
        ``kept`` items are the saved list's; returns its index file."""
        index = save_segments(self.state / name, items, kept=kept, dump=_dump)
        self.state_path(name).unlink(missing_ok=True)  # a single file of an older version
        return index

    def segmented_index(self, name: str) -> Path:
        return self.state / name / INDEX

    def load_segmented(self, name: str) -> list[Any] | None:
        """The list ``name`` saved by :meth:`save_segmented`, or ``None``."""
        return load_segments(self.state / name, _load)

    def drop_state(self, name: str) -> None:
        """Forget the state ``name`` (durably: the directory is fsynced)."""
        path = self.state_path(name)
        if path.exists():
            path.unlink()
            fsync_dir(path.parent)

    def load_state(self, name: str, default: Any = None) -> Any:
        """The pickled state, or ``default`` when it was never written. Only this package's
        own files are unpickled (they live in the warehouse directory the operator owns)."""
        path = self.state_path(name)
        if not path.exists():
            return default
        return _load(path)


def _dump(path: Path, value: Any) -> None:
    """Pickle ``value`` beside ``path``, fsync, rename over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = _DISPATCH
            pickler.dump(value)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    """``text`` beside ``path``, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _load(path: Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)
