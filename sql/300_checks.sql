-- sql_checks: the claims of the rules engine's results, rechecked in SQL from the tables
-- alone. One row per check per month (and round where it applies): check_name, passed,
-- detail. The verification asset materializes these rows into "verification" (source 'sql')
-- beside the rules engine's own checks; the view stays live for ad-hoc use.

CREATE VIEW sql_checks AS

-- The accepted allocation has exactly n_rows rows.
SELECT m.month, m.accepted_round AS round, 'sql_allocation_rows' AS check_name,
       coalesce(a.n, 0) = m.n_rows AS passed,
       format('{} allocation rows, n_rows {}', coalesce(a.n, 0), m.n_rows) AS detail
FROM data.months m
LEFT JOIN (SELECT month, count(*) AS n FROM data.allocations GROUP BY month) a USING (month)
WHERE m.outcome = 'accepted'

UNION ALL
-- Σ dreybits is the monthly pool when some weight is positive, else 0 (§6).
SELECT m.month, m.accepted_round,
       'sql_allocation_total',
       coalesce(a.total, 0) = CASE WHEN coalesce(w.total_weight, 0) > 0
                                   THEN m.dreybits_per_month ELSE 0 END,
       format('sum {} for pool {} (total weight {})',
              coalesce(a.total, 0), m.dreybits_per_month, coalesce(w.total_weight, 0))
FROM data.months m
LEFT JOIN (SELECT month, sum(dreybits::HUGEINT) AS total FROM data.allocations GROUP BY month) a
    USING (month)
LEFT JOIN (SELECT month, sum(sat_blocks * (24 + least(age, 24))) AS total_weight
           FROM data.formula_inputs GROUP BY month) w USING (month)
WHERE m.outcome = 'accepted'

UNION ALL
-- Every allocation row is the formula's output for that input row (same user, same Dreybits).
SELECT a.month, NULL::BIGINT,
       'sql_allocation_is_formula_output',
       count(*) FILTER (WHERE f.user_id IS DISTINCT FROM a.user_id
                        OR f.dreybits IS DISTINCT FROM a.dreybits) = 0,
       format('{} of {} rows differ from formula_inputs',
              count(*) FILTER (WHERE f.user_id IS DISTINCT FROM a.user_id
                               OR f.dreybits IS DISTINCT FROM a.dreybits), count(*))
FROM data.allocations a
LEFT JOIN data.formula_inputs f ON f.month = a.month AND f.row_index = a.row_index
GROUP BY a.month

UNION ALL
-- The warehouse's own month tree over the published row hashes gives the accepted root.
SELECT m.month, m.accepted_round, 'sql_allocation_tree',
       coalesce(r.matches AND r.rows = m.n_rows AND r.root = m.month_root, false),
       coalesce(format('warehouse root {} over {} rows; accepted {} over {}',
                       r.root, r.rows, m.month_root, m.n_rows), 'no tree rebuilt')
FROM data.months m
LEFT JOIN data.allocation_roots r USING (month)
WHERE m.outcome = 'accepted'

UNION ALL
-- The accepted lead's revealed result claimed the recomputed roots (§9 validity).
SELECT m.month, m.accepted_round, 'sql_lead_claims_recomputed_roots',
       coalesce(r.lead_matches, false),
       format('lead claimed {} / {} rows / {}; recomputed {} / {} rows / {}',
              r.lead_month_root, r.lead_n_rows, r.lead_months_root,
              r.month_root, r.n_rows, r.months_root)
FROM data.months m
JOIN data.month_roots r USING (month)
WHERE m.outcome = 'accepted'

UNION ALL
-- The round's lead package is a `lead` signed by the elected lead.
SELECT e.month, e.round, 'sql_lead_is_elected',
       d.kind = 'lead' AND d.actuary = e.lead,
       format('{} by {}, elected {}', e.lead_package, d.actuary, e.lead)
FROM data.elections e
LEFT JOIN data.drey_messages d ON d.id = e.lead_package
WHERE e.lead_package IS NOT NULL

UNION ALL
-- Race ranks are 1 … k in chain position order (§8).
SELECT month, round, 'sql_race_rank_order',
       bool_and(rank = rn),
       format('{} race packages', count(*))
FROM (SELECT *, row_number() OVER (PARTITION BY month, round
                                   ORDER BY block_height, tx_index, inscription_index) AS rn
      FROM data.race_results WHERE role = 'race')
GROUP BY month, round

UNION ALL
-- A revealed package's reveal height is the height of its t-th valid share from distinct
-- roster indices, in chain order (§8).
SELECT r.month, r.round, 'sql_reveal_height',
       coalesce(t.block_height = r.reveal_height, false),
       format('{}: revealed at {}, t-th distinct valid share at {}',
              r.package, r.reveal_height, t.block_height)
