"""Group ``elections``: per round the seed block, the counted VRFs, the randomness R, the
draw's weights and the elected lead, with the round's timeline and decision (§4, §8, §9)."""

import pyarrow as pa

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.convert import display_hash, hexify, schema

ELECTIONS = schema(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("seed_height", pa.int64(), False),
    ("seed_hash", pa.string()),
    ("vrf_count", pa.int64(), False),
    ("randomness", pa.string()),
    ("candidates", pa.int64(), False),
    ("total_weight", pa.int64(), False),
    ("lead", pa.string()),
    ("lead_package", pa.string()),
    ("lead_height", pa.int64()),
    ("race_open", pa.int64()),
    ("race_end", pa.int64()),
    ("race_close", pa.int64()),
    ("close_s", pa.int64()),
    ("reveal_start", pa.int64()),
    ("share_end", pa.int64()),
    ("post_reveal", pa.bool_(), False),
    ("decision", pa.string(), False),
    ("decided_height", pa.int64()),
    ("decision_reason", pa.string(), False),
    ("support", pa.int64(), False),
    ("settled", pa.bool_(), False),
)

ELECTION_VRFS = schema(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("actuary", pa.string(), False),
    ("vrf_id", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("beta", pa.string(), False),
)

ELECTION_WEIGHTS = schema(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("actuary", pa.string(), False),
    ("weight", pa.int64(), False),
    ("elected", pa.bool_(), False),
)


@month_asset(
    name="elections",
    group="elections",
    tables={
        "elections": ELECTIONS,
        "election_vrfs": ELECTION_VRFS,
        "election_weights": ELECTION_WEIGHTS,
    },
    description="VRF verification and the stake-weighted lead draw of every round.",
)
def elections(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    out: dict[str, list] = {"elections": [], "election_vrfs": [], "election_weights": []}
    for r in () if m is None else m.rounds:
        d = r.decision
        out["elections"].append(
            {
                "month": month,
                "round": r.round,
                "seed_height": r.seed_height,
                "seed_hash": display_hash(r.seed_hash),
                "vrf_count": len(r.vrfs),
                "randomness": hexify(r.randomness),
                "candidates": sum(1 for _, w in r.weights if w > 0),
                "total_weight": sum(w for _, w in r.weights),
                "lead": hexify(r.lead),
                "lead_package": r.lead_package,
                "lead_height": r.lead_height,
                "race_open": r.race_open,
                "race_end": r.race_end,
                "race_close": r.close,
                "close_s": r.close_s,
                "reveal_start": r.reveal_start,
                "share_end": r.share_end,
                "post_reveal": r.post_reveal,
                "decision": d.outcome,
                "decided_height": d.height,
                "decision_reason": d.reason,
                "support": d.support,
                "settled": r.settled,
            }
        )
        out["election_vrfs"] += [
            {
                "month": month,
                "round": r.round,
                "actuary": v.actuary.hex(),
                "vrf_id": v.inscription_id,
                "block_height": v.height,
                "beta": v.beta.hex(),
            }
            for v in r.vrfs
        ]
        out["election_weights"] += [
            {
                "month": month,
                "round": r.round,
                "actuary": key.hex(),
                "weight": weight,
                "elected": key == r.lead,
            }
            for key, weight in r.weights
        ]
    return out
