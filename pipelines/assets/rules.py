"""Group ``rules``: the rules engine run over the whole committed chain.

``rules_evaluation`` builds the engine's inputs from the warehouse's copies of the shards and
the parsed messages, calls :func:`drey.rules.evaluate` once (months depend on the months
before them, so the engine walks them in order) or, when the new blocks change nothing the
rules read, carries the saved evaluation to the new tip (:mod:`drey.rules.advance`), saves
the frozen result for the month assets, registers new months as partitions, and reports
which months changed since the last evaluation (``affected_months``): the month sensor runs
only those.

``message_statuses`` is the engine's one status per Drey message (§1).
"""

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa

from drey.rules import ChainView, Evaluation, FormulaPartInscription, PositionedMessage
from drey.rules.advance import advance
from drey.rules.memo import Memo
from drey.rules.share_proofs import ShareVerifier
from pipelines.assets.catalog import materialized
from pipelines.assets.groups import RULES
from pipelines.convert import to_table
from pipelines.derived import inputs_digest, kept_metadata, passed_before, record_check
from pipelines.evaluation import (
    PART_COLUMNS,
    MonthDigests,
    chain_view,
    circuit_part_ids,
    formula_part_ids,
    month_digests,
    month_keys,
    part_inscriptions,
    run_rules,
)
from pipelines.partitions import register_months, remove_months
from pipelines.sensors import FULL_JOB
from pipelines.settings import EVALUATION_STATE, Warehouse
from pipelines.sources import read_by_inscription_id, read_inscriptions_by_id
from pipelines.store import Store
from pipelines.tables import MESSAGE_STATUSES

DIGESTS_STATE = "month_digests"
MEMO_STATE = "evaluation_memo"
VAULT_ROWS = "vault_rows"  # in memory only: the last chain view's vault outputs
MESSAGE_STATUSES_TABLE = "message_statuses"
CARRIER_COLUMNS = ("txid", "first_input_prevout")  # what the chain view reads of inscriptions
MESSAGE_TABLES = ("drey_messages", "quarantine")  # the parser's two outputs
COVERAGE_CHECK = "evaluation_covers_messages"  # the half of evaluation_covers_chain it keeps


def status_table(evaluation: Evaluation) -> pa.Table:
    return to_table(
        (
            {
                "id": s.inscription_id,
                "block_height": s.position[0],
                "tx_index": s.position[1],
                "inscription_index": s.position[2],
                "kind": s.kind,
                "month": s.month,
                "round": s.round,
                "status": s.status,
                "reason": s.reason,
                "detail": s.detail,
            }
            for s in evaluation.statuses
        ),
        MESSAGE_STATUSES,
    )