FROM data.reveals r
JOIN data.months m USING (month)
LEFT JOIN (
    SELECT package, block_height,
           row_number() OVER (PARTITION BY package
                              ORDER BY block_height, tx_index, inscription_index, entry) AS n
    FROM (SELECT *, row_number() OVER (PARTITION BY package, roster_index
                                       ORDER BY block_height, tx_index, inscription_index,
                                                entry) AS k
          FROM data.decryption_shares WHERE status = 'valid')
    WHERE k = 1
) t ON t.package = r.package AND t.n = m.threshold
WHERE r.outcome IN ('result', 'copy', 'key_reuse')

UNION ALL
-- An unrevealed package really lacks t valid shares from distinct roster indices.
SELECT r.month, r.round, 'sql_unrevealed_lacks_shares',
       coalesce(s.n, 0) < m.threshold,
       format('{}: {} distinct valid shares, threshold {}', r.package, coalesce(s.n, 0),
              m.threshold)
FROM data.reveals r
JOIN data.months m USING (month)
LEFT JOIN (SELECT package, count(DISTINCT roster_index) AS n
           FROM data.decryption_shares WHERE status = 'valid' GROUP BY package) s
    ON s.package = r.package
WHERE r.outcome = 'unrevealed'

UNION ALL
-- An accepted round had the supermajority: 1 + agreeing counted secondaries ≥ need (§9).
SELECT e.month, e.round, 'sql_accepted_support',
       e.support >= m.need AND 1 + coalesce(v.agreeing, 0) >= m.need,
       format('support {}, agreeing revealed secondaries {}, need {}',
              e.support, coalesce(v.agreeing, 0), m.need)
FROM data.elections e
JOIN data.months m USING (month)
LEFT JOIN (SELECT month, round, count(*) AS agreeing FROM data.reveals
           WHERE role <> 'lead' AND agrees AND counts GROUP BY month, round) v
    USING (month, round)
WHERE e.decision = 'accepted'

UNION ALL
-- Rewards of a settled accepted month add up to pool_sats (§9).
SELECT m.month, m.accepted_round, 'sql_rewards_total',
       coalesce(w.total, 0) = m.pool_sats,
       format('rewards {} of pool {}', coalesce(w.total, 0), m.pool_sats)
FROM data.months m
LEFT JOIN (SELECT month, sum(sats) AS total FROM data.rewards GROUP BY month) w USING (month)
WHERE m.outcome = 'accepted' AND m.rewards_final

UNION ALL
-- Each reward is the §9 split: the lead pool × lead_bps // 10000 (everything when no race
-- secondary agreed); race rank q of k: rest × (k − q + 1) // (k(k + 1)/2), the remainder to
-- rank 1.
SELECT month, round, 'sql_reward_split',
       bool_and(sats = expected),
       format('{} rewards, {} differ from the split', count(*),
              count(*) FILTER (WHERE sats <> expected))
