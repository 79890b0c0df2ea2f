"""The devnet's identity, ``network.json``: what a reader must be told to follow this network
(the chain, the founder key that anchors trust, the operator, the vault scripts), written apart
from the answer key (what the network should compute), so that nothing but the answer-key
comparison ever reads the answer key.

Format ``drey-devnet-network/1`` (docs/simulator.md): ``network`` (``"regtest"``), ``founder``
and ``operator`` (x-only keys, hex), ``vault`` (the vault scriptPubKeys, hex, in params order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from devnet.simulate.errors import ScenarioError

__all__ = ["FORMAT", "NETWORK_FILE", "NetworkIdentity"]

FORMAT = "drey-devnet-network/1"
NETWORK_FILE = "network.json"


@dataclass(frozen=True, slots=True)
class NetworkIdentity:
    """Who the devnet's trust anchors are and which outputs are vault outputs."""

    network: str
    founder: bytes
    operator: bytes
    vault_scripts: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "network": self.network,
            "founder": self.founder.hex(),
            "operator": self.operator.hex(),
            "vault": [v.hex() for v in self.vault_scripts],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> NetworkIdentity:
        if data.get("format") != FORMAT:
            raise ScenarioError(f"not a {FORMAT} file (format {data.get('format')!r})")
        vault = data["vault"]
        assert isinstance(vault, list)
        return cls(
            network=str(data["network"]),
            founder=bytes.fromhex(str(data["founder"])),
            operator=bytes.fromhex(str(data["operator"])),
            vault_scripts=tuple(bytes.fromhex(str(v)) for v in vault),
        )

    def write(self, datadir: Path) -> Path:
        path = datadir / NETWORK_FILE
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, datadir: Path) -> NetworkIdentity:
        """The identity of the devnet in ``datadir``; :class:`ScenarioError` when the file is
        missing or not this format (a devnet built before identities were written: rebuild
        it with ``--fresh``)."""
        path = datadir / NETWORK_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"cannot read {path}: {exc}; rebuild the devnet") from None
        return cls.from_json(data)
