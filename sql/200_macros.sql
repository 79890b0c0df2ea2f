-- Macros for analysts (documented in docs/schema.md, "Macros").

-- (year − 1970) × 12 + (month − 1), the month index of PROTOCOL.md §7.
CREATE MACRO month_index(m) AS
    (CAST(substr(m, 1, 4) AS INTEGER) - 1970) * 12 + CAST(substr(m, 6, 2) AS INTEGER) - 1;

-- The month a block height belongs to: S_{M−1} < h ≤ S_M (NULL before the first month or
-- past the last snapshot).
CREATE MACRO month_of_height(h) AS
    (SELECT max(month) FROM data.months WHERE h > prev_snapshot AND h <= snapshot);

-- The v1 formula's weight of an input row (§6): sat_blocks × (24 + min(age, 24)).
CREATE MACRO formula_weight(sat_blocks, age) AS sat_blocks * (24 + least(age, 24));

-- Every accepted allocation of one user, month by month.
CREATE MACRO user_allocations(uid) AS TABLE
    SELECT a.month, a.dreybits, a.row_hash, a.row_index, r.month_root
    FROM allocations a JOIN month_roots r USING (month)
    WHERE a.user_id = uid
    ORDER BY a.month;

-- A customer's proof of one allocation row (docs/schema.md, "Row proofs"): the row, its
-- sibling path up to the month root (level 0 from the row hashes, the levels above from
-- month_tree_nodes; a missing level-0 sibling is the zero padding), the month commitment, and
-- the commitment's path in the latest months tree. `drey-warehouse verify-row` checks it.
CREATE MACRO row_proof(uid, m) AS TABLE
    WITH leaf AS (
        SELECT user_id, month, dreybits, row_index, row_hash
        FROM data.allocations WHERE user_id = uid AND month = m
    ),
    steps AS (
        SELECT leaf.row_index, unnest(range(CAST(max(n.level) AS BIGINT))) AS k
        FROM leaf JOIN data.month_tree_nodes n ON n.month = leaf.month
        GROUP BY leaf.row_index
    ),
    siblings AS (
        SELECT s.k, CASE WHEN s.k = 0 THEN coalesce(a.row_hash, repeat('0', 64))
                         ELSE n.hash END AS sibling
        FROM steps s
        LEFT JOIN data.allocations a
            ON s.k = 0 AND a.month = m AND a.row_index = xor(s.row_index, 1)
        LEFT JOIN data.month_tree_nodes n
            ON s.k > 0 AND n.month = m AND n.level = s.k
               AND n.node_index = xor(s.row_index >> s.k, 1)
    )
    SELECT leaf.user_id, leaf.month, leaf.dreybits, leaf.row_index, leaf.row_hash,
           (SELECT list(sibling ORDER BY k) FROM siblings) AS month_path,
           r.root AS month_root, CAST(r.rows AS BIGINT) AS n_rows, r.commitment,
           p.leaf_index AS months_index, p.path AS months_path, p.months_root
    FROM leaf
    JOIN data.allocation_roots r ON r.month = leaf.month
    JOIN data.months_paths p ON p.month = leaf.month;

-- What happened in each round of a month, in order.
CREATE MACRO round_timeline(m) AS TABLE
    SELECT round, seed_height, vrf_count, lead, lead_height, race_open, race_close,
           reveal_start, share_end, decision, decided_height, decision_reason, support
    FROM elections
    WHERE month = m
    ORDER BY round;

-- An actuary's rewards (positive) and slashes (negative), month by month.
CREATE MACRO actuary_ledger(a) AS TABLE
    SELECT month, round, 'reward' AS entry, role AS detail, sats
    FROM rewards WHERE actuary = a
    UNION ALL
    SELECT month, round, 'penalty' AS entry, offence AS detail, -slash AS sats
    FROM penalties WHERE actuary = a
    ORDER BY month, round, entry;

-- Failed verification rows, of one month or (NULL) of all.
CREATE MACRO failed_checks(m) AS TABLE
    SELECT * FROM verification
    WHERE NOT passed AND (m IS NULL OR month = m)
    ORDER BY month, round, check_name;