FROM (
    SELECT w.*,
           CASE WHEN w.role = 'lead'
                THEN CASE WHEN x.k = 0 THEN x.pool_sats ELSE x.lead_share END
                ELSE (x.pool_sats - x.lead_share) * (x.k - w.q + 1) // (x.k * (x.k + 1) // 2)
                     + CASE WHEN w.q = 1 THEN (x.pool_sats - x.lead_share) - x.base_total
                            ELSE 0 END
           END AS expected
    FROM (SELECT *, CASE WHEN role = 'lead' THEN NULL
                         ELSE row_number() OVER (PARTITION BY month, role = 'lead'
                                                 ORDER BY rank) END AS q
          FROM data.rewards) w
    JOIN (
        SELECT m.month, m.pool_sats, m.pool_sats * m.lead_bps // 10000 AS lead_share,
               coalesce(k.k, 0) AS k,
               coalesce((SELECT sum((m.pool_sats - m.pool_sats * m.lead_bps // 10000)
                                    * (k.k - q + 1) // (k.k * (k.k + 1) // 2))
                         FROM range(1, k.k + 1) AS t(q)), 0) AS base_total
        FROM data.months m
        LEFT JOIN (SELECT month, count(*) AS k FROM data.rewards WHERE role <> 'lead'
                   GROUP BY month) k USING (month)
        WHERE m.outcome = 'accepted'
    ) x USING (month)
)
GROUP BY month, round

UNION ALL
-- Slashes of one actuary in one month never exceed its stake weight at S_M, and each is at
-- most stake × penalty_bps // 10000 (§9).
SELECT p.month, NULL::BIGINT, 'sql_penalty_cap',
       bool_and(p.total <= p.base AND p.largest <= p.base * m.penalty_bps // 10000),
       format('{} actuaries slashed, {} over the cap', count(*),
              count(*) FILTER (WHERE NOT (p.total <= p.base
                                          AND p.largest <= p.base * m.penalty_bps // 10000)))
FROM (SELECT month, actuary, max(base) AS base, sum(slash) AS total, max(slash) AS largest
      FROM data.penalties GROUP BY month, actuary) p
JOIN data.months m USING (month)
GROUP BY p.month

UNION ALL
-- The months history: leaf i is month first_month + i, and its root is the month's.
SELECT h.month, NULL::BIGINT, 'sql_months_history',
       h.leaf_index = month_index(h.month) - month_index(m.first_month)
       AND h.months_root = m.months_root
       AND h.leaf = CASE WHEN m.outcome = 'accepted' THEN m.commitment ELSE repeat('0', 64) END,
       format('leaf {} = {}, months_root {}', h.leaf_index, h.leaf, h.months_root)
FROM data.months_history h
JOIN data.months m USING (month)

UNION ALL
-- The publication carries the accepted roots (§9).
SELECT m.month, m.accepted_round, 'sql_publication_matches',
       d.kind = 'allocation'
       AND json_extract_string(d.fields, '$.month_root') = m.month_root
       AND json_extract_string(d.fields, '$.months_root') = m.months_root
       AND CAST(json_extract_string(d.fields, '$.n_rows') AS BIGINT) = m.n_rows,
       format('{} publishes {}', m.publication, json_extract_string(d.fields, '$.month_root'))
FROM data.months m
LEFT JOIN data.drey_messages d ON d.id = m.publication
WHERE m.publication IS NOT NULL

UNION ALL
-- Each round's decision: accepted passes; a rejection fails with its height and reason.
SELECT month, round, 'round_accepted',
       decision = 'accepted',
       format('{} at {}: {}', decision, decided_height, decision_reason)
FROM data.elections
WHERE decision <> 'pending'

UNION ALL
-- Conduct, one row per offence of §9 per decided round: passes when nobody committed it;
-- otherwise the detail names the roster keys and what they did.
SELECT e.month, e.round, 'conduct_' || o.offence,
       count(p.actuary) = 0,
       CASE WHEN count(p.actuary) = 0 THEN 'none'
            ELSE string_agg(format('{} slashed {} ({})', left(p.actuary, 16), p.slash,
                                   coalesce(nullif(p.detail, ''), 'at ' || p.height)),
                            '; ' ORDER BY p.height, p.actuary) END
FROM data.elections e
CROSS JOIN (VALUES ('missed_lead'), ('invalid_lead_result'), ('wrong_secondary_result'),
                   ('copy'), ('key_reuse'), ('premature_share'), ('invalid_share_proof'),
                   ('withheld_share'), ('vrf_withheld')) o(offence)
LEFT JOIN data.penalties p
    ON p.month = e.month AND p.round = e.round AND p.offence = o.offence
WHERE e.decision <> 'pending'
GROUP BY e.month, e.round, o.offence

UNION ALL
-- The ledgers and the penalties agree: an elected lead without a lead package is slashed
-- for missed_lead; every invalid share proof and every premature share in the shares ledger
-- is slashed; every revealed copy is slashed for copy.
SELECT e.month, e.round, 'sql_missed_lead_penalized',
       p.actuary IS NOT NULL,
       format('elected {} posted no lead package; penalty {}', e.lead,
              coalesce(p.offence, 'missing'))
FROM data.elections e
LEFT JOIN data.penalties p
    ON p.month = e.month AND p.round = e.round AND p.offence = 'missed_lead'
    AND p.actuary = e.lead
WHERE e.lead IS NOT NULL AND e.lead_package IS NULL AND e.decision = 'rejected'

UNION ALL
SELECT s.month, s.round, 'sql_share_offences_penalized',
       count(*) FILTER (WHERE p.actuary IS NULL) = 0,
       format('{} ledger entries ({}), {} without a penalty', count(*),
              string_agg(DISTINCT coalesce(s.reason, s.status), ', '),
              count(*) FILTER (WHERE p.actuary IS NULL))
FROM (SELECT *, CASE WHEN status = 'premature' THEN 'premature_share'
                     ELSE 'invalid_share_proof' END AS offence
      FROM data.decryption_shares
      WHERE status = 'premature' OR reason = 'invalid_share_proof') s
LEFT JOIN data.penalties p
    ON p.month = s.month AND p.round = s.round AND p.actuary = s.actuary
    AND p.offence = s.offence
GROUP BY s.month, s.round

UNION ALL
SELECT r.month, r.round, 'sql_copies_penalized',
       count(*) FILTER (WHERE p.actuary IS NULL) = 0,
       format('{} copies revealed, {} without a copy penalty', count(*),
              count(*) FILTER (WHERE p.actuary IS NULL))
FROM data.reveals r
LEFT JOIN data.penalties p
    ON p.month = r.month AND p.round = r.round AND p.actuary = r.actuary
    AND p.offence = 'copy'
WHERE r.outcome = 'copy'
GROUP BY r.month, r.round

UNION ALL
-- Every parsed Drey message has exactly one status (nothing dropped, §1).
SELECT NULL::VARCHAR, NULL::BIGINT, 'sql_every_message_has_a_status',
       count(*) FILTER (WHERE s.id IS NULL) = 0,
       format('{} of {} parsed messages without a status', count(*) FILTER (WHERE s.id IS NULL),
              count(*))
FROM data.drey_messages d
LEFT JOIN data.message_statuses s USING (id);
