"""ord 0.27 inscriptions (INSCRIPTIONS.md): envelopes read and written, fields, flags and ids.

Reading: ``tapscript_from_witness`` finds the tapscript of one input's witness,
``envelopes_from_tapscript`` its raw envelopes, and ``Inscription.from_envelope`` turns one into
fields and flags exactly as ord does (``inscriptions_in_transaction`` does all three for a
whole transaction). Writing: :class:`Envelope` and :func:`reveal_script`.
"""

from btc.ord.envelope import (
    Envelope,
    RawEnvelope,
    envelopes_from_tapscript,
    reveal_script,
    tapscript_from_witness,
)
from btc.ord.ids import InscriptionId, decode_inscription_id_field
from btc.ord.inscription import FLAG_NAMES, Inscription
from btc.ord.tags import Tag
from btc.ord.transaction import inscriptions_in_transaction

__all__ = [
    "FLAG_NAMES",
    "Envelope",
    "Inscription",
    "InscriptionId",
    "RawEnvelope",
    "Tag",
    "decode_inscription_id_field",
    "envelopes_from_tapscript",
    "inscriptions_in_transaction",
    "reveal_script",
    "tapscript_from_witness",
]
