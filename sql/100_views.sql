-- The views analysts query (schema "main"). Each is documented, column by column, with an
-- example query in docs/schema.md ("Warehouse views"). They read the tables of schema "data",
-- created from the table registry (pipelines/tables.py), and add the joins people would
-- otherwise repeat.

-- Chain ----------------------------------------------------------------------------------

CREATE VIEW blocks AS
SELECT b.*, m.month, to_timestamp(b.time) AS block_time
FROM data.blocks b
LEFT JOIN data.months m ON b.height > m.prev_snapshot AND b.height <= m.snapshot;

CREATE VIEW vault_outputs AS
SELECT o.*, s.block_height AS spent_height, s.txid AS spent_by
FROM data.vault_outputs o
LEFT JOIN data.vault_spends s ON s.spent_txid = o.txid AND s.spent_vout = o.vout;

CREATE VIEW inscriptions AS SELECT * FROM data.inscriptions;

-- Drey messages --------------------------------------------------------------------------

CREATE VIEW drey_messages AS
SELECT d.id, d.block_height, d.block_hash, d.tx_index, d.inscription_index, d.txid,
       d.kind, d.month, d.round, d.actuary, d.user_id,
       coalesce(s.status, 'unevaluated') AS status, s.reason, s.detail,
       d.body_len, d.fields
FROM data.drey_messages d
LEFT JOIN data.message_statuses s USING (id);

CREATE VIEW quarantine AS
SELECT q.id, q.block_height, q.tx_index, q.inscription_index, q.txid,
       'parse' AS stage, NULL::VARCHAR AS kind, NULL::VARCHAR AS month, NULL::BIGINT AS round,
       q.reason, q.detail, q.metaprotocol, q.content_type, q.body_len
FROM data.quarantine q
UNION ALL
SELECT d.id, d.block_height, d.tx_index, d.inscription_index, d.txid,
       'rules' AS stage, d.kind, s.month, s.round,
       s.reason, s.detail, 'drey/1' AS metaprotocol, NULL::VARCHAR AS content_type, d.body_len
FROM data.message_statuses s
JOIN data.drey_messages d USING (id)
WHERE s.status = 'quarantined';

CREATE VIEW message_statuses AS SELECT * FROM data.message_statuses;

-- Stakes, plans, deposits ----------------------------------------------------------------

CREATE VIEW stakes AS SELECT * FROM data.stakes;

CREATE VIEW plans AS
SELECT id, block_height, tx_index, inscription_index, txid, user_id, owner,
       status, reason, detail,
       count(vout) AS deposits, CAST(coalesce(sum(value), 0) AS BIGINT) AS deposited_sats
FROM data.plans
GROUP BY ALL;

CREATE VIEW deposits AS
SELECT user_id, owner, id AS plan_id, txid, vout, value, script_pubkey,
       block_height, spent_height, spent_by
FROM data.plans
WHERE status = 'valid' AND vout IS NOT NULL;

-- Months, snapshots, eligibility ---------------------------------------------------------

-- Plus what charts want: the month as a DATE, and the month's allocated Dreybits as
-- DECIMAL(38,0) (a monthly pool passes 2^53, which JavaScript numbers cannot hold).
CREATE VIEW months AS
SELECT m.*, CAST(m.month || '-01' AS DATE) AS month_start,
       (SELECT CAST(sum(a.dreybits) AS DECIMAL(38,0)) FROM data.allocations a
        WHERE a.month = m.month) AS allocated_dreybits
FROM data.months m;

CREATE VIEW eligibility AS SELECT * FROM data.eligibility;

-- Elections, packages, shares, reveals ---------------------------------------------------

CREATE VIEW elections AS SELECT * FROM data.elections;

CREATE VIEW election_vrfs AS SELECT * FROM data.election_vrfs;

CREATE VIEW election_weights AS SELECT * FROM data.election_weights;

CREATE VIEW packages AS
SELECT p.month, p.round, p.id, p.kind, d.actuary, p.block_height, p.tx_index,
       p.inscription_index, p.status, p.reason, p.detail, p.role, p.rank,
       d.body_len
FROM data.packages p
LEFT JOIN data.drey_messages d USING (id);

CREATE VIEW decryption_shares AS SELECT * FROM data.decryption_shares;

CREATE VIEW reveals AS SELECT * FROM data.reveals;
CREATE VIEW proofs AS SELECT * FROM data.proofs;
CREATE VIEW proof_systems AS SELECT * FROM data.proof_systems;

-- Formula, allocations, roots ------------------------------------------------------------

CREATE VIEW formula_runs AS SELECT * FROM data.formula_runs;

CREATE VIEW formula_inputs AS SELECT * FROM data.formula_inputs;

CREATE VIEW allocations AS
SELECT user_id, month, dreybits, row_hash, row_index FROM data.allocations;

