/*
 * Poseidon over the BN254 scalar field, batch kernel for drey.crypto.poseidon.
 *
 * Compiled on first use by _poseidon_native.py and called through ctypes (which releases the
 * GIL, so Python threads hash disjoint slices of a batch in parallel). The round constants and
 * the matrices come from Python (generated from the Grain LFSR) in Montgomery form; this file
 * only knows the field. Elements cross the boundary as 4 little-endian 64-bit limbs, canonical
 * (< p).
 *
 * Field arithmetic: Montgomery multiplication (CIOS, R = 2^256). p < 2^254, so a + b < 2^255
 * and the CIOS accumulator never needs a fifth limb ("no-carry" CIOS). Built with
 * -DDREY_MULX (x86-64 with BMI2/ADX, chosen by the loader) the multiplication uses mulx, which
 * leaves the carry flag alone: ~25% faster per multiplication, ~7% per hash, than __int128.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;

#define MAX_T 17

static const uint64_t P[4] = {
    0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
static const uint64_t P_INV = 0xc2e1f593efffffffULL; /* -p^-1 mod 2^64 */
static const uint64_t R2[4] = {/* 2^512 mod p */
    0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL};
static const uint64_t ONE[4] = {1, 0, 0, 0};

/* r = a - p if a >= p else a (a < 2p); branchless: the choice depends on secret-free but
 * unpredictable data, and a mispredicted branch costs more than computing both sides. */
static inline void reduce_once(uint64_t r[4], const uint64_t a[4]) {
    uint64_t d[4], borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a[i] - P[i];
        uint64_t b1 = a[i] < P[i];
        d[i] = x - borrow;
        borrow = b1 | (x < borrow);
    }
    uint64_t keep = -borrow; /* all ones when a < p */
    for (int i = 0; i < 4; i++) r[i] = (a[i] & keep) | (d[i] & ~keep);
}

static inline void add_mod(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t s[4];
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (u128)a[i] + b[i];
        s[i] = (uint64_t)c;
        c >>= 64;
    }
    reduce_once(r, s);
}

#ifdef DREY_MULX
#include <immintrin.h>

typedef unsigned long long ull;

/* r = a * b / 2^256 mod p; a, b < p. r may alias a or b. */
static __attribute__((noinline)) void mont_mul(uint64_t r[4], const uint64_t a[4],
                                               const uint64_t b[4]) {
    ull t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4, z;
    for (int i = 0; i < 4; i++) {
        ull bi = b[i], h0, h1, h2, h3, l0, l1, l2, l3;
        unsigned char c;
        l0 = _mulx_u64(a[0], bi, &h0);
        l1 = _mulx_u64(a[1], bi, &h1);
        l2 = _mulx_u64(a[2], bi, &h2);
        l3 = _mulx_u64(a[3], bi, &h3);
        c = _addcarry_u64(0, t0, l0, &t0);
        c = _addcarry_u64(c, t1, l1, &t1);
        c = _addcarry_u64(c, t2, l2, &t2);
        c = _addcarry_u64(c, t3, l3, &t3);
        t4 = c;
        c = _addcarry_u64(0, t1, h0, &t1);
        c = _addcarry_u64(c, t2, h1, &t2);
        c = _addcarry_u64(c, t3, h2, &t3);
        _addcarry_u64(c, t4, h3, &t4);

        ull m = t0 * P_INV, g0, g1, g2, g3, k0, k1, k2, k3;
        k0 = _mulx_u64(m, P[0], &g0);
        k1 = _mulx_u64(m, P[1], &g1);
        k2 = _mulx_u64(m, P[2], &g2);
        k3 = _mulx_u64(m, P[3], &g3);
        c = _addcarry_u64(0, t0, k0, &z); /* z == 0 by the choice of m */
        c = _addcarry_u64(c, t1, k1, &t1);
        c = _addcarry_u64(c, t2, k2, &t2);
        c = _addcarry_u64(c, t3, k3, &t3);
        _addcarry_u64(c, t4, 0, &t4);
        c = _addcarry_u64(0, t1, g0, &t0);
        c = _addcarry_u64(c, t2, g1, &t1);
        c = _addcarry_u64(c, t3, g2, &t2);
        _addcarry_u64(c, t4, g3, &t3);
    }
    uint64_t t[4] = {t0, t1, t2, t3};
    reduce_once(r, t);
}

