"""Errors raised by the Drey protocol library (PROTOCOL.md).

Every error the ``drey`` package raises derives from :class:`ProtocolError`, so callers
(pipelines, devnet producers) can catch one root. Validators return reasons instead of
raising; only decoders and API misuse (bad arguments to producer-side functions) raise.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Root of all errors raised by the ``drey`` package."""


class EncodingError(ProtocolError):
    """A value does not fit its fixed-width or canonical byte encoding."""


class CryptoError(ProtocolError):
    """Misuse of a cryptographic primitive (bad key material, out-of-range input)."""


class KeyFormatError(CryptoError):
    """A serialized key (Paillier public key / share, VRF key) is malformed."""


class CborError(ProtocolError):
    """Strict deterministic-CBOR decoding failed (see :mod:`drey.cbor`).

    ``code`` is one of :data:`drey.cbor.CborErrorCode`; ``offset`` is the byte offset in the
    input where the offending item starts (or where input ran out).
    """

    def __init__(self, code: str, offset: int, message: str) -> None:
        super().__init__(f"{code} at offset {offset}: {message}")
        self.code = code
        self.offset = offset
        self.message = message


class CborEncodeError(EncodingError):
    """A Python value cannot be encoded as deterministic Drey CBOR (type, range or depth)."""


class MessageError(ProtocolError):
    """A Drey message or result does not match its schema (see :mod:`drey.messages`).

    ``reason`` is a :data:`drey.messages.QuarantineReason`; ``detail`` says what and where.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class FormulaError(ProtocolError):
    """The formula module could not be assembled, compiled or run (see :mod:`drey.formula`)."""


class AllocationFileError(ProtocolError):
    """An allocation column file cannot be written (see :mod:`drey.allocation_file`)."""
