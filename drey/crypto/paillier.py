"""Threshold Paillier (PROTOCOL.md §5, §8): Shoup / Damgård–Jurik with s = 1, trusted dealer.

Key material (dealer, :func:`generate_key`):
  p = 2p′ + 1, q = 2q′ + 1 safe primes of equal size, n = pq, m = p′q′, Δ = N!.
  d ≡ 0 (mod m), d ≡ 1 (mod n); f a random polynomial of degree t − 1 over Z_{nm} with
  f(0) = d; actuary i (1 … N) holds s_i = f(i). v generates the squares of Z*_{n²}
  (checked by the dealer, who knows their order nm); vk_i = v^(Δ s_i) mod n².

Encryption uses g = n + 1: Enc(M; r) = (1 + Mn) · r^n mod n².

Decryption share of actuary i: c_i = c^(2Δ s_i) mod n², with a Chaum–Pedersen proof that
log_{c⁴}(c_i²) = log_v(vk_i) made non-interactive with H_tag("drey/1/share"). Combining t
shares with integer Lagrange coefficients λ_i (scaled by Δ) gives
M = L(∏ c_i^(2λ_i) mod n²) · (4Δ²)⁻¹ mod n.

Byte widths (§1): n in ℓ₁ = ⌈bits(n)/8⌉ bytes; values mod n² (v, vk_i, kem, c_i, a, b) in
ℓ₂ = ⌈bits(n²)/8⌉ bytes; e in 32 bytes; z in ⌈(bits(n²) + bits(Δ) + 385)/8⌉ bytes.

Limits: not constant time; secret shares are plain Python ints. Key generation at 2048 bits
takes tens of seconds to minutes (safe primes); tests use cached keys (tests/drey/data).
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gmpy2

from drey.crypto.tagged import bytes_for_bits, int_to_fixed, tagged_hash
from drey.errors import CryptoError, KeyFormatError

__all__ = [
    "CHALLENGE_LEN",
    "MAX_MODULUS_BITS",
    "MIN_MODULUS_BITS",
    "SHARE_TAG",
    "DecryptionShare",
    "PaillierDealing",
    "PaillierKeyShare",
    "PaillierPublicKey",
    "PaillierSecretKey",
    "ciphertext_reason",
    "combine_shares",
    "decrypt",
    "decryption_share",
    "encrypt",
    "generate_key",
    "lagrange_coefficient",
    "lagrange_combine",
    "prove_share",
    "share_entry_reason",
    "share_proof_challenge",
    "verify_share",
]

SHARE_TAG = "drey/1/share"
CHALLENGE_LEN = 32
# n must hold a 32-byte package key (m < 2^256 < n); the upper bound keeps untrusted
# sizes bounded before any big-integer work (the founder's key is far below it).
MIN_MODULUS_BITS = 257
MAX_MODULUS_BITS = 8192
# Statistical hiding of Δ·s_i·e inside z = r + eΔs_i (§8: r < 2^(bits(n²)+bits(Δ)+384)).
_PROOF_SLACK_BITS = 384


def _rng(rng: random.Random | None) -> random.Random:
    return rng if rng is not None else secrets.SystemRandom()


# --- keys -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaillierPublicKey:
    """The threshold public key: n, v, the verification keys vk_1 … vk_N and t.

    ``vks[i - 1]`` is vk_i for roster index i. Derived sizes are computed once.
    """

    n: int
    v: int
    vks: tuple[int, ...]
    threshold: int
    n2: int = field(init=False, repr=False, compare=False)
    delta: int = field(init=False, repr=False, compare=False)
    l1: int = field(init=False, repr=False, compare=False)
    l2: int = field(init=False, repr=False, compare=False)
    z_len: int = field(init=False, repr=False, compare=False)
    r_bits: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, players, t = self.n, len(self.vks), self.threshold
        if not MIN_MODULUS_BITS <= n.bit_length() <= MAX_MODULUS_BITS:
            raise KeyFormatError(
                f"paillier n has {n.bit_length()} bits; allowed "
                f"{MIN_MODULUS_BITS} … {MAX_MODULUS_BITS}"
            )
        if n % 2 == 0:
            raise KeyFormatError("paillier n is even")
        if players < 1:
            raise KeyFormatError("paillier key has no verification keys (roster is empty)")
        if not 1 <= t <= players:
            raise KeyFormatError(f"threshold {t} outside 1 … {players}")
        n2 = n * n
        for label, value in [("v", self.v), *((f"vk_{i}", x) for i, x in enumerate(self.vks, 1))]:
            reason = _unit_mod_n2_reason(value, n, n2)
            if reason is not None:
                raise KeyFormatError(f"paillier {label}: {reason}")
        delta = math.factorial(players)
        object.__setattr__(self, "n2", n2)
        object.__setattr__(self, "delta", delta)
        object.__setattr__(self, "l1", bytes_for_bits(n.bit_length()))
        object.__setattr__(self, "l2", bytes_for_bits(n2.bit_length()))
        object.__setattr__(
            self, "z_len", bytes_for_bits(n2.bit_length() + delta.bit_length() + 385)
        )
        object.__setattr__(self, "r_bits", n2.bit_length() + delta.bit_length() + _PROOF_SLACK_BITS)

    @property
    def players(self) -> int:
        """N, the roster size."""
        return len(self.vks)

    def vk(self, index: int) -> int:
        """vk_i for roster index i (1-based); raises :class:`CryptoError` if out of range."""
        if not 1 <= index <= len(self.vks):
            raise CryptoError(f"roster index {index} outside 1 … {len(self.vks)}")
        return self.vks[index - 1]

    # Fixed-width encodings (§1, §2).
    def n_bytes(self) -> bytes:
        """n in ℓ₁ bytes, as inscribed in params ``paillier.n``."""
        return int_to_fixed(self.n, self.l1)

    def mod_n2_bytes(self, x: int) -> bytes:
        """A value modulo n² in ℓ₂ bytes."""
        return int_to_fixed(x, self.l2)

    def v_bytes(self) -> bytes:
        """v in ℓ₂ bytes, as inscribed in params ``paillier.v``."""
        return self.mod_n2_bytes(self.v)

    def vk_bytes(self, index: int) -> bytes:
        """vk_i in ℓ₂ bytes, as inscribed in the roster entry's ``vk``."""
        return self.mod_n2_bytes(self.vk(index))

    @classmethod
    def from_params(
        cls, *, n: bytes, v: bytes, vks: Sequence[bytes], threshold: int
    ) -> PaillierPublicKey:
        """Decode the inscribed form: params ``paillier: {n, v}``, roster ``vk`` (index order).

        n must be minimal (ℓ₁ bytes, no leading zero byte); v and every vk exactly ℓ₂ bytes.
        Raises :class:`KeyFormatError` naming the offending field.
        """
        if not n or n[0] == 0:
            raise KeyFormatError("paillier n: empty or has a leading zero byte (not ℓ₁ bytes)")
        if len(n) * 8 > MAX_MODULUS_BITS:
            raise KeyFormatError(f"paillier n: {len(n)} bytes exceeds {MAX_MODULUS_BITS} bits")
        n_int = int.from_bytes(n, "big")
        l2 = bytes_for_bits((n_int * n_int).bit_length())
        if len(v) != l2:
            raise KeyFormatError(f"paillier v: expected {l2} bytes (ℓ₂), got {len(v)}")
        for i, vk in enumerate(vks, 1):
            if len(vk) != l2:
                raise KeyFormatError(
                    f"roster index {i} vk: expected {l2} bytes (ℓ₂), got {len(vk)}"
                )
        return cls(
            n=n_int,
            v=int.from_bytes(v, "big"),
            vks=tuple(int.from_bytes(x, "big") for x in vks),
            threshold=threshold,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: integers as lowercase hex strings (no 0x)."""
        return {
            "n": format(self.n, "x"),
            "v": format(self.v, "x"),
            "vks": [format(x, "x") for x in self.vks],
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaillierPublicKey:
        """Inverse of :meth:`to_dict`; raises :class:`KeyFormatError` on malformed input."""
        try:
            return cls(
                n=_hex_int(data["n"]),
                v=_hex_int(data["v"]),
                vks=tuple(_hex_int(x) for x in data["vks"]),
                threshold=int(data["threshold"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFormatError(f"malformed paillier public key dict: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PaillierKeyShare:
    """Actuary ``index``'s secret share s_i = f(i) mod nm. Secret: never inscribe."""

    index: int
    s: int

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "s": format(self.s, "x")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaillierKeyShare:
        try:
            return cls(index=int(data["index"]), s=_hex_int(data["s"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFormatError(f"malformed paillier key share dict: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PaillierSecretKey:
    """The dealer's factorisation (p, q). Only the dealer and tests have it."""

    p: int
    q: int

    def to_dict(self) -> dict[str, Any]:
        return {"p": format(self.p, "x"), "q": format(self.q, "x")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaillierSecretKey:
        try:
            return cls(p=_hex_int(data["p"]), q=_hex_int(data["q"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFormatError(f"malformed paillier secret key dict: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PaillierDealing:
    """Everything the trusted dealer produces: public key, N secret shares, factorisation."""

    public: PaillierPublicKey
    shares: tuple[PaillierKeyShare, ...]
    secret: PaillierSecretKey

    def share(self, index: int) -> PaillierKeyShare:
        """The share of roster index i (1-based)."""
        if not 1 <= index <= len(self.shares):
            raise CryptoError(f"roster index {index} outside 1 … {len(self.shares)}")
        return self.shares[index - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "public": self.public.to_dict(),
            "shares": [s.to_dict() for s in self.shares],
            "secret": self.secret.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaillierDealing:
        try:
            public = PaillierPublicKey.from_dict(data["public"])
            shares = tuple(PaillierKeyShare.from_dict(s) for s in data["shares"])
            secret = PaillierSecretKey.from_dict(data["secret"])
        except (KeyError, TypeError) as exc:
            raise KeyFormatError(f"malformed paillier dealing dict: {exc}") from exc
        if [s.index for s in shares] != list(range(1, public.players + 1)):
            raise KeyFormatError("paillier dealing shares must have indices 1 … N in order")
        if secret.p * secret.q != public.n:
            raise KeyFormatError("paillier dealing: p·q does not equal n")
        return cls(public=public, shares=shares, secret=secret)


def _hex_int(value: Any) -> int:
    if not isinstance(value, str):
        raise TypeError(f"expected a hex string, got {type(value).__name__}")
    return int(value, 16)


def _unit_mod_n2_reason(x: int, n: int, n2: int) -> str | None:
    if not 0 < x < n2:
        return "not in 1 … n² − 1"
    if math.gcd(x, n) != 1:
        return "shares a factor with n"
    return None


# --- key generation -----------------------------------------------------------------------


def _odd_primes_below(limit: int) -> tuple[int, ...]:
    flags = bytearray(b"\x01") * limit
    flags[0:2] = b"\x00\x00"
    for p in range(2, math.isqrt(limit) + 1):
        if flags[p]:
            flags[p * p :: p] = bytes(len(range(p * p, limit, p)))
    return tuple(p for p in range(3, limit) if flags[p])


_SMALL_PRIMES = _odd_primes_below(1 << 14)
_SIEVE_SPAN = 1 << 14


def _safe_prime(bits: int, rng: random.Random) -> int:
    """A random safe prime p = 2p′ + 1 of exactly ``bits`` bits with the top two bits set.

    Sieves a window of candidates p′ against small primes for both p′ and 2p′ + 1, then
    runs base-2 Fermat tests and finally gmpy2's Miller–Rabin on both.
    """
    if bits < 64:
        raise CryptoError(f"safe prime of {bits} bits is too small")
    while True:
        # p′ has bits − 1 bits, top two set so that p·q has exactly 2·bits bits.
        base = rng.getrandbits(bits - 1) | (3 << (bits - 3)) | 1
        alive = bytearray(b"\x01") * _SIEVE_SPAN  # candidate j: p′ = base + 2j
        for r in _SMALL_PRIMES:
            inv2 = pow(2, -1, r)
            # p′ ≡ 0 (mod r)  ⇔  j ≡ −base/2 (mod r)
            j0 = (-base * inv2) % r
            alive[j0::r] = bytes(len(range(j0, _SIEVE_SPAN, r)))
            # 2p′ + 1 ≡ 0 (mod r)  ⇔  p′ ≡ −1/2  ⇔  j ≡ (−1/2 − base)/2 (mod r)
            j1 = ((-inv2 - base) * inv2) % r
            alive[j1::r] = bytes(len(range(j1, _SIEVE_SPAN, r)))
        for j in range(_SIEVE_SPAN):
            if not alive[j]:
                continue
            pp = gmpy2.mpz(base + 2 * j)
            if pp.bit_length() != bits - 1:
                break
            p = 2 * pp + 1
            if gmpy2.powmod(2, pp - 1, pp) != 1 or gmpy2.powmod(2, p - 1, p) != 1:
                continue
            if gmpy2.is_prime(pp, 40) and gmpy2.is_prime(p, 40):
                return int(p)


def _generates_squares(v: int, n2: int, order_primes: Iterable[int], order: int) -> bool:
    return all(gmpy2.powmod(v, order // r, n2) != 1 for r in order_primes)


def generate_key(
    bits: int, players: int, threshold: int, *, rng: random.Random | None = None
) -> PaillierDealing:
    """Trusted-dealer key generation: modulus of ``bits`` bits, N = ``players``, t = ``threshold``.

    ``rng`` defaults to the OS CSPRNG; pass a seeded ``random.Random`` only for tests.
    ``bits`` must be even and at least 512 (primes of bits/2 bits each).
    """
    if bits % 2 or bits < 512:
        raise CryptoError(f"modulus size {bits} must be even and ≥ 512")
    if bits > MAX_MODULUS_BITS:
        raise CryptoError(f"modulus size {bits} exceeds {MAX_MODULUS_BITS}")
    if not 1 <= threshold <= players:
        raise CryptoError(f"threshold {threshold} outside 1 … {players}")
    g = _rng(rng)
    p = _safe_prime(bits // 2, g)
    q = _safe_prime(bits // 2, g)
    while q == p:
        q = _safe_prime(bits // 2, g)
    n = p * q
    n2 = n * n
    pp, qq = (p - 1) // 2, (q - 1) // 2
    m = pp * qq
    nm = n * m
    d = m * pow(m, -1, n)  # ≡ 0 (mod m), ≡ 1 (mod n)
    coeffs = [d] + [g.randrange(nm) for _ in range(threshold - 1)]
    shares = tuple(
        PaillierKeyShare(index=i, s=_poly_eval(coeffs, i, nm)) for i in range(1, players + 1)
    )
    # The squares of Z*_{n²} form a cyclic group of order nm = p·q·p′·q′; a random square
    # generates it unless its order misses one of those primes, which the dealer can check.
    while True:
        r = g.randrange(2, n2)
        if math.gcd(r, n) != 1:
            continue
        v = pow(r, 2, n2)
        if _generates_squares(v, n2, (p, q, pp, qq), nm):
            break
    delta = math.factorial(players)
    vks = tuple(int(gmpy2.powmod(v, delta * s.s, n2)) for s in shares)
    public = PaillierPublicKey(n=n, v=v, vks=vks, threshold=threshold)
    return PaillierDealing(public=public, shares=shares, secret=PaillierSecretKey(p=p, q=q))


def _poly_eval(coeffs: Sequence[int], x: int, modulus: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % modulus
    return acc


# --- encryption ----------------------------------------------------------------------------


def ciphertext_reason(pk: PaillierPublicKey, c: int) -> str | None:
    """Why ``c`` is not a valid ciphertext (0 < c < n², gcd(c, n) = 1), or None."""
    return _unit_mod_n2_reason(c, pk.n, pk.n2)


def encrypt(
    pk: PaillierPublicKey, message: int, *, r: int | None = None, rng: random.Random | None = None
) -> int:
    """Enc(M) = (1 + Mn) · r^n mod n² for 0 ≤ M < n, r uniform in Z*_n unless given."""
    if not 0 <= message < pk.n:
        raise CryptoError("paillier plaintext must be in 0 … n − 1")
    if r is None:
        g = _rng(rng)
        while True:
            r = g.randrange(1, pk.n)
            if math.gcd(r, pk.n) == 1:
                break
    elif not (0 < r < pk.n and math.gcd(r, pk.n) == 1):
        raise CryptoError("paillier randomness r must be a unit modulo n")
    return int((1 + message * pk.n) * gmpy2.powmod(r, pk.n, pk.n2) % pk.n2)


def decrypt(pk: PaillierPublicKey, sk: PaillierSecretKey, c: int) -> int:
    """Plain (non-threshold) decryption with the factorisation; dealer and tests only."""
    reason = ciphertext_reason(pk, c)
    if reason is not None:
        raise CryptoError(f"paillier ciphertext {reason}")
    lam = math.lcm(sk.p - 1, sk.q - 1)
    u = (int(gmpy2.powmod(c, lam, pk.n2)) - 1) // pk.n
    return u * pow(lam, -1, pk.n) % pk.n


# --- decryption shares and proofs -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecryptionShare:
    """A decryption share c_i with its proof (e, z), for roster index ``index``.

    Wire form (one ``shares`` entry): ``share`` ℓ₂ bytes, ``e`` 32 bytes, ``z`` z_len bytes.
    """

    index: int
    share: int
    e: int
    z: int

    def serialize(self, pk: PaillierPublicKey) -> tuple[bytes, bytes, bytes]:
        """(share, e, z) in their fixed widths."""
        return (
            int_to_fixed(self.share, pk.l2),
            int_to_fixed(self.e, CHALLENGE_LEN),
            int_to_fixed(self.z, pk.z_len),
        )

    @classmethod
    def deserialize(
        cls, pk: PaillierPublicKey, index: int, share: bytes, e: bytes, z: bytes
    ) -> DecryptionShare:
        """Decode a wire entry; raises :class:`CryptoError` with the reason if sizes are wrong.

        Only sizes are checked here; range and proof checks are :func:`verify_share`.
        """
        reason = _entry_size_reason(pk, share, e, z)
        if reason is not None:
            raise CryptoError(f"decryption share of index {index}: {reason}")
        return cls(
            index=index,
            share=int.from_bytes(share, "big"),
            e=int.from_bytes(e, "big"),
            z=int.from_bytes(z, "big"),
        )


def _entry_size_reason(pk: PaillierPublicKey, share: bytes, e: bytes, z: bytes) -> str | None:
    if len(share) != pk.l2:
        return f"share must be {pk.l2} bytes (ℓ₂), got {len(share)}"
    if len(e) != CHALLENGE_LEN:
        return f"e must be {CHALLENGE_LEN} bytes, got {len(e)}"
    if len(z) != pk.z_len:
        return f"z must be {pk.z_len} bytes, got {len(z)}"
    return None


def share_entry_reason(pk: PaillierPublicKey, share: bytes, e: bytes, z: bytes) -> str | None:
    """Size and range checks of a ``shares`` entry before any big-integer work (§1, §8).

    Returns a reason, or None if the entry may go on to proof verification.
    """
    reason = _entry_size_reason(pk, share, e, z)
    if reason is not None:
        return reason
    reason = _unit_mod_n2_reason(int.from_bytes(share, "big"), pk.n, pk.n2)
    return None if reason is None else f"share {reason}"


def share_proof_challenge(
    pk: PaillierPublicKey, kem: int, share: int, vk: int, a: int, b: int
) -> int:
    """e = int(H_tag("drey/1/share")(n ‖ kem ‖ c_i ‖ vk_i ‖ a ‖ b)), fixed widths ℓ₁ / ℓ₂."""
    w = pk.l2
    preimage = b"".join(
        (
            int_to_fixed(pk.n, pk.l1),
            int_to_fixed(kem, w),
            int_to_fixed(share, w),
            int_to_fixed(vk, w),
            int_to_fixed(a, w),
            int_to_fixed(b, w),
        )
    )
    return int.from_bytes(tagged_hash(SHARE_TAG, preimage), "big")


def prove_share(
    pk: PaillierPublicKey,
    key_share: PaillierKeyShare,
    kem: int,
    share: int,
    *,
    rng: random.Random | None = None,
) -> DecryptionShare:
    """Proof for a given share value c_i with c_i² = kem^(4Δ s_i) (c_i or n² − c_i).

    The proof shows log_{kem⁴}(c_i²) = log_v(vk_i); it cannot tell c_i from n² − c_i,
    which is why the protocol deduplicates by (actuary, package), never by share bytes.
    """
    vk = pk.vk(key_share.index)
    r = _rng(rng).getrandbits(pk.r_bits)
    a = int(gmpy2.powmod(kem, 4 * r, pk.n2))
    b = int(gmpy2.powmod(pk.v, r, pk.n2))
    e = share_proof_challenge(pk, kem, share, vk, a, b)
    z = r + e * pk.delta * key_share.s
    return DecryptionShare(index=key_share.index, share=share, e=e, z=z)


def decryption_share(
    pk: PaillierPublicKey,
    key_share: PaillierKeyShare,
    kem: int,
    *,
    rng: random.Random | None = None,
) -> DecryptionShare:
    """c_i = kem^(2Δ s_i) mod n² with its proof. Raises :class:`CryptoError` on a bad kem."""
    reason = ciphertext_reason(pk, kem)
    if reason is not None:
        raise CryptoError(f"kem {reason}")
    share = int(gmpy2.powmod(kem, 2 * pk.delta * key_share.s, pk.n2))
    return prove_share(pk, key_share, kem, share, rng=rng)


def verify_share(pk: PaillierPublicKey, kem: int, ds: DecryptionShare) -> bool:
    """Checks ranges and the proof of ``ds`` against vk_index; never raises on bad values.

    Recomputes a = kem^(4z) · c_i^(−2e) and b = v^z · vk_i^(−e) mod n² and compares the hash.
    """
    if not 1 <= ds.index <= pk.players:
        return False
    if ciphertext_reason(pk, kem) is not None or ciphertext_reason(pk, ds.share) is not None:
        return False
    if not (0 <= ds.e < 1 << (8 * CHALLENGE_LEN) and 0 <= ds.z < 1 << (8 * pk.z_len)):
        return False
    n2 = pk.n2
    vk = pk.vks[ds.index - 1]
    # Units mod n² (checked above), so the negative powers are modular inverses.
    a = gmpy2.powmod(kem, 4 * ds.z, n2) * gmpy2.powmod(ds.share, -2 * ds.e, n2) % n2
    b = gmpy2.powmod(pk.v, ds.z, n2) * gmpy2.powmod(vk, -ds.e, n2) % n2
    return share_proof_challenge(pk, kem, ds.share, vk, int(a), int(b)) == ds.e


# --- combination -----------------------------------------------------------------------------


def lagrange_coefficient(delta: int, indices: Sequence[int], i: int) -> int:
    """λ_i = (Δ ∏_{j≠i} j) // ∏_{j≠i} (j − i), exact (Δ = N! makes it an integer)."""
    num, den = delta, 1
    for j in indices:
        if j != i:
            num *= j
            den *= j - i
    lam, rem = divmod(num, den)
    if rem:
        raise CryptoError(f"λ_{i} for indices {list(indices)} is not an integer (Δ too small)")
    return lam


def lagrange_combine(pk: PaillierPublicKey, shares: Sequence[DecryptionShare]) -> int:
    """L(∏ c_i^(2λ_i) mod n²) · (4Δ²)⁻¹ mod n over exactly the given (distinct) shares.

    No threshold check: the result is the plaintext only if at least t valid shares are
    given; with fewer it is an unrelated value. L(x) = (x − 1) // n. The protocol rule
    (first t distinct indices) is :func:`combine_shares`.
    """
    indices = [s.index for s in shares]
    if len(set(indices)) != len(indices):
        raise CryptoError(f"duplicate share indices {indices}")
    if not indices:
        raise CryptoError("no shares to combine")
    n, n2 = pk.n, pk.n2
    acc = gmpy2.mpz(1)
    for s in shares:
        lam = lagrange_coefficient(pk.delta, indices, s.index)
        acc = acc * gmpy2.powmod(s.share, 2 * lam, n2) % n2
    l_value = (int(acc) - 1) // n
    return l_value * pow(4 * pk.delta * pk.delta, -1, n) % n


def combine_shares(pk: PaillierPublicKey, shares: Iterable[DecryptionShare]) -> int:
    """§8 combination: the first t distinct roster indices among ``shares`` (already verified,
    in chain position order) form S; returns the plaintext M.

    Raises :class:`CryptoError` if fewer than t distinct indices are present.
    """
    chosen: dict[int, DecryptionShare] = {}
    for s in shares:
        if s.index not in chosen:
            chosen[s.index] = s
            if len(chosen) == pk.threshold:
                return lagrange_combine(pk, list(chosen.values()))
    raise CryptoError(f"need {pk.threshold} distinct shares, have {len(chosen)}")