@dg.multi_asset(
    group_name=RULES,
    outs={
        "rules_evaluation": dg.AssetOut(
            description="drey.rules.evaluate over the committed chain (saved state).",
            kinds={"python"},
        ),
        "message_statuses": dg.AssetOut(
            description="One final status per Drey message (PROTOCOL.md §1).",
            kinds={"parquet"},
        ),
    },
    deps=["blocks", "vault_outputs", "vault_spends", "inscriptions", "drey_messages"],
)
def rules_evaluation(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    store = warehouse.store
    founder = warehouse.founder_key
    if founder is None:
        raise dg.Failure("no founder key configured (DREY_FOUNDER): nothing can be verified")
    messages: list[PositionedMessage] = warehouse.messages()
    # The carriers' first prevouts only: the bodies are read for the formula parts alone.
    carriers = store.read("inscriptions", columns=CARRIER_COLUMNS)
    chain = _chain_of(warehouse, carriers)
    parts = _parts_of(messages, store, warehouse.shards)
    previous_evaluation = _saved_evaluation(warehouse.evaluation())
    started = time.perf_counter()
    evaluation = _advanced(context, chain, messages, parts, previous_evaluation)
    advanced = evaluation is not None
    verifier, memo = ShareVerifier(), Memo()  # the advanced path verifies and asks nothing
    if evaluation is None:
        evaluation, verifier, memo = _walked(
            warehouse, chain, messages, parts, previous_evaluation, founder=founder
        )
    seconds = time.perf_counter() - started
    statuses_written = _write_statuses(context, store, previous_evaluation, evaluation)
    saved = warehouse.state(EVALUATION_STATE)
    warehouse.save_evaluation(evaluation, carried_from=saved if advanced else None)
    store.record_built_from(MESSAGE_STATUSES_TABLE, _statuses_token(evaluation))
    resumed = _resumed_after(previous_evaluation, evaluation)
    if not advanced:
        _save_memo(warehouse, memo, resumed=resumed is not None)

    previous: MonthDigests | None = warehouse.state(DIGESTS_STATE)
    digests = _digests(evaluation, previous, previous_evaluation, advanced=advanced)
    affected = digests.changed_since(previous)
    removed = digests.removed_since(previous)
    added = register_months(context.instance, month_keys(evaluation))
    if removed:
        remove_months(context.instance, removed)
        for table in store.month_tables():
            store.drop_months(table, set(digests.digests))
    warehouse.save_state(DIGESTS_STATE, digests)

    outcomes = {m.month: m.outcome for m in evaluation.months}
    context.log.info(
        f"evaluated {len(messages)} messages to height {evaluation.tip_height} in "
        f"{seconds:.1f} s ({verifier.verified} share proofs verified); months {outcomes}; "
        f"affected {affected}; "
        + (
            "advanced: the new blocks change nothing the rules read"
            if advanced
            else f"resumed after {resumed or 'nothing (walked from the first month)'}"
        )
    )
    yield dg.MaterializeResult(
        asset_key="rules_evaluation",
        metadata={
            "tip_height": evaluation.tip_height,
            "messages": len(messages),
            "months": dg.MetadataValue.json(outcomes),
            "pending_month": evaluation.pending_month or "",
            "affected_months": dg.MetadataValue.json(affected),
            "removed_months": dg.MetadataValue.json(removed),
            "added_partitions": dg.MetadataValue.json(added),
            "checks_failed": sum(not c.passed for c in evaluation.checks),
            "seconds": round(seconds, 3),
            "resumed_after": resumed or "",
            "advanced": advanced,
            "bindings_kept": evaluation.binding.kept if evaluation.binding else 0,
            "share_proofs_verified": verifier.verified,
            "share_proofs_remembered": verifier.remembered,
            "memo_hits": memo.hits,
            "memo_misses": memo.misses,
        },
    )
    if statuses_written is None:
        metadata = kept_metadata(store, MESSAGE_STATUSES_TABLE)
    else:
        metadata = materialized(statuses_written)
    yield dg.MaterializeResult(asset_key=MESSAGE_STATUSES_TABLE, metadata=metadata)


def _advanced(
    context: dg.AssetExecutionContext,
    chain: ChainView,
    messages: list[PositionedMessage],
    parts: list[FormulaPartInscription],
    previous: Evaluation | None,
) -> Evaluation | None:
    """The saved evaluation carried to the chain's tip when the new blocks change nothing it
    reads (:mod:`drey.rules.advance`), else ``None``. The monthly full job always walks."""
    if previous is None or context.run.job_name == FULL_JOB:
        return None
    return advance(previous, chain, messages, tip_height=chain.tip, formula_parts=parts)


def _walked(
    warehouse: Warehouse,
    chain: ChainView,
    messages: list[PositionedMessage],
    parts: list[FormulaPartInscription],
    previous: Evaluation | None,
    *,
    founder: bytes,
) -> tuple[Evaluation, ShareVerifier, Memo]:
    """The month walk (resumed after ``previous``'s final months that still hold). Pure
    results are kept between runs (share-proof verdicts, plan signatures, formula runs, month
    trees): a grown chain recomputes only what its new blocks changed."""
    # A copy: the memo grows in place, and the saved entries may be shared with other readers.
    memo = Memo(entries=dict(warehouse.state(MEMO_STATE, {})))
    with ShareVerifier(memo=memo, workers=warehouse.workers) as verifier:
        evaluation = run_rules(
            chain,
            messages,
            founder=founder,
            parts=parts,
            share_verifier=verifier,
            memo=memo,
            resume_from=previous,
        )
    return evaluation, verifier, memo


def _digests(
    evaluation: Evaluation,
    previous: MonthDigests | None,
    previous_evaluation: Evaluation | None,
    *,
    advanced: bool,
) -> MonthDigests:
    """The month digests: the previous ones when the evaluation was carried from the one they
    describe (its months are the same objects), else taken afresh."""
    if (
        advanced
        and isinstance(previous, MonthDigests)
        and previous_evaluation is not None
        and previous.describe(previous_evaluation)
        and evaluation.steady is not None
    ):
        return MonthDigests(previous.digests, of=evaluation.steady.tip_hash)
    return month_digests(evaluation)


def _statuses_token(evaluation: Evaluation) -> str:
    """Names the saved evaluation whose statuses ``message_statuses`` holds."""
    return f"statuses of the evaluation at {evaluation.tip_height}"


def _write_statuses(
    context: dg.AssetExecutionContext,
    store: Store,
    previous: Evaluation | None,
    evaluation: Evaluation,
) -> pa.Table | None:
    """Write ``message_statuses`` unless it already holds these statuses (then ``None``): the
    file's record names the saved evaluation it was written from, and that evaluation's
    statuses equal the new ones (a resumed walk reuses the final months' status objects, so
    the comparison is mostly by identity). The record is removed before the table is written
    and written again only once the new evaluation is saved: a crash between leaves no
    record, and the next run writes the table."""
    if (
        previous is not None
        and context.run.job_name != FULL_JOB
        and store.built_from(MESSAGE_STATUSES_TABLE) == _statuses_token(previous)
        and store.table_path(MESSAGE_STATUSES_TABLE).exists()
        and previous.statuses == evaluation.statuses
    ):
        return None
    statuses = status_table(evaluation)
    store.write(MESSAGE_STATUSES_TABLE, statuses)
    return statuses


def _chain_of(warehouse: Warehouse, carriers: pa.Table) -> ChainView:
    """The rules' view of the committed chain: blocks, the vault ledger, first prevouts (the
    last view's vault outputs kept in memory for the rows that did not change, and its whole
    ledger while no vault output was paid or spent)."""
    store = warehouse.store
    blocks = store.read("blocks")
    if blocks.num_rows == 0:
        raise dg.Failure("no committed blocks yet")
    view, vault = chain_view(
        blocks,
        store.read("vault_outputs"),
        store.read("vault_spends"),
        inscriptions=carriers,
        previous=warehouse.recalled(VAULT_ROWS),
    )
    warehouse.remember(VAULT_ROWS, vault)
    return view


def _parts_of(
    messages: list[PositionedMessage], store: Store, shards: Path
) -> list[FormulaPartInscription]:
    """The non-Drey inscriptions manifests name: formula parts (whose bodies the warehouse's
    inscriptions keep), and circuits' verifying keys (read from the shards, whose bodies the
    warehouse tables do not keep)."""
    named = read_by_inscription_id(
        store.table_path("inscriptions"), formula_part_ids(messages), columns=PART_COLUMNS
    )
    vk_ids = circuit_part_ids(messages, files=("vk",))
    vks = read_inscriptions_by_id(shards, vk_ids, columns=PART_COLUMNS)
    return part_inscriptions(named) + part_inscriptions(vks)


def _save_memo(warehouse: Warehouse, memo: Memo, *, resumed: bool) -> None:
    """Keep the memo for the next run. A resumed walk does not ask for its reused months'
    entries: keep them all (a reorg below the resume point needs them); a walk from the first
    month prunes what nothing asked for."""
    kept = memo.entries if resumed else memo.used_entries()
    if memo.misses or len(kept) != len(memo.entries):  # something new, or something stale
        warehouse.save_state(MEMO_STATE, kept)


def _saved_evaluation(saved: object) -> Evaluation | None:
    """The last saved evaluation if it can be resumed from (one saved before final months were
    kept has none: the walk starts from the first month)."""
    if isinstance(saved, Evaluation) and hasattr(saved, "final_months"):
        return saved
    return None


def _resumed_after(previous: Evaluation | None, evaluation: Evaluation) -> str | None:
    """The last month the walk reused from ``previous`` unchanged, or ``None``."""
    if previous is None:
        return None
    reused = None
    for old, new in zip(previous.final_months, evaluation.final_months, strict=False):
        if old is not new:
            break
        reused = new.month
    return reused


@dg.asset_check(
    asset="rules_evaluation", blocking=True, additional_deps=["drey_messages", "quarantine"]
)
def evaluation_covers_chain(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """The evaluation reaches the committed tip and gives every Drey message (parsed or
    quarantined by the parser) exactly one status. The second half is a function of the
    message tables and the saved evaluation's file (a carried tip adds no message): a pass on
    the same files is not computed again."""
    evaluation: Evaluation | None = warehouse.evaluation()
    store = warehouse.store
    if evaluation is None:
        return dg.AssetCheckResult(passed=False, metadata={"problem": "no evaluation saved"})
    blocks = store.read("blocks", columns=["height"])
    tip = blocks.column("height")[-1].as_py() if blocks.num_rows else None
    sources = [store.table_path(t) for t in MESSAGE_TABLES] + [store.state_path(EVALUATION_STATE)]
    digest = inputs_digest(sources)
    job = context.run.job_name
    covered = passed_before(job, store, COVERAGE_CHECK, digest)
    if covered is None:
        covered = _every_message_has_one_status(store, evaluation)
        record_check(store, COVERAGE_CHECK, digest, covered)
    return dg.AssetCheckResult(
        passed=covered.passed and evaluation.tip_height == tip,
        metadata={
            **covered.metadata,
            "evaluation_tip": evaluation.tip_height,
            "committed_tip": tip,
        },
    )


def _every_message_has_one_status(store: Store, evaluation: Evaluation) -> dg.AssetCheckResult:
    expected: set[str] = set()
    for table in MESSAGE_TABLES:
        data = store.read(table).select(["id", "block_height"]).to_pydict()
        expected |= {
            i
            for i, h in zip(data["id"], data["block_height"], strict=True)
            if h <= evaluation.tip_height
        }
    ids = [s.inscription_id for s in evaluation.statuses]
    missing = sorted(expected - set(ids))
    return dg.AssetCheckResult(
        passed=not missing and len(ids) == len(set(ids)),
        metadata={
            "statuses": len(ids),
            "messages_without_status": dg.MetadataValue.json(missing[:20]),
        },
    )
