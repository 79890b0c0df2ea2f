"""The project's ord decoder applied to scripts and transactions, and the check that every
field an :class:`~btc.ord.Envelope` wrote reads back as ord reads it."""

from __future__ import annotations

from btc import Transaction
from btc.ord import Envelope, Inscription, envelopes_from_tapscript, tapscript_from_witness


class Ord:
    """The project's inscription decoder (btc.ord, ord 0.27 rules) applied to what
    the devnet wrote."""

    @staticmethod
    def decode_script(script: bytes, input_index: int = 0) -> list[Inscription]:
        return [Inscription.from_envelope(e) for e in envelopes_from_tapscript(script, input_index)]

    @staticmethod
    def decode_tx(tx: Transaction) -> list[Inscription]:
        out: list[Inscription] = []
        for i, txin in enumerate(tx.inputs):
            script = tapscript_from_witness(txin.witness)
            if script is not None:
                out += Ord.decode_script(script, i)
        return out

    @staticmethod
    def assert_same(found: Inscription, env: Envelope) -> None:
        """Every field the envelope wrote reads back as ord reads it."""

        def text(v: str | bytes | None) -> bytes | None:
            return v.encode() if isinstance(v, str) else v

        assert found.body == env.body
        assert found.content_type_raw == text(env.content_type)
        assert found.metaprotocol_raw == text(env.metaprotocol)
        assert found.content_encoding_raw == text(env.content_encoding)
        assert found.metadata == env.metadata
        assert found.pointer == env.pointer
        assert [str(p) for p in found.parents] == list(env.parents)
        assert (str(found.delegate) if found.delegate else None) == env.delegate
        # Chunked metadata and several parents are repeated tags: ord flags a duplicate field.
        repeated = (env.metadata is not None and len(env.metadata) > 520) or len(env.parents) > 1
        expected = ("duplicate_field",) if repeated else ()
        assert found.flags == expected
