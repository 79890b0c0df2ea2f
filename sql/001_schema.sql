-- The warehouse's physical tables, in schema "data". Analysts use the views of 100_views.sql
-- (schema "main"), which join these and keep their names stable.
--
-- Every table is loaded BY NAME from the Parquet files the assets wrote (pipelines/store.py),
-- so these column lists must match the Arrow schemas in pipelines/assets/*.py (a test checks
-- it). Conventions: hashes, txids and inscription ids are lowercase hex in display order, as
-- in the shards; keys, roots and field elements are lowercase hex of their big-endian bytes;
-- heights are BIGINT; sats and Dreybits are integers (Dreybits UBIGINT).
--
-- Written by DuckDB 2.0 with STORAGE_VERSION 'v1.5.0' so that DuckDB 1.5 readers open it:
-- keep to types and syntax DuckDB 1.5 knows.

CREATE SCHEMA IF NOT EXISTS data;

CREATE TABLE data.blocks (
    height BIGINT NOT NULL,
    hash VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    merkle_root VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    time BIGINT NOT NULL,
    bits UINTEGER NOT NULL,
    nonce UINTEGER NOT NULL,
    tx_count INTEGER NOT NULL,
    size INTEGER NOT NULL,
    weight INTEGER NOT NULL
);

CREATE TABLE data.vault_outputs (
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    vout INTEGER NOT NULL,
    value BIGINT NOT NULL,
    script_pubkey VARCHAR NOT NULL
);

CREATE TABLE data.vault_spends (
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    input INTEGER NOT NULL,
    spent_txid VARCHAR NOT NULL,
    spent_vout INTEGER NOT NULL
);

CREATE TABLE data.inscriptions (
    id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    number_in_tx INTEGER NOT NULL,
    input INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    first_input_prevout VARCHAR NOT NULL,
    content_type VARCHAR,
    content_type_raw BLOB,
    content_encoding VARCHAR,
    metaprotocol VARCHAR,
    pointer UBIGINT,
    pointer_raw BLOB,
    parents VARCHAR[] NOT NULL,
    parents_raw BLOB[] NOT NULL,
    delegate VARCHAR,
    delegate_raw BLOB,
    metadata BLOB,
    metadata_json VARCHAR,
    rune BLOB,
    properties BLOB,
    property_encoding BLOB,
    body BLOB,
    body_len BIGINT,
    body_sha256 VARCHAR,
    body_decoded BLOB,
    body_decode_error VARCHAR,
    refs_error VARCHAR,
    pushnum BOOLEAN NOT NULL,
    stutter BOOLEAN NOT NULL,
    duplicate_field BOOLEAN NOT NULL,
    incomplete_field BOOLEAN NOT NULL,
    unrecognized_even_field BOOLEAN NOT NULL
);

CREATE TABLE data.drey_messages (
    id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    month VARCHAR,
    round BIGINT,
    actuary VARCHAR,
    user_id UBIGINT,
    body_len BIGINT,
    fields VARCHAR NOT NULL
);

CREATE TABLE data.quarantine (
    id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    metaprotocol VARCHAR,
    content_type VARCHAR,
    body_len BIGINT
);

CREATE TABLE data.message_statuses (
    id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    kind VARCHAR,
    month VARCHAR,
    round BIGINT,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    detail VARCHAR NOT NULL
);

CREATE TABLE data.months (
    month VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    first_month VARCHAR,
    params_id VARCHAR,
    prev_snapshot BIGINT,
    snapshot BIGINT,
    start_height BIGINT,
    decided_height BIGINT,
    accepted_round BIGINT,
    rounds BIGINT NOT NULL,
    lead VARCHAR,
    roster_size BIGINT,
    eligible BIGINT,
    threshold BIGINT,
    need BIGINT,
    race_quorum BIGINT,
    no_quorum BOOLEAN,
    overflow BOOLEAN,
    under_threshold BOOLEAN,
    n_rows BIGINT,
    dreybits_per_month BIGINT,
    fee_bps BIGINT,
    lead_bps BIGINT,
    penalty_bps BIGINT,
    pool_sats BIGINT,
    formula_source VARCHAR,
    month_root VARCHAR,
    commitment VARCHAR,
    months_root VARCHAR,
    publication VARCHAR,
    slashed BIGINT,
    rewards_final BOOLEAN,
    settled BOOLEAN
);

CREATE TABLE data.eligibility (
    month VARCHAR NOT NULL,
    roster_index BIGINT NOT NULL,
    actuary VARCHAR NOT NULL,
    stake BIGINT NOT NULL,
    slashed BIGINT NOT NULL,
    weight BIGINT NOT NULL,
    eligible BOOLEAN NOT NULL
);

CREATE TABLE data.elections (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    seed_height BIGINT NOT NULL,
    seed_hash VARCHAR,
    vrf_count BIGINT NOT NULL,
    randomness VARCHAR,
    candidates BIGINT NOT NULL,
    total_weight BIGINT NOT NULL,
    lead VARCHAR,
    lead_package VARCHAR,
    lead_height BIGINT,
    race_open BIGINT,
    race_end BIGINT,
    race_close BIGINT,
    close_s BIGINT,
    reveal_start BIGINT,
    share_end BIGINT,
    post_reveal BOOLEAN NOT NULL,
    decision VARCHAR NOT NULL,
    decided_height BIGINT,
    decision_reason VARCHAR NOT NULL,
    support BIGINT NOT NULL,
    settled BOOLEAN NOT NULL
);

CREATE TABLE data.election_vrfs (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    actuary VARCHAR NOT NULL,
    vrf_id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    beta VARCHAR NOT NULL
);

CREATE TABLE data.election_weights (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    actuary VARCHAR NOT NULL,
    weight BIGINT NOT NULL,
    elected BOOLEAN NOT NULL
);

CREATE TABLE data.packages (
    month VARCHAR NOT NULL,
    round BIGINT,
    id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    detail VARCHAR NOT NULL,
    role VARCHAR,
    rank BIGINT
);

CREATE TABLE data.decryption_shares (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    shares_id VARCHAR NOT NULL,
    entry BIGINT NOT NULL,
    block_height BIGINT NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    actuary VARCHAR NOT NULL,
    roster_index BIGINT,
    package VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    detail VARCHAR NOT NULL
);

CREATE TABLE data.reveals (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    package VARCHAR NOT NULL,
    actuary VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    reveal_height BIGINT,
    share_indices BIGINT[],
    month_root VARCHAR,
    n_rows BIGINT,
    months_root VARCHAR,
    problem VARCHAR,
    valid BOOLEAN NOT NULL,
    agrees BOOLEAN NOT NULL,
    counts BOOLEAN NOT NULL
);

CREATE TABLE data.race_results (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    role VARCHAR NOT NULL,
    rank BIGINT,
    package VARCHAR NOT NULL,
    actuary VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    outcome VARCHAR,
    valid BOOLEAN,
    agrees BOOLEAN,
    counts BOOLEAN
);

CREATE TABLE data.rewards (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    actuary VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    rank BIGINT,
    sats BIGINT NOT NULL,
    final BOOLEAN NOT NULL
);

CREATE TABLE data.penalties (
    month VARCHAR NOT NULL,
    round BIGINT NOT NULL,
    offence VARCHAR NOT NULL,
    actuary VARCHAR NOT NULL,
    height BIGINT NOT NULL,
    base BIGINT NOT NULL,
    slash BIGINT NOT NULL,
    detail VARCHAR NOT NULL
);

CREATE TABLE data.redistribution (
    month VARCHAR NOT NULL,
    user_id UBIGINT NOT NULL,
    sats BIGINT NOT NULL
);

CREATE TABLE data.formula_runs (
    month VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    pool BIGINT,
    total_dreybits DECIMAL(38, 0),
    overflow BOOLEAN,
    module_ok BOOLEAN,
    module_detail VARCHAR,
    reference_agrees BOOLEAN
);

CREATE TABLE data.formula_inputs (
    month VARCHAR NOT NULL,
    row_index BIGINT NOT NULL,
    user_id UBIGINT NOT NULL,
    sat_blocks DECIMAL(38, 0) NOT NULL,
    age UINTEGER NOT NULL,
    dreybits UBIGINT
);

CREATE TABLE data.allocations (
    user_id UBIGINT NOT NULL,
    month VARCHAR NOT NULL,
    dreybits UBIGINT NOT NULL,
    row_hash VARCHAR NOT NULL,
    row_index BIGINT NOT NULL
);

CREATE TABLE data.allocation_roots (
    month VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    root VARCHAR NOT NULL,
    commitment VARCHAR NOT NULL,
    accepted_root VARCHAR,
    matches BOOLEAN NOT NULL
);

CREATE TABLE data.month_roots (
    month VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    accepted_round BIGINT,
    n_rows BIGINT,
    month_root VARCHAR,
    commitment VARCHAR,
    months_root VARCHAR,
    lead_round BIGINT,
    lead_month_root VARCHAR,
    lead_n_rows BIGINT,
    lead_months_root VARCHAR,
    lead_matches BOOLEAN
);

CREATE TABLE data.months_history (
    month VARCHAR NOT NULL,
    leaf_index BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    leaf VARCHAR NOT NULL,
    months_root VARCHAR NOT NULL
);

CREATE TABLE data.stakes (
    id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    actuary VARCHAR,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    detail VARCHAR NOT NULL,
    vout INTEGER,
    value BIGINT,
    script_pubkey VARCHAR,
    spent_height BIGINT,
    spent_by VARCHAR
);

CREATE TABLE data.plans (
    id VARCHAR NOT NULL,
    block_height BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    tx_index INTEGER NOT NULL,
    inscription_index INTEGER NOT NULL,
    txid VARCHAR NOT NULL,
    user_id UBIGINT,
    owner VARCHAR,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    detail VARCHAR NOT NULL,
    vout INTEGER,
    value BIGINT,
    script_pubkey VARCHAR,
    spent_height BIGINT,
    spent_by VARCHAR
);

CREATE TABLE data.verification (
    month VARCHAR,
    round BIGINT,
    check_name VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    detail VARCHAR NOT NULL,
    source VARCHAR NOT NULL
);

CREATE TABLE data.build_info (
    built_at VARCHAR NOT NULL,
    tip_height BIGINT,
    tip_hash VARCHAR,
    evaluation_tip BIGINT,
    first_month VARCHAR,
    pending_month VARCHAR,
    carried_sats BIGINT,
    duckdb_version VARCHAR NOT NULL,
    storage_version VARCHAR NOT NULL
);
