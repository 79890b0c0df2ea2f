"""Row proofs out of a published warehouse: the ``row_proof`` macro's row as a
:class:`drey.row_proof.RowProof` (``drey-warehouse row-proof``), which anyone then checks from
the JSON alone (``drey-warehouse verify-row``, :meth:`RowProof.problems`)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from drey.row_proof import RowProof
from pipelines.errors import ConfigurationError

_COLUMNS = (
    "user_id, month, dreybits, row_index, row_hash, month_path, month_root, n_rows, "
    "commitment, months_index, months_path, months_root"
)


def read_row_proof(warehouse: Path, user_id: int, month: str) -> RowProof | None:
    """The proof of ``user_id``'s row in ``month`` (``None``: no such accepted row)."""
    if not warehouse.is_file():
        raise ConfigurationError(f"no warehouse at {warehouse} (run `drey-warehouse run` first)")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            f"SELECT {_COLUMNS} FROM row_proof($u::UBIGINT, $m)", {"u": user_id, "m": month}
        ).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    uid, month, dreybits, index, leaf, path, root, n_rows, commitment, m_index, m_path, m_root = row
    return RowProof(
        user_id=int(uid),
        month=str(month),
        dreybits=int(dreybits),
        row_index=int(index),
        row_hash=int(leaf, 16),
        month_path=tuple(int(x, 16) for x in path),
        month_root=int(root, 16),
        n_rows=int(n_rows),
        commitment=int(commitment, 16),
        months_index=int(m_index),
        months_path=tuple(int(x, 16) for x in m_path),
        months_root=int(m_root, 16),
    )
