"""The store's state pickling: the numerous classes travel as their field values and come back
equal, with shared objects still shared."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from drey.messages import Plan
from drey.rules import MessageStatus, PositionedMessage, RedistributionRow
from pipelines.store import FAST_PICKLED, Store


def test_classes_pickled_by_their_fields_are_rebuilt_exactly_by_calling_them() -> None:
    for cls in FAST_PICKLED:
        params = cls.__dataclass_params__  # type: ignore[attr-defined]
        fields = dataclasses.fields(cls)
        assert params.frozen and not hasattr(cls, "__post_init__"), cls
        assert len(fields) > 1 and all(f.init for f in fields), cls


def test_state_round_trips_equal_and_keeps_shared_objects_shared(tmp_path: Path) -> None:
    plan = Plan(user_id=7, owner=b"\x02" * 32, outpoint=b"\x03" * 36, sig=b"\x04" * 64)
    pm = PositionedMessage(
        height=5,
        tx_index=1,
        inscription_index=0,
        inscription_id="ab" * 32 + "i0",
        txid=b"\x05" * 32,
        first_input_prevout=b"\x03" * 36,
        message=plan,
    )
    status = MessageStatus(pm.inscription_id, pm.position, "plan", None, None, "valid", None, "")
    row = RedistributionRow("2025-01", 7, 12)
    store = Store(tmp_path)
    store.save_state("s", {"statuses": (status,), "again": [status], "pm": pm, "row": row})
    back = store.load_state("s")
    assert back == {"statuses": (status,), "again": [status], "pm": pm, "row": row}
    assert back["statuses"][0] is back["again"][0]
    assert type(back["pm"].message) is Plan