#else

/* r = a * b / 2^256 mod p; a, b < p. r may alias a or b. */
static __attribute__((noinline)) void mont_mul(uint64_t r[4], const uint64_t a[4],
                                               const uint64_t b[4]) {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
    for (int i = 0; i < 4; i++) {
        u128 c;
        uint64_t bi = b[i];
        c = (u128)a[0] * bi + t0;
        t0 = (uint64_t)c;
        c = (u128)a[1] * bi + t1 + (uint64_t)(c >> 64);
        t1 = (uint64_t)c;
        c = (u128)a[2] * bi + t2 + (uint64_t)(c >> 64);
        t2 = (uint64_t)c;
        c = (u128)a[3] * bi + t3 + (uint64_t)(c >> 64);
        t3 = (uint64_t)c;
        t4 = (uint64_t)(c >> 64);

        uint64_t m = t0 * P_INV;
        c = (u128)m * P[0] + t0;
        c = (u128)m * P[1] + t1 + (uint64_t)(c >> 64);
        t0 = (uint64_t)c;
        c = (u128)m * P[2] + t2 + (uint64_t)(c >> 64);
        t1 = (uint64_t)c;
        c = (u128)m * P[3] + t3 + (uint64_t)(c >> 64);
        t2 = (uint64_t)c;
        t3 = t4 + (uint64_t)(c >> 64);
    }
    uint64_t t[4] = {t0, t1, t2, t3};
    reduce_once(r, t);
}

#endif

/* acc (8 limbs) += a * b, a and b < p (the caller keeps the sum below 2^512). */
static inline void mul_acc(uint64_t acc[8], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t t[8] = {0};
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 c = (u128)a[j] * b[i] + t[i + j] + carry;
            t[i + j] = (uint64_t)c;
            carry = (uint64_t)(c >> 64);
        }
        t[i + 4] = carry;
    }
    uint64_t carry = 0;
    for (int k = 0; k < 8; k++) {
        u128 c = (u128)acc[k] + t[k] + carry;
        acc[k] = (uint64_t)c;
        carry = (uint64_t)(c >> 64);
    }
}

/* r = T / 2^256 mod p for T < p * 2^256 (Montgomery reduction); T is clobbered. */
static __attribute__((noinline)) void redc(uint64_t r[4], uint64_t T[8]) {
    uint64_t extra = 0; /* carry out of T[i + 4], owed to T[i + 5] */
    for (int i = 0; i < 4; i++) {
        uint64_t m = T[i] * P_INV, carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 c = (u128)m * P[j] + T[i + j] + carry;
            T[i + j] = (uint64_t)c;
            carry = (uint64_t)(c >> 64);
        }
        u128 c = (u128)T[i + 4] + carry + extra;
        T[i + 4] = (uint64_t)c;
        extra = (uint64_t)(c >> 64);
    }
    reduce_once(r, T + 4); /* the result is < 2p < 2^255: no limb beyond T[7] */
}

/* DOT_LAZY products of elements < p sum to < DOT_LAZY * p^2 < p * 2^256 (p < 2^254), so one
 * Montgomery reduction serves them all. */
#define DOT_LAZY 5

/* r = sum_j a[j] * b[j] (Montgomery), a and b of n elements (4 limbs each). */
static inline void mont_dot(uint64_t r[4], const uint64_t *a, const uint64_t (*b)[4], int n) {
    uint64_t part[4];
    for (int lo = 0; lo < n; lo += DOT_LAZY) {
        uint64_t acc[8] = {0};
        int hi = lo + DOT_LAZY < n ? lo + DOT_LAZY : n;
        for (int j = lo; j < hi; j++) mul_acc(acc, a + 4 * j, b[j]);
        if (lo == 0) {
            redc(r, acc);
        } else {
            redc(part, acc);
            add_mod(r, r, part);
        }
    }
}

static inline void sbox(uint64_t x[4]) {
    uint64_t x2[4], x4[4];
    mont_mul(x2, x, x);
    mont_mul(x4, x2, x2);
    mont_mul(x, x4, x);
}

static inline int is_canonical(const uint64_t a[4]) {
    for (int i = 3; i >= 0; i--) {
        if (a[i] < P[i]) return 1;
        if (a[i] > P[i]) return 0;
    }
    return 0; /* a == p */
}

