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
