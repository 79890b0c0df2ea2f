"""Groth16 over BN254 (alt_bn128): proofs and verifying keys in snarkjs's layouts, and a
verifier with full point validation (docs/protocol/proofs.md §2, §3).

Points are affine integers; the wire form of a proof is 256 bytes (``a`` 64 ‖ ``b`` 128 ‖ ``c``
64, big-endian, G2 as x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1, snarkjs's order). Validation is done here in
Python (coordinates < p, on the curve, not the point at infinity) and by the pairing library
(G2 subgroup membership); the pairing check runs in the mcl library (``mclbn256``, MIT) set to
its BN_SNARK1 curve, which is alt_bn128 — mcl's default "BN254" is a different curve.

Limits: the verifier trusts the verifying key it is given (checking a key against its setup
is the ceremony's job, §5); public inputs must be field elements (< R), never reduced.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from drey.crypto.poseidon import FIELD_MODULUS
from drey.errors import CryptoError

__all__ = [
    "G1Point",
    "G2Point",
    "P",
    "Proof",
    "ProofError",
    "R",
    "RejectReason",
    "Verdict",
    "Verifier",
    "VerifyingKey",
]

P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
R = FIELD_MODULUS  # the group order is the field Poseidon hashes in

RejectReason = Literal[
    "circuit_unavailable",
    "wrong_system",
    "malformed",
    "coordinate_out_of_range",
    "not_on_curve",
    "not_in_subgroup",
    "input_out_of_range",
    "wrong_input_count",
    "pairing_failed",
]


class ProofError(CryptoError):
    """A proof or key that cannot be decoded; ``reason`` is one of :data:`RejectReason`."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason
        self.detail = detail


# F_p² = F_p[u]/(u² + 1), elements (c0, c1); the twist's b is 3 / (9 + u).
Fp2 = tuple[int, int]


def _fp2_mul(a: Fp2, b: Fp2) -> Fp2:
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def _fp2_inv(a: Fp2) -> Fp2:
    norm = pow(a[0] * a[0] + a[1] * a[1], -1, P)
    return (a[0] * norm % P, -a[1] * norm % P)


B2: Fp2 = _fp2_mul((3, 0), _fp2_inv((9, 1)))


@dataclass(frozen=True, slots=True)
class G1Point:
    """An affine point of G1 (y² = x³ + 3 over F_p)."""

    x: int
    y: int

    def __post_init__(self) -> None:
        if not (0 <= self.x < P and 0 <= self.y < P):
            raise ProofError("coordinate_out_of_range", "a G1 coordinate is not below p")
        if (self.y * self.y - self.x**3 - 3) % P:
            raise ProofError("not_on_curve", f"G1 point ({self.x}, {self.y}) is not on the curve")

    def to_bytes(self) -> bytes:
        return self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> G1Point:
        if len(data) != 64:
            raise ProofError("malformed", f"a G1 point is 64 bytes, not {len(data)}")
        return cls(int.from_bytes(data[:32], "big"), int.from_bytes(data[32:], "big"))

    def to_snarkjs(self) -> list[str]:
        return [str(self.x), str(self.y), "1"]

    @classmethod
    def from_snarkjs(cls, value: Any) -> G1Point:
        x, y, z = _decimals(value, 3)
        if z != 1:
            raise ProofError("malformed", "a G1 point must be affine (z = 1), not infinity")
        return cls(x, y)


@dataclass(frozen=True, slots=True)
class G2Point:
    """An affine point of the twist E'(F_p²): y² = x³ + 3/(9 + u); (x0, x1) = x.c0 + x.c1·u."""

    x0: int
    x1: int
    y0: int
    y1: int

    def __post_init__(self) -> None:
        if not all(0 <= c < P for c in (self.x0, self.x1, self.y0, self.y1)):
            raise ProofError("coordinate_out_of_range", "a G2 coordinate is not below p")
        x, y = (self.x0, self.x1), (self.y0, self.y1)
        rhs = _fp2_mul(_fp2_mul(x, x), x)
        rhs = ((rhs[0] + B2[0]) % P, (rhs[1] + B2[1]) % P)
        if _fp2_mul(y, y) != rhs:
            raise ProofError("not_on_curve", "G2 point is not on the twist")

    def to_bytes(self) -> bytes:
        return b"".join(c.to_bytes(32, "big") for c in (self.x0, self.x1, self.y0, self.y1))

    @classmethod
    def from_bytes(cls, data: bytes) -> G2Point:
        if len(data) != 128:
            raise ProofError("malformed", f"a G2 point is 128 bytes, not {len(data)}")
        c = [int.from_bytes(data[i : i + 32], "big") for i in range(0, 128, 32)]
        return cls(*c)

    def to_snarkjs(self) -> list[list[str]]:
        return [[str(self.x0), str(self.x1)], [str(self.y0), str(self.y1)], ["1", "0"]]

    @classmethod
    def from_snarkjs(cls, value: Any) -> G2Point:
        if not isinstance(value, list) or len(value) != 3:
            raise ProofError("malformed", "a G2 point is three pairs of decimals")
        (x0, x1), (y0, y1), z = (_decimals(v, 2) for v in value)
        if z != [1, 0]:
            raise ProofError("malformed", "a G2 point must be affine (z = 1), not infinity")
        return cls(x0, x1, y0, y1)