/*
 * The optimized permutation (Poseidon paper, appendix B; circomlib's poseidon_opt): partial
 * rounds add one constant to s[0] and multiply by a sparse matrix (first row dense, first
 * column dense, identity elsewhere: 2t - 1 products instead of t^2). Python derives the
 * layout from the plain constants and checks the result against the plain permutation.
 *
 * full_c:   n_full * t constants of the full rounds (the first full round after the partial
 *           rounds absorbs the partial rounds' folded constants)
 * dense:    t * t MDS matrix (row-major) for the full rounds
 * pre:      t * t matrix of the last full round before the partial rounds
 * partial_c: n_partial constants added to s[0]
 * sparse:   n_partial * (2t - 1): [m00, row0[1..t-1], col0[1..t-1]] of each partial round
 */
static inline __attribute__((always_inline)) void permute(
    const int t, const int n_full, const int n_partial, const uint64_t *full_c,
    const uint64_t *dense, const uint64_t *pre, const uint64_t *partial_c, const uint64_t *sparse,
    uint64_t s[][4]) {
    uint64_t u[MAX_T][4], prod[4];
    const int half = n_full / 2;
    for (int r = 0; r < n_full; r++) {
        const uint64_t *c = full_c + 4 * (size_t)r * t;
        for (int i = 0; i < t; i++) {
            add_mod(s[i], s[i], c + 4 * i);
            sbox(s[i]);
        }
        const uint64_t *m = (r == half - 1) ? pre : dense;
        for (int i = 0; i < t; i++) {
            mont_dot(u[i], m + 4 * (size_t)i * t, (const uint64_t(*)[4])s, t);
        }
        memcpy(s, u, sizeof(uint64_t) * 4 * (size_t)t);
        if (r == half - 1) {
            for (int q = 0; q < n_partial; q++) {
                const uint64_t *sp = sparse + 4 * (size_t)q * (2 * t - 1);
                add_mod(s[0], s[0], partial_c + 4 * q);
                sbox(s[0]);
                uint64_t s0[4];
                memcpy(s0, s[0], 32);
                mont_dot(s[0], sp, (const uint64_t(*)[4])s, t);
                for (int j = 1; j < t; j++) {
                    mont_mul(prod, sp + 4 * (t - 1 + j), s0);
                    add_mod(s[j], s[j], prod);
                }
            }
        }
    }
}

static inline __attribute__((always_inline)) long long batch(
    const int t, int n_full, int n_partial, const uint64_t *full_c, const uint64_t *dense,
    const uint64_t *pre, const uint64_t *partial_c, const uint64_t *sparse, const uint64_t *in,
    uint64_t *out, size_t n) {
    const size_t width = (size_t)(t - 1);
    for (size_t k = 0; k < n * width; k++) {
        if (!is_canonical(in + 4 * k)) return (long long)k;
    }
    uint64_t s[MAX_T][4];
    for (size_t k = 0; k < n; k++) {
        const uint64_t *x = in + 4 * width * k;
        memset(s[0], 0, 32);
        for (int i = 1; i < t; i++) mont_mul(s[i], x + 4 * (i - 1), R2);
        permute(t, n_full, n_partial, full_c, dense, pre, partial_c, sparse, s);
        mont_mul(out + 4 * k, s[0], ONE);
    }
    return -1;
}

/*
 * Hash n independent inputs of t - 1 elements each: out[k] = Poseidon(in[k*(t-1) .. ]).
 * Constants as described above permute(), in Montgomery form. Returns -1 on success; -2 if
 * the shape is unsupported; otherwise the index (counted in elements of `in`) of the first
 * input that is not < p, in which case nothing was written.
 */
long long drey_poseidon_batch(int t, int n_full, int n_partial, const uint64_t *full_c,
                              const uint64_t *dense, const uint64_t *pre,
                              const uint64_t *partial_c, const uint64_t *sparse,
                              const uint64_t *in, uint64_t *out, size_t n) {
    if (t < 2 || t > MAX_T || n_full < 2 || n_partial < 0 || (n_full & 1)) return -2;
    if (t == 3) {  /* the protocol's width: let the compiler unroll for it */
        return batch(3, n_full, n_partial, full_c, dense, pre, partial_c, sparse, in, out, n);
    }
    return batch(t, n_full, n_partial, full_c, dense, pre, partial_c, sparse, in, out, n);
}
