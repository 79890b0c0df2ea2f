"""Group ``elections``: per round the seed block, the counted VRFs, the randomness R, the
draw's weights and the elected lead, with the round's timeline and decision (§4, §8, §9)."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS
from pipelines.convert import display_hash, hexify


@month_asset(
    name="elections",
    group=MONTHS,
    tables={
        "elections": "Each round: seed, the stake-weighted lead draw, timeline and decision.",
        "election_vrfs": "Every VRF output of every round and its verification.",
        "election_weights": "The stake weights each round's draw used.",
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
