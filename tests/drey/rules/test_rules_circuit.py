"""Protocol v1.1's setup messages under the v1 rules (docs/protocol/proofs.md): a founder-signed
``circuit`` manifest is valid on its own, one signed by anyone else is quarantined, and a phase-2
contribution is ignored, saying why, while no params' circuit lists it. The months are unchanged."""

from __future__ import annotations

from drey.messages.circuit import Beacon, CircuitContribution, CircuitManifest, FileRef, PtauRef

from .scenario import ScenarioBuilder


def _manifest() -> CircuitManifest:
    part = FileRef(b"\x01" * 32, ("ab" * 32 + "i0",))
    return CircuitManifest(
        system="groth16-bn254/months-append/v1", months_depth=16, source=part,
        r1cs_sha256=b"\x02" * 32, wasm_sha256=b"\x03" * 32, ptau=PtauRef(b"\x04" * 32, 13),
        zkey=part, vk=part, contributions=("cd" * 32 + "i0",), beacon=Beacon(40, 10),
    )  # fmt: skip


def test_setup_messages_get_statuses_and_change_no_month(builder: ScenarioBuilder) -> None:
    actuary = builder.keys.actuaries[0]
    founder_signed = builder.inscribe(20, _manifest().signed(builder.keys.founder_secret))
    stranger_signed = builder.inscribe(21, _manifest().signed(actuary.secret))
    step = CircuitContribution(actuary.key, 1, b"\x05" * 32, b"\x06" * 64).signed(actuary.secret)
    contribution = builder.inscribe(22, step)
    builder.play_round("2025-01", 0)
    ev = builder.evaluate()
    valid = ev.status(founder_signed.inscription_id)
    assert (valid.status, valid.month) == ("valid", None)
    refused = ev.status(stranger_signed.inscription_id)
    assert (refused.status, refused.reason) == ("quarantined", "bad_signature")
    ignored = ev.status(contribution.inscription_id)
    assert ignored.status == "ignored" and "no params' circuit lists" in ignored.detail
    assert ev.month("2025-01").outcome == "accepted"
