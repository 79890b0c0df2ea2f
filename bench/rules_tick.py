"""Where one tick of ``rules_evaluation`` spends its time, phase by phase, on a built warehouse.

    uv run python bench/rules_tick.py var/bench/m12-u100000/replay/resume/warehouse \
        --founder $(jq -r .founder var/bench/m12-u100000/devnet/network.json)

Runs the asset's work outside Dagster, on the warehouse's saved state, as a tick with no new
block would: load the saved messages, build the chain view (and again, as the next tick would,
with its vault outputs kept in memory), load the saved evaluation and the memo, evaluate
(resumed from the saved evaluation; resumed from that new one, as the next tick would be,
with its binding point at the tip; from the first month), advance it (the checks a block with
nothing for the rules costs instead of a walk), save the evaluation and load it
again (beside pickle's default for the classes the store pickles by their fields), and
digest the months. Nothing is written back (the evaluation is saved to a temporary file).
Each phase is timed with ``perf_counter``; ``--profile`` prints the top of a
cProfile of the second resumed evaluation.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from drey.rules.advance import advance  # noqa: E402
from drey.rules.memo import Memo  # noqa: E402
from pipelines import store as store_module  # noqa: E402
from pipelines.assets.rules import (  # noqa: E402
    CARRIER_COLUMNS,
    MEMO_STATE,
    VAULT_ROWS,
    _chain_of,
    _parts_of,
)
from pipelines.evaluation import month_digests, run_rules  # noqa: E402
from pipelines.settings import (  # noqa: E402
    EVALUATION_STATE,
    MESSAGES_STATE,
    Warehouse,
)
from pipelines.state_cache import StateCache  # noqa: E402
from pipelines.store import Store  # noqa: E402


def timed(phases: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = fn()
    phases[name] = time.perf_counter() - started
    print(f"  {name:42} {phases[name]:7.2f} s", flush=True)
    return value


def _default_dump(tmp: Path, value: Any) -> None:
    table = {k: v for k, v in store_module._DISPATCH.items() if k not in store_module.FAST_PICKLED}
    with open(tmp / "d", "wb") as handle:
        pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = table
        pickler.dump(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse_dir", type=Path)
    parser.add_argument("--founder", required=True, help="the trust anchor, hex")
    parser.add_argument("--shards", type=Path, help="default: shards/ beside the warehouse")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    store = Store(args.warehouse_dir)
    founder = bytes.fromhex(args.founder)
    phases: dict[str, float] = {}
    messages = timed(
        phases, "load saved messages", lambda: store.load_segmented(MESSAGES_STATE) or []
    )
    insc = timed(
        phases,
        "read inscriptions (carriers' columns)",
        lambda: store.read("inscriptions", columns=CARRIER_COLUMNS),
    )
    warehouse = Warehouse(warehouse_dir=str(args.warehouse_dir), founder=args.founder)
    warehouse = warehouse.with_state_cache(StateCache())
    chain = timed(phases, "chain view (blocks, vault ledger)", lambda: _chain_of(warehouse, insc))
    # The next tick's case: the vault outputs of this view kept in memory, and (no vault row
    # changed) its whole ledger; then the same with the outputs kept but the ledger built.
    timed(phases, "chain view again (ledger kept)", lambda: _chain_of(warehouse, insc))
    rows = warehouse.recalled(VAULT_ROWS)
    warehouse.remember(VAULT_ROWS, replace(rows, view=None))
    timed(phases, "chain view again (outputs kept)", lambda: _chain_of(warehouse, insc))
    shards = args.shards or args.warehouse_dir.parent / "shards"
    parts = timed(phases, "formula and circuit parts", lambda: _parts_of(messages, store, shards))
    previous = timed(phases, "load saved evaluation", lambda: store.load_state(EVALUATION_STATE))
    entries = timed(phases, "load memo", lambda: store.load_state(MEMO_STATE) or {})

    def evaluate(resume: object) -> Any:
        memo = Memo(entries=dict(entries))
        return run_rules(
            chain, messages, founder=founder, parts=parts, memo=memo, resume_from=resume
        )

    evaluation = timed(phases, "evaluate, resumed from the saved", lambda: evaluate(previous))
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    # The next tick's case: resumed from an evaluation that has a binding point at this tip.
    timed(phases, "evaluate, resumed from that one", lambda: evaluate(evaluation))
    if profiler:
        profiler.disable()
    timed(phases, "evaluate, from the first month", lambda: evaluate(None))
    # A quiet block's case: what drey.rules.advance checks before carrying the evaluation (at
    # the same tip the new blocks are none; the scans of messages and vault rows are the cost).
    carried = timed(
        phases,
        "advance (a quiet block's checks)",
        lambda: advance(evaluation, chain, messages, tip_height=chain.tip, formula_parts=parts),
    )
    assert carried is evaluation, "the evaluation at its own tip carries to itself"
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Store(Path(tmp))
        timed(phases, "save evaluation", lambda: scratch.save_state(EVALUATION_STATE, evaluation))
        timed(phases, "load it again", lambda: scratch.load_state(EVALUATION_STATE))
        # The same, with pickle's default for the classes the store pickles by their fields.
        timed(phases, "  (default pickling: save)", lambda: _default_dump(Path(tmp), evaluation))
        timed(
            phases, "  (default pickling: load)", lambda: pickle.loads(Path(tmp, "d").read_bytes())
        )
    timed(phases, "month digests", lambda: month_digests(evaluation))
    print(
        f"  messages {len(messages):,}; months {len(evaluation.months)}; final months "
        f"{len(evaluation.final_months)}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