@dataclass(frozen=True, slots=True)
class Proof:
    """A Groth16 proof (A, B, C)."""

    a: G1Point
    b: G2Point
    c: G1Point

    def to_bytes(self) -> bytes:
        return self.a.to_bytes() + self.b.to_bytes() + self.c.to_bytes()

    @classmethod
    def from_parts(cls, a: bytes, b: bytes, c: bytes) -> Proof:
        """From the three byte strings of the result's ``proof`` map (§2)."""
        return cls(G1Point.from_bytes(a), G2Point.from_bytes(b), G1Point.from_bytes(c))

    def to_snarkjs(self) -> dict[str, Any]:
        """snarkjs's ``proof.json``."""
        return {
            "pi_a": self.a.to_snarkjs(),
            "pi_b": self.b.to_snarkjs(),
            "pi_c": self.c.to_snarkjs(),
            "protocol": "groth16",
            "curve": "bn128",
        }

    @classmethod
    def from_snarkjs(cls, value: Mapping[str, Any]) -> Proof:
        try:
            return cls(
                G1Point.from_snarkjs(value["pi_a"]),
                G2Point.from_snarkjs(value["pi_b"]),
                G1Point.from_snarkjs(value["pi_c"]),
            )
        except (KeyError, TypeError) as exc:
            raise ProofError("malformed", f"not a snarkjs proof: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class VerifyingKey:
    """α ∈ G1; β, γ, δ ∈ G2; IC_0 … IC_n ∈ G1 for n public inputs."""

    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    ic: tuple[G1Point, ...]

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1

    def to_snarkjs(self) -> dict[str, Any]:
        """snarkjs's ``verification_key.json`` (without ``vk_alphabeta_12``, which readers
        recompute)."""
        return {
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": self.n_public,
            "vk_alpha_1": self.alpha.to_snarkjs(),
            "vk_beta_2": self.beta.to_snarkjs(),
            "vk_gamma_2": self.gamma.to_snarkjs(),
            "vk_delta_2": self.delta.to_snarkjs(),
            "IC": [p.to_snarkjs() for p in self.ic],
        }

    @classmethod
    def from_snarkjs(cls, value: Mapping[str, Any]) -> VerifyingKey:
        try:
            if value["protocol"] != "groth16" or value["curve"] != "bn128":
                raise ProofError("malformed", "not a groth16 key on bn128")
            key = cls(
                G1Point.from_snarkjs(value["vk_alpha_1"]),
                G2Point.from_snarkjs(value["vk_beta_2"]),
                G2Point.from_snarkjs(value["vk_gamma_2"]),
                G2Point.from_snarkjs(value["vk_delta_2"]),
                tuple(G1Point.from_snarkjs(p) for p in value["IC"]),
            )
        except (KeyError, TypeError) as exc:
            raise ProofError("malformed", f"not a snarkjs verification key: {exc!r}") from None
        if key.n_public != value.get("nPublic", key.n_public) or key.n_public < 0:
            raise ProofError("malformed", "nPublic does not match IC")
        return key


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ok``, or why not."""

    ok: bool
    reason: RejectReason | None = None
    detail: str | None = None


class Verifier:
    """Verifies proofs under one key; e(α, β) and the key's points are prepared once.

    >>> Verifier(key).verify(proof, [1, 2, 3])   # doctest: +SKIP
    Verdict(ok=True, reason=None, detail=None)
    """

    def __init__(self, key: VerifyingKey) -> None:
        mcl = _mcl()
        self.key = key
        beta, self._gamma, self._delta = (mcl.g2(q) for q in (key.beta, key.gamma, key.delta))
        for name, point in (("beta", beta), ("gamma", self._gamma), ("delta", self._delta)):
            if not mcl.in_g2_subgroup(point):
                raise ProofError("not_in_subgroup", f"the key's {name} is not in G2")
        self._ic = [mcl.g1(p) for p in key.ic]
        self._alphabeta = mcl.pairing(mcl.g1(key.alpha), beta)

    def verify(self, proof: Proof, inputs: Sequence[int]) -> Verdict:
        """e(A, B) = e(α, β) · e(Σ s_i·IC_i, γ) · e(C, δ), after every check of §3."""
        mcl = _mcl()
        if len(inputs) != self.key.n_public:
            return Verdict(
                False, "wrong_input_count", f"{len(inputs)} inputs, key has {self.key.n_public}"
            )
        for i, s in enumerate(inputs):
            if not 0 <= s < R:
                return Verdict(False, "input_out_of_range", f"input {i} is not below r")
        b = mcl.g2(proof.b)
        if not mcl.in_g2_subgroup(b):
            return Verdict(False, "not_in_subgroup", "B is not in the order-r subgroup of G2")
        vk_x = mcl.linear_combination(self._ic, [1, *inputs])
        lhs = mcl.pairing_product(
            [mcl.g1(proof.a), mcl.neg_g1(vk_x), mcl.neg_g1(mcl.g1(proof.c))],
            [b, self._gamma, self._delta],
        )
        if not mcl.gt_equal(lhs, self._alphabeta):
            return Verdict(False, "pairing_failed", "the pairing equation does not hold")
        return Verdict(True)


def _decimals(value: Any, n: int) -> list[int]:
    if not isinstance(value, list) or len(value) != n:
        raise ProofError("malformed", f"expected {n} decimal strings")
    try:
        out = [int(v, 10) for v in value]
    except (TypeError, ValueError):
        raise ProofError("malformed", "coordinates are decimal strings") from None
    if any(v < 0 for v in out):
        raise ProofError("coordinate_out_of_range", "a coordinate is negative")
    return out


# -- the mcl library ------------------------------------------------------------------------
_BN_SNARK1 = 4  # mcl's curve id of alt_bn128 (MCL_BN_SNARK1)


class _Mcl:
    """ctypes calls into the shared library that ``mclbn256`` ships, set to BN_SNARK1."""

    def __init__(self) -> None:
        from mclbn256 import mclbn256 as binding

        self.lib = binding.load_library("libmclbn256")
        self.g1_t = binding.mclBnG1_bytes
        self.g2_t = binding.mclBnG2_bytes
        self.gt_t = binding.mclBnGT_bytes
        self.fr_t = binding.mclBnFr_bytes
        if self.lib.mclBn_init(_BN_SNARK1, binding.MCLBN_COMPILED_TIME_VAR) != 0:
            raise CryptoError("the mcl library refused curve BN_SNARK1")

    def g1(self, point: G1Point) -> Any:
        out = self.g1_t()
        text = f"1 {point.x} {point.y}".encode()
        if self.lib.mclBnG1_setStr(ctypes.byref(out), text, len(text), 10) != 0:
            raise ProofError("not_on_curve", "mcl refused a G1 point")
        return out

    def g2(self, point: G2Point) -> Any:
        out = self.g2_t()
        text = f"1 {point.x0} {point.x1} {point.y0} {point.y1}".encode()
        if self.lib.mclBnG2_setStr(ctypes.byref(out), text, len(text), 10) != 0:
            raise ProofError("not_on_curve", "mcl refused a G2 point")
        return out

    def in_g2_subgroup(self, point: Any) -> bool:
        return bool(self.lib.mclBnG2_isValidOrder(ctypes.byref(point)))

    def neg_g1(self, point: Any) -> Any:
        out = self.g1_t()
        self.lib.mclBnG1_neg(ctypes.byref(out), ctypes.byref(point))
        return out

    def linear_combination(self, points: Sequence[Any], scalars: Sequence[int]) -> Any:
        n = len(points)
        xs = (self.g1_t * n)(*points)
        frs = (self.fr_t * n)()
        for i, s in enumerate(scalars):
            data = s.to_bytes(32, "little")
            if self.lib.mclBnFr_setLittleEndian(ctypes.byref(frs[i]), data, 32) != 0:
                raise ProofError("input_out_of_range", f"scalar {i} is not below r")
        out = self.g1_t()
        self.lib.mclBnG1_mulVec(ctypes.byref(out), xs, frs, n)
        return out

    def pairing(self, p: Any, q: Any) -> Any:
        out = self.gt_t()
        self.lib.mclBn_pairing(ctypes.byref(out), ctypes.byref(p), ctypes.byref(q))
        return out

    def pairing_product(self, ps: Sequence[Any], qs: Sequence[Any]) -> Any:
        n = len(ps)
        f = self.gt_t()
        self.lib.mclBn_millerLoopVec(ctypes.byref(f), (self.g1_t * n)(*ps), (self.g2_t * n)(*qs), n)
        out = self.gt_t()
        self.lib.mclBn_finalExp(ctypes.byref(out), ctypes.byref(f))
        return out

    def gt_equal(self, x: Any, y: Any) -> bool:
        return bool(self.lib.mclBnGT_isEqual(ctypes.byref(x), ctypes.byref(y)))


# The curve is a setting of the C library, process-wide: select it once, on first use.
@functools.cache
def _mcl() -> _Mcl:
    return _Mcl()