CREATE VIEW month_roots AS
SELECT r.*, a.root AS warehouse_root, a.rows AS warehouse_rows, a.matches AS warehouse_matches
FROM data.month_roots r
LEFT JOIN data.allocation_roots a USING (month);

CREATE VIEW months_history AS SELECT * FROM data.months_history;

CREATE VIEW month_tree_nodes AS SELECT * FROM data.month_tree_nodes;

CREATE VIEW months_paths AS SELECT * FROM data.months_paths;

-- Race, rewards, penalties ---------------------------------------------------------------

CREATE VIEW race_results AS
SELECT r.*, coalesce(w.sats, 0) AS reward_sats
FROM data.race_results r
LEFT JOIN data.rewards w
    ON w.month = r.month AND w.round = r.round AND w.actuary = r.actuary
    AND (w.role = 'lead') = (r.role = 'lead');

CREATE VIEW rewards AS SELECT * FROM data.rewards;

CREATE VIEW penalties AS SELECT * FROM data.penalties;

CREATE VIEW redistribution AS SELECT * FROM data.redistribution;

-- Verification ---------------------------------------------------------------------------

CREATE VIEW verification AS SELECT * FROM data.verification;

CREATE VIEW warehouse_info AS SELECT * FROM data.build_info;

-- Rule coverage --------------------------------------------------------------------------

-- Every status, reason, offence and month outcome the rules can answer (the closed sets of
-- drey/rules/reasons.py and drey/messages/reasons.py; a test keeps them equal), with how often
-- and in which months this chain reached it. known = false: seen but not in the sets.
CREATE VIEW rule_coverage AS
WITH vocabulary AS (
    SELECT 'message_status' AS category, unnest(['valid', 'early', 'late', 'duplicate', 'ignored',
        'premature', 'unrevealed', 'quarantined', 'pending']) AS value
    UNION ALL
    SELECT 'quarantine_reason' AS category, unnest(['bad_cbor', 'bad_content_type', 'bad_field',
        'bad_kem', 'bad_metaprotocol', 'bad_params', 'bad_part_index', 'bad_signature',
        'bad_version', 'bad_vrf_proof', 'body_hash_mismatch', 'copy', 'duplicate_key',
        'forbidden_cbor', 'has_content_encoding', 'has_delegate', 'insufficient_signatures',
        'key_reuse', 'missing_body', 'missing_field', 'missing_metadata', 'multiple_bindings',
        'non_canonical_cbor', 'not_a_map', 'not_accepted_result', 'not_eligible', 'not_lead',
        'not_roster', 'not_secondary', 'outpoint_mismatch', 'owner_mismatch', 'stale_params',
        'too_deep', 'unknown_field', 'unknown_kind']) AS value
    UNION ALL
    SELECT 'share_entry_status' AS category, unnest(['valid', 'duplicate', 'premature', 'ignored',
        'quarantined', 'pending']) AS value
    UNION ALL
    SELECT 'share_entry_reason' AS category, unnest(['bad_share', 'bad_proof',
        'invalid_share_proof', 'not_owed', 'not_roster']) AS value
    UNION ALL
    SELECT 'offence' AS category, unnest(['missed_lead', 'invalid_lead_result',
        'wrong_secondary_result', 'copy', 'key_reuse', 'premature_share',
        'invalid_share_proof', 'withheld_share', 'vrf_withheld']) AS value
    UNION ALL
    SELECT 'month_outcome' AS category, unnest(['accepted', 'failed', 'pending', 'no_quorum',
        'overflow', 'under_threshold']) AS value
),
seen AS (
    SELECT 'message_status' AS category, status AS value, month FROM data.message_statuses
    UNION ALL
    SELECT 'message_status', 'quarantined', NULL FROM data.quarantine
    UNION ALL
    SELECT 'quarantine_reason', reason, month FROM quarantine
    UNION ALL
    SELECT 'share_entry_status', status, month FROM data.decryption_shares
    UNION ALL
    SELECT 'share_entry_reason', reason, month FROM data.decryption_shares WHERE reason IS NOT NULL
    UNION ALL
    SELECT 'offence', offence, month FROM data.penalties
    UNION ALL
    SELECT 'month_outcome', outcome, month FROM data.months
    UNION ALL
    SELECT 'month_outcome', 'no_quorum', month FROM data.months WHERE no_quorum
    UNION ALL
    SELECT 'month_outcome', 'overflow', month FROM data.months WHERE overflow
    UNION ALL
    SELECT 'month_outcome', 'under_threshold', month FROM data.months WHERE under_threshold
),
counted AS (
    SELECT category, value, count(*) AS occurrences,
           list_sort(list_distinct(list(month) FILTER (WHERE month IS NOT NULL))) AS months
    FROM seen GROUP BY ALL
)
SELECT category, value, v.category IS NOT NULL AS known,
       coalesce(c.occurrences, 0) AS occurrences, coalesce(c.months, []) AS months
FROM vocabulary v
FULL JOIN counted c USING (category, value)
ORDER BY category, value;
