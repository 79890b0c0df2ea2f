"""The store's state pickling: the numerous classes travel as their field values and come back
equal, with shared objects still shared; a binding point travels without its ledger."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

from drey.messages import Plan
from drey.rules import MessageStatus, PositionedMessage, RedistributionRow
from drey.rules.ledger import BindingPoint, Holding, Ledger
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


def test_a_binding_point_is_saved_without_its_ledger(tmp_path: Path) -> None:
    holding = Holding(outpoint=b"\x06" * 36, height=5, value=1_000, spent=None)
    ledger = Ledger(stakes=MappingProxyType({}), deposits={7: (holding,)}, owners={7: b"\x02"})
    point = BindingPoint(
        height=9,
        block_hash=b"\x07" * 32,
        first_position=(3, 0, 0),
        count=1,
        statuses=(),
        owners=MappingProxyType({7: b"\x02" * 32}),
        kept=1,
        ledger=ledger,
    )
    store = Store(tmp_path)
    store.save_state("point", point)
    back = store.load_state("point")
    assert back == point  # every saved field
    assert back.ledger is None and (back.height, back.kept) == (9, 1)  # the ledger stays in memory
