"""Derived tables rebuilt only when their inputs changed (pipelines/derived.py): a block with
no Drey message and no vault activity leaves the copies of the inscriptions and the vault
ledger, the parsed messages, the statuses and the binding tables as they were (the same
files), and the published warehouse still equals a build from nothing; a Drey message
rebuilds what it changes; the full job and a lost record rebuild regardless; a check that
passed is not run again on the same inputs, a failed one always is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from btc.ord.envelope import Envelope
from pipelines.derived import inputs_digest, passed_before, record_check
from pipelines.partitions import range_tags
from pipelines.sensors import PUBLICATION
from pipelines.settings import EVALUATION_STATE
from pipelines.store import Store

from .chainfix import DemoChain, build_chain
from .harness import Pipeline, make_pipeline, warehouse_contents

# What a quiet block leaves alone.
DERIVED = (
    "inscriptions",
    "vault_outputs",
    "vault_spends",
    "drey_messages",
    "quarantine",
    "message_statuses",
    "stakes",
    "plans",
)


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def _identities(store: Store) -> dict[str, tuple[int, int, int]]:
    return {t: _identity(store.table_path(t)) for t in DERIVED}


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dg.MetadataValue]:
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None and e.asset_key.to_user_string() == asset
    ]
    return event.step_materialization_data.materialization.metadata


def _kept(result: dg.ExecuteInProcessResult) -> set[str]:
    return {
        e.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None
        and "kept" in e.step_materialization_data.materialization.metadata
    }


@pytest.fixture
def followed(tmp_path: Path) -> Iterator[tuple[DemoChain, Path, Pipeline]]:
    tc = build_chain(tmp_path / "datadir", days=40)
    shards = tmp_path / "shards"
    tc.write_shards(shards, skip_empty=True)
    pipeline = make_pipeline(shards, tmp_path / "warehouse", tc.founder)
    pipeline.run_all()
    yield tc, shards, pipeline
    tc.chain.close()


def _fresh_build(tc: DemoChain, shards: Path, root: Path) -> Pipeline:
    fresh = make_pipeline(shards, root, tc.founder)
    fresh.run_all()
    return fresh


def test_a_quiet_block_keeps_the_derived_tables_and_the_warehouse_is_a_fresh_build(
    followed: tuple[DemoChain, Path, Pipeline], tmp_path: Path
) -> None:
    tc, shards, pipeline = followed
    store = pipeline.warehouse.store
    before = _identities(store)
    saved = _identity(store.state_path(EVALUATION_STATE))
    tip = tc.mine_day()
    tc.write_shards(shards, skip_empty=True)
    chain = pipeline.run("chain_job")
    assert _identities(store) == before
    assert _kept(chain) == set(DERIVED)
    assert store.read("blocks").column("height")[-1].as_py() == tip
    # The rules read nothing in the new block: the saved evaluation is carried to its tip, and
    # only that tip is saved (drey.rules.advance).
    assert _metadata(chain, "rules_evaluation")["advanced"].value is True
    assert _identity(store.state_path(EVALUATION_STATE)) == saved
    assert pipeline.warehouse.evaluation().tip_height == tip
    pipeline.run("months_job", asset_selection=list(PUBLICATION))
    fresh = _fresh_build(tc, shards, tmp_path / "fresh")
    assert warehouse_contents(store.warehouse) == warehouse_contents(
        fresh.warehouse.store.warehouse
    )
    walked = fresh.warehouse.evaluation()
    carried = pipeline.warehouse.evaluation()
    assert carried == walked and carried.steady == walked.steady
    assert carried.binding.height == walked.binding.height == tip


def test_a_drey_message_rebuilds_what_it_changes(
    followed: tuple[DemoChain, Path, Pipeline], tmp_path: Path
) -> None:
    tc, shards, pipeline = followed
    store = pipeline.warehouse.store
    before = _identities(store)
    junk = Envelope(body=b"{}", content_type="application/json", metaprotocol="drey/1")
    tc.inscribe("late junk", [junk])
    tc.write_shards(shards, skip_empty=True)
    chain = pipeline.run("chain_job")
    changed = {t for t, identity in _identities(store).items() if identity != before[t]}
    # A quarantined message: the vault ledger's copies are kept; the binding tables read the
    # messages and statuses, which changed, so they are built again.
    assert changed == set(DERIVED) - {"vault_outputs", "vault_spends"}
    assert _kept(chain) == set(DERIVED) - changed
    assert tc.ids["late junk"] in store.read("quarantine").column("id").to_pylist()
    pipeline.run("months_job", asset_selection=list(PUBLICATION))
    assert warehouse_contents(store.warehouse) == warehouse_contents(
        _fresh_build(tc, shards, tmp_path / "fresh").warehouse.store.warehouse
    )


def test_the_full_job_and_a_lost_record_rebuild(
    followed: tuple[DemoChain, Path, Pipeline],
) -> None:
    _, _, pipeline = followed
    store = pipeline.warehouse.store
    before = _identities(store)
    # As a crash between a table's rename and its record leaves it.
    store.built_from_path("plans").unlink()
    store.built_from_path("message_statuses").unlink()
    chain = pipeline.run("chain_job")
    after = _identities(store)
    # The statuses written again make stakes, which reads them, build again too.
    rebuilt = {t for t in DERIVED if after[t] != before[t]}
    assert rebuilt == {"plans", "message_statuses", "stakes"}
    assert "plans" not in _kept(chain)
    full = pipeline.run("full_job", tags=range_tags(pipeline.months()))
    assert _kept(full) == set()
    rewritten = {t for t, identity in _identities(store).items() if identity != after[t]}
    # The parser reads the selection again, and its own digest of it (the same rows at the
    # same places) leaves its two outputs' files as they are.
    assert rewritten == set(DERIVED) - {"drey_messages", "quarantine"}


def test_the_digest_follows_each_file_s_identity_not_its_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    digest = inputs_digest([a, b])
    assert inputs_digest([a, b]) == digest
    assert inputs_digest([a, b], extra=["founder"]) != digest
    copy = tmp_path / "copy"
    copy.write_bytes(a.read_bytes())
    os.replace(copy, a)  # rewritten as every file here is: the same bytes, another file
    assert inputs_digest([a, b]) != digest
    b.unlink()
    assert inputs_digest([a, b]) != inputs_digest([a])


def test_a_passed_check_is_remembered_and_a_failed_one_is_not(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert passed_before("chain_job", store, "c", "d1") is None
    record_check(store, "c", "d1", dg.AssetCheckResult(passed=True))
    remembered = passed_before("chain_job", store, "c", "d1")
    assert remembered is not None and remembered.passed
    assert passed_before("chain_job", store, "c", "d2") is None  # other inputs
    assert passed_before("full_job", store, "c", "d1") is None  # the full job runs every check
    record_check(store, "c", "d1", dg.AssetCheckResult(passed=False))
    assert passed_before("chain_job", store, "c", "d1") is None


def test_the_coverage_is_kept_and_an_evaluation_missing_a_status_is_walked_again(
    followed: tuple[DemoChain, Path, Pipeline],
) -> None:
    tc, shards, pipeline = followed
    tc.mine_day()
    tc.write_shards(shards, skip_empty=True)
    quiet = pipeline.run("chain_job")
    (check,) = [
        c for c in quiet.get_asset_check_evaluations() if c.check_name == "evaluation_covers_chain"
    ]
    assert check.passed and "kept" in check.metadata
    # An evaluation that lost a status is not carried (it has fewer statuses than messages):
    # the walk gives every message its status again.
    warehouse = pipeline.warehouse
    good = warehouse.evaluation()
    warehouse.save_evaluation(replace(good, statuses=good.statuses[1:]))
    walked = pipeline.run("chain_job")
    assert _metadata(walked, "rules_evaluation")["advanced"].value is False
    assert warehouse.evaluation() == good
    (check,) = [
        c for c in walked.get_asset_check_evaluations() if c.check_name == "evaluation_covers_chain"
    ]
    assert check.passed and "kept" not in check.metadata
