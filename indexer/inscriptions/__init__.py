"""The inscription decoder: ord 0.27 envelopes and fields (see INSCRIPTIONS.md).

``envelopes_from_witness`` finds raw envelopes in one input's witness; ``Inscription.from_envelope``
turns one into fields and flags exactly as ord does.
"""

from indexer.inscriptions.envelope import (
    RawEnvelope,
    envelopes_from_tapscript,
    tapscript_from_witness,
)
from indexer.inscriptions.ids import InscriptionId, decode_inscription_id_field
from indexer.inscriptions.inscription import FLAG_NAMES, Inscription, Tag

__all__ = [
    "FLAG_NAMES",
    "Inscription",
    "InscriptionId",
    "RawEnvelope",
    "Tag",
    "decode_inscription_id_field",
    "envelopes_from_tapscript",
    "tapscript_from_witness",
]
