"""Map models, deterministic encoding and BIP340 signing shared by every kind (PROTOCOL.md §1).

A model is a frozen dataclass whose ``FIELDS`` list the CBOR keys it carries (besides ``v`` and
``kind``, which the top-level classes add). Optional keys are ``None`` when absent and are then
left out of the encoding, so a decoded message re-encodes to exactly the bytes it came from
(the CBOR is canonical) and its signature preimage is reproducible.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, ClassVar, Self

from coincurve import PrivateKey, PublicKeyXOnly

from drey.cbor import encode_cbor
from drey.crypto.tagged import tagged_hash
from drey.errors import CborEncodeError, MessageError
from drey.messages.fields import Codec, FieldSpec

__all__ = [
    "MapModel",
    "SignedModel",
    "bip340_sign",
    "bip340_verify",
    "submap",
    "xonly_public_key",
]


def bip340_sign(secret_key: bytes, digest: bytes, *, aux_rand: bytes | None = None) -> bytes:
    """BIP340 signature (64 bytes) of a 32-byte ``digest``; ``aux_rand`` defaults to fresh
    randomness (pass 32 fixed bytes for reproducible test vectors)."""
    if len(digest) != 32:
        raise MessageError("bad_field", f"BIP340 signs 32-byte digests, got {len(digest)} bytes")
    aux = os.urandom(32) if aux_rand is None else aux_rand
    if len(aux) != 32:
        raise MessageError("bad_field", f"aux_rand must be 32 bytes, got {len(aux)}")
    try:
        key = PrivateKey(secret_key)
    except Exception as exc:
        raise MessageError("bad_field", f"invalid secp256k1 secret key: {exc}") from None
    return key.sign_schnorr(digest, aux)


def bip340_verify(public_key: bytes, digest: bytes, sig: bytes) -> bool:
    """True iff ``sig`` is a valid BIP340 signature of ``digest`` under x-only ``public_key``.
    Never raises: malformed keys or signatures simply do not verify."""
    if len(public_key) != 32 or len(sig) != 64 or len(digest) != 32:
        return False
    try:
        return bool(PublicKeyXOnly(public_key).verify(sig, digest))
    except Exception:
        return False


def xonly_public_key(secret_key: bytes) -> bytes:
    """The 32-byte x-only public key of a secp256k1 secret key."""
    try:
        return PrivateKey(secret_key).public_key_xonly.format()
    except Exception as exc:
        raise MessageError("bad_field", f"invalid secp256k1 secret key: {exc}") from None


class MapModel:
    """Mixin for dataclasses that travel as a CBOR map with text keys."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[FieldSpec, ...]]

    def fields_map(self) -> dict[str, Any]:
        """The CBOR map of this model's own fields (absent optionals left out)."""
        out: dict[str, Any] = {}
        for spec in self.FIELDS:
            value = getattr(self, spec.name)
            if value is None:
                if spec.optional:
                    continue
                raise MessageError("missing_field", f"{type(self).__name__}.{spec.name} is None")
            out[spec.name] = spec.codec.encode(value)
        return out

    @classmethod
    def from_fields_map(cls, value: Any, path: str, *, skip: tuple[str, ...] = ()) -> Self:
        """Validate a decoded map against ``FIELDS`` (keys in ``skip`` were checked by the
        caller) and build the model. Raises :class:`MessageError`."""
        if type(value) is not dict:
            raise MessageError("bad_field", f"{path}: expected a map, got {type(value).__name__}")
        known = {spec.name for spec in cls.FIELDS}
        unknown = sorted(k for k in value if k not in known and k not in skip)
        if unknown:
            shown = ", ".join(repr(k[:40]) for k in unknown[:5])
            raise MessageError("unknown_field", f"{path}: unknown key(s) {shown}")
        kwargs: dict[str, Any] = {}
        for spec in cls.FIELDS:
            if spec.name not in value:
                if not spec.optional:
                    raise MessageError("missing_field", f"{path}: missing key {spec.name!r}")
                kwargs[spec.name] = None
                continue
            kwargs[spec.name] = spec.codec.decode(value[spec.name], f"{path}.{spec.name}")
        obj = cls(**kwargs)
        obj.check(path)
        return obj

    def check(self, path: str) -> None:
        """Cross-field structural rules; raise :class:`MessageError`. Default: none."""


def submap(cls: type[MapModel]) -> Codec:
    """A nested map decoded to ``cls``."""
    return Codec(
        lambda value, path: cls.from_fields_map(value, path),
        lambda obj: obj.fields_map(),
        f"map {cls.__name__}",
    )


