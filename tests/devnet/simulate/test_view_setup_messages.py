"""The oracle's chain view reads protocol v1.1's setup messages from chain bytes (inscribed on
the devnet, scanned, parsed with the founder key): a founder-signed ``circuit`` is valid, a
``circuit_contribution`` ignored, and neither is mistaken for a round message."""

from __future__ import annotations

from devnet.chain import Chain
from devnet.simulate.posting import envelope_of
from devnet.simulate.view import ChainView
from drey.messages import xonly_public_key
from drey.messages.circuit import Beacon, CircuitContribution, CircuitManifest, FileRef, PtauRef

FOUNDER_SECRET = b"\x42" * 32
ACTUARY_SECRET = b"\x07" * 32


def test_setup_messages_on_chain_get_their_statuses(chain: Chain) -> None:
    part = FileRef(b"\x01" * 32, ("ab" * 32 + "i0",))
    manifest = CircuitManifest(
        system="groth16-bn254/months-append/v1", months_depth=16, source=part,
        r1cs_sha256=b"\x02" * 32, wasm_sha256=b"\x03" * 32, ptau=PtauRef(b"\x04" * 32, 13),
        zkey=part, vk=part, contributions=("cd" * 32 + "i0",), beacon=Beacon(40, 10),
    ).signed(FOUNDER_SECRET)  # fmt: skip
    step = CircuitContribution(
        xonly_public_key(ACTUARY_SECRET), 1, b"\x05" * 32, b"\x06" * 64
    ).signed(ACTUARY_SECRET)
    with chain.lock:
        done = chain.inscribe([envelope_of(manifest), envelope_of(step)], fee_rate=1.0)
    manifest_id, step_id = done.inscription_ids
    view = ChainView(founder=xonly_public_key(FOUNDER_SECRET))
    view.sync(chain)
    assert view.base_status[manifest_id] == ("valid", None)
    assert view.base_status[step_id] == ("ignored", None)
    assert not view.by_round and view.params is None
