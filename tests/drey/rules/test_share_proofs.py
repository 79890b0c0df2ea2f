"""The share-proof verifier: verdicts keyed by every input, memoised, equal on worker
processes."""

from __future__ import annotations

import random
from dataclasses import replace

from drey.crypto.paillier import decryption_share, encrypt
from drey.rules.share_proofs import ShareVerifier, verdict_key

from .scenario import ScenarioKeys


def _jobs(keys: ScenarioKeys, n: int) -> list:
    pk = keys.dealing.public
    rng = random.Random(7)
    jobs = []
    for i in range(n):
        kem = encrypt(pk, rng.getrandbits(200), rng=rng)
        share = keys.dealing.shares[i % len(keys.dealing.shares)]
        jobs.append((kem, decryption_share(pk, share, kem, rng=rng)))
    return jobs


def test_verdict_key_depends_on_every_input(keys: ScenarioKeys) -> None:
    pk = keys.dealing.public
    ((kem, ds),) = _jobs(keys, 1)
    base = verdict_key(pk, kem, ds)
    assert verdict_key(pk, kem, ds) == base
    variants = [
        verdict_key(pk, kem + 1, ds),
        verdict_key(pk, kem, replace(ds, share=ds.share + 1)),
        verdict_key(pk, kem, replace(ds, e=ds.e + 1)),
        verdict_key(pk, kem, replace(ds, z=ds.z + 1)),
        verdict_key(pk, kem, replace(ds, index=ds.index % pk.players + 1)),
        verdict_key(replace(pk, v=pk.v + 1), kem, ds),
    ]
    assert len({base, *variants}) == 1 + len(variants)


def test_memoised_and_equal_on_worker_processes(keys: ScenarioKeys) -> None:
    pk = keys.dealing.public
    jobs = _jobs(keys, 6)
    jobs[2] = (jobs[2][0], replace(jobs[2][1], z=jobs[2][1].z ^ 1))  # a forged proof
    jobs.append(jobs[0])  # the same share twice is verified once
    serial = ShareVerifier()
    expected = [True, True, False, True, True, True, True]
    assert serial.verify(pk, jobs) == expected
    assert serial.verified == 6
    assert serial.verify(pk, jobs[:3]) == expected[:3] and serial.verified == 6

    with ShareVerifier(workers=2, pool_min_jobs=2) as pooled:
        assert pooled.verify(pk, jobs) == expected
        assert pooled._pool is not None  # the pool path ran
        assert pooled.memo.entries == serial.memo.entries
    assert pooled._pool is None