class SignedModel(MapModel):
    """A top-level map with ``v`` = 1, optionally ``kind``, and (when ``SIGNED``) ``sig``.

    ``KIND`` is the message kind (``None`` for the package result, which has no ``kind``);
    ``SIG_TAG`` names the tagged hash the signature is over; ``SIGNER`` is the field naming the
    signing key when the message names it itself (``actuary``), else ``None`` (params and
    formula are signed by the founder, plan by the operator: keys the caller knows).
    """

    __slots__ = ()
    KIND: ClassVar[str | None]
    SIG_TAG: ClassVar[str]
    SIGNED: ClassVar[bool] = True
    SIGNER: ClassVar[str | None] = None

    # --- encoding -------------------------------------------------------------------------

    def to_map(self, *, with_sig: bool = True) -> dict[str, Any]:
        """The full CBOR map (``v``, ``kind`` and fields); without ``sig`` if asked."""
        out = self.fields_map() if with_sig or not self.SIGNED else self._unsigned_fields()
        out["v"] = 1
        if self.KIND is not None:
            out["kind"] = self.KIND
        return out

    def _unsigned_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.FIELDS:
            if spec.name == "sig":
                continue
            value = getattr(self, spec.name)
            if value is None:
                if spec.optional:
                    continue
                raise MessageError("missing_field", f"{type(self).__name__}.{spec.name} is None")
            out[spec.name] = spec.codec.encode(value)
        return out

    def serialize(self) -> bytes:
        """Deterministic CBOR of the whole map. Validates first (a producer can never emit what
        :meth:`deserialize` refuses): raises :class:`MessageError` if a field is invalid or the
        message is unsigned."""
        m = self.to_map()
        type(self).from_map(m)
        try:
            return encode_cbor(m)
        except CborEncodeError as exc:
            raise MessageError("bad_field", str(exc)) from None

    @classmethod
    def from_map(cls, value: Any) -> Self:
        """Validate a decoded top-level map (``v``, ``kind``, fields). Raises
        :class:`MessageError`."""
        if type(value) is not dict:
            raise MessageError("not_a_map", f"top level is {type(value).__name__}, not a map")
        if value.get("v") != 1 or type(value.get("v")) is not int:
            raise MessageError("bad_version", f"v is {value.get('v')!r}, expected 1")
        skip: tuple[str, ...] = ("v",)
        if cls.KIND is not None:
            if value.get("kind") != cls.KIND:
                raise MessageError(
                    "unknown_kind", f"kind is {value.get('kind')!r}, expected {cls.KIND!r}"
                )
            skip = ("v", "kind")
        return cls.from_fields_map(value, "$", skip=skip)

    @classmethod
    def deserialize(cls, data: bytes) -> Self:
        """Strictly decode CBOR bytes into this kind. Raises :class:`MessageError` (CBOR
        failures carry the reason of :func:`drey.messages.parse.cbor_reason`)."""
        from drey.messages.parse import decode_body_map

        return cls.from_map(decode_body_map(data))

    # --- signing --------------------------------------------------------------------------

    def signing_bytes(self) -> bytes:
        """Deterministic CBOR of the map without ``sig``: the signature preimage's body."""
        return encode_cbor(self.to_map(with_sig=False))

    def digest(self) -> bytes:
        """H_tag(SIG_TAG)(CBOR without sig): the 32 bytes the BIP340 signature covers."""
        return tagged_hash(self.SIG_TAG, self.signing_bytes())

    @property
    def named_signer(self) -> bytes | None:
        """The key this message names as its signer (``actuary``), or ``None`` if the signer is
        the founder or operator, known only from configuration or params."""
        return None if self.SIGNER is None else getattr(self, self.SIGNER)

    def verify(self, public_key: bytes | None = None) -> bool:
        """Check ``sig`` under ``public_key`` (default: :attr:`named_signer`). Never raises."""
        key = self.named_signer if public_key is None else public_key
        sig = getattr(self, "sig", None)
        if key is None or not isinstance(sig, bytes):
            return False
        try:
            digest = self.digest()
        except (MessageError, CborEncodeError):
            return False
        return bip340_verify(key, digest, sig)

    def signed(self, secret_key: bytes, *, aux_rand: bytes | None = None) -> Self:
        """A copy carrying a BIP340 ``sig`` by ``secret_key`` (producer side). If the message
        names its signer, the key must match it."""
        if not self.SIGNED:
            raise MessageError("bad_field", f"{type(self).__name__} carries no single sig")
        named = self.named_signer
        if named is not None and xonly_public_key(secret_key) != named:
            raise MessageError(
                "bad_signature", f"secret key does not belong to {self.SIGNER} {named.hex()}"
            )
        sig = bip340_sign(secret_key, self.digest(), aux_rand=aux_rand)
        return replace(self, sig=sig)  # type: ignore[type-var]
