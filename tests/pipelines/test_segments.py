"""The segmented list (pipelines/segments.py): what is loaded is what was saved, a save writes
only the new tail (and merges), and a crash between segment and index loses nothing."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.segments import INDEX, load_segments, save_segments


def _dump(path: Path, value: object) -> None:
    path.write_bytes(pickle.dumps(value))


def _load(path: Path) -> object:
    return pickle.loads(path.read_bytes())


def _segments(root: Path) -> list[tuple[str, int]]:
    return pickle.loads((root / INDEX).read_bytes())


def test_appends_write_only_the_tail_and_segments_stay_logarithmic(tmp_path: Path) -> None:
    root = tmp_path / "messages"
    assert load_segments(root, _load) is None
    items: list[int] = []
    for block in range(200):
        before = {p.name: p.stat().st_mtime_ns for p in root.glob("*.pkl") if p.name != INDEX}
        items = [*items, *range(len(items), len(items) + 5)]
        save_segments(root, items, kept=len(items) - 5, dump=_dump)
        assert load_segments(root, _load) == items
        kept = [name for name, _ in _segments(root)[:-1]]
        # every segment but the last (new or merged) is a file the last save did not touch
        assert all(before.get(name) == (root / name).stat().st_mtime_ns for name in kept)
        assert len(_segments(root)) <= 2 * (block + 1).bit_length()
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [INDEX, *(n for n, _ in _segments(root))]
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 12)),  # (drop from the end, then append)
        min_size=1,
        max_size=25,
    )
)
def test_any_history_of_reorgs_and_appends_loads_back(
    tmp_path_factory: object, history: list[tuple[int, int]]
) -> None:
    root = tmp_path_factory.mktemp("segments")  # type: ignore[attr-defined]
    items: list[tuple[int, int]] = []
    for step, (drop, add) in enumerate(history):
        kept = max(0, len(items) - drop)
        items = [*items[:kept], *((step, i) for i in range(add))]
        save_segments(root, items, kept=kept, dump=_dump)
        assert load_segments(root, _load) == items


def test_a_crash_before_the_index_keeps_the_saved_list(tmp_path: Path) -> None:
    root = tmp_path / "messages"
    save_segments(root, [1, 2, 3], kept=0, dump=_dump)

    def crash_on_index(path: Path, value: object) -> None:
        if path.name == INDEX:
            raise OSError("crashed")
        _dump(path, value)

    with pytest.raises(OSError, match="crashed"):
        save_segments(root, [1, 2, 3, 4], kept=3, dump=crash_on_index)
    assert load_segments(root, _load) == [1, 2, 3]
    save_segments(root, [1, 2, 3, 4], kept=3, dump=_dump)  # removes the orphan
    assert load_segments(root, _load) == [1, 2, 3, 4]
    assert len(list(root.iterdir())) == len(_segments(root)) + 1
