"""Poseidon round constants and MDS matrices from the Grain LFSR.

This reproduces the parameter generation of the Poseidon paper's reference script
(``generate_parameters_grain.sage``, Grassi et al., eprint 2019/458, appendix F), which is how
circomlib's ``poseidon_constants`` were made: ``sage generate_parameters_grain.sage 1 0 254 t 8
R_P p``, i.e. a prime field, the x^alpha S-box, 254-bit elements, width t, 8 full rounds.

The 80-bit LFSR is seeded with the parameters (field 2 bits, S-box 4 bits, field size 12 bits,
t 12 bits, R_F 10 bits, R_P 10 bits, then 30 one bits), clocked 160 times with the feedback
b[i+80] = b[i+62] ^ b[i+51] ^ b[i+38] ^ b[i+23] ^ b[i+13] ^ b[i], and then used in
self-shrinking mode: of each pair of bits, the second is output iff the first is 1. Field
elements are read most significant bit first in chunks of the field size.

- Round constants: (R_F + R_P) * t samples; a sample >= p is dropped and the next one taken.
- MDS matrix: a Cauchy matrix M[i][j] = 1 / (x_i + y_j) from the next 2t samples, each reduced
  mod p (no rejection); a draw with a repeated value or an x_i + y_j = 0 is redrawn.

Later revisions of the reference script also run three subspace-trail checks on the matrix and
redraw when one fails; for circomlib's widths the first draw is the one circomlib ships (the
test suite checks our outputs against circomlib vectors for every width), so those checks are
not reimplemented here. Generation is pure Python and deterministic; callers cache the result.
"""

from __future__ import annotations

_CHUNK = 18  # the nearest tap (62) is 18 bits behind the new bit, so 18 bits clock at once


class _GrainStream:
    """Self-shrinking Grain LFSR output, as a stream of '0'/'1' characters."""

    __slots__ = ("_buffer", "_pos", "_state")

    def __init__(self, seed_bits: str) -> None:
        if len(seed_bits) != 80 or set(seed_bits) - {"0", "1"}:
            raise ValueError("the Grain seed must be 80 bits")
        # Bit j of the integer is b[i + j]: the oldest bit is the least significant one.
        self._state = int(seed_bits[::-1], 2)
        self._buffer = ""
        self._pos = 0
        self._raw(160)  # the reference discards the first 160 clocked bits

    def _raw(self, n_bits: int) -> str:
        """Clock the LFSR ``n_bits`` times and return the clocked bits, oldest first."""
        s = self._state
        out: list[str] = []
        while n_bits:
            step = min(n_bits, _CHUNK)
            new = ((s >> 62) ^ (s >> 51) ^ (s >> 38) ^ (s >> 23) ^ (s >> 13) ^ s) & (
                (1 << step) - 1
            )
            s = (s >> step) | (new << (80 - step))
            out.append(format(new, f"0{step}b")[::-1])
            n_bits -= step
        self._state = s
        return "".join(out)

    def _refill(self) -> None:
        raw = self._raw(_CHUNK * 512)  # even length: pairs never straddle two refills
        shrunk = "".join(b for a, b in zip(raw[0::2], raw[1::2], strict=True) if a == "1")
        self._buffer = self._buffer[self._pos :] + shrunk
        self._pos = 0

    def take(self, n_bits: int) -> int:
        """The next ``n_bits`` output bits as an integer, first bit most significant."""
        while len(self._buffer) - self._pos < n_bits:
            self._refill()
        bits = self._buffer[self._pos : self._pos + n_bits]
        self._pos += n_bits
        return int(bits, 2)


def _seed(*, field_bits: int, t: int, n_full: int, n_partial: int) -> str:
    field = format(1, "02b")  # 1: prime field GF(p)
    sbox = format(0, "04b")  # 0: x^alpha
    return (
        field
        + sbox
        + format(field_bits, "012b")
        + format(t, "012b")
        + format(n_full, "010b")
        + format(n_partial, "010b")
        + "1" * 30
    )


def grain_parameters(
    *, prime: int, t: int, n_full: int, n_partial: int
) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Round constants (flat, round-major) and the t x t MDS matrix for one Poseidon width."""
    if not (2 <= t < 4096 and 0 < n_full < 1024 and 0 <= n_partial < 1024):
        raise ValueError(f"unsupported Poseidon shape t={t}, R_F={n_full}, R_P={n_partial}")
    field_bits = prime.bit_length()
    stream = _GrainStream(_seed(field_bits=field_bits, t=t, n_full=n_full, n_partial=n_partial))

    constants: list[int] = []
    for _ in range((n_full + n_partial) * t):
        value = stream.take(field_bits)
        while value >= prime:
            value = stream.take(field_bits)
        constants.append(value)

    while True:
        draw = [stream.take(field_bits) % prime for _ in range(2 * t)]
        while len(set(draw)) != len(draw):
            draw = [stream.take(field_bits) % prime for _ in range(2 * t)]
        xs, ys = draw[:t], draw[t:]
        if any((x + y) % prime == 0 for x in xs for y in ys):
            continue
        mds = tuple(tuple(pow(x + y, -1, prime) for y in ys) for x in xs)
        return tuple(constants), mds
