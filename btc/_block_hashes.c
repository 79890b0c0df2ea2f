/* Block hashing kernel: every txid and wtxid of a block, and the two merkle roots.
 *
 * drey_block_spans walks the serialized block (bounds-checked: the bytes are hostile) and
 * writes, per transaction, four offsets: start, witness start, end, segwit flag.
 * drey_block_roots hashes everything (SHA256d, FIPS 180-4), builds the merkle root of the
 * txids (flagging equal siblings: Core's "mutated", CVE-2012-2459) and the BIP141 witness
 * merkle root (coinbase wtxid counted as zero). Neither touches Python objects, so the
 * follower's fetch threads run them without the GIL.
 *
 * Two SHA-256 compression functions: portable C, and the x86 SHA extensions (SHA-NI), chosen
 * by the caller, which reads the CPU flags. Both are checked against hashlib in the tests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

typedef void (*compress_fn)(uint32_t s[8], const uint8_t *blocks, size_t n);

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void compress_portable(uint32_t s[8], const uint8_t *blocks, size_t n) {
    uint32_t w[64];
    for (; n; n--, blocks += 64) {
        for (int i = 0; i < 16; i++) w[i] = be32(blocks + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
    }
}

#if defined(__x86_64__)
/* The SHA extensions keep the state as (ABEF, CDGH) and run two rounds per sha256rnds2; each
 * group of four rounds extends the message schedule with sha256msg1/msg2 (Intel's layout). */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t s[8], const uint8_t *blocks, size_t n) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[0]), 0xB1);
    __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[4]), 0x1B);
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);
    for (; n; n--, blocks += 64) {
        __m128i save0 = st0, save1 = st1, m[4];
        for (int g = 0; g < 16; g++) {
            __m128i *cur = &m[g & 3];
            if (g < 4) {
                *cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16 * g)), mask);
            } else {
                __m128i x = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
                *cur = _mm_sha256msg2_epu32(x, m[(g + 3) & 3]);
            }
            __m128i k = _mm_loadu_si128((const __m128i *)&K[4 * g]);
            __m128i msg = _mm_add_epi32(*cur, k);
            st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
            st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }
    tmp = _mm_shuffle_epi32(st0, 0x1B);
    st1 = _mm_shuffle_epi32(st1, 0xB1);
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);
    st1 = _mm_alignr_epi8(st1, tmp, 8);
    _mm_storeu_si128((__m128i *)&s[0], st0);
    _mm_storeu_si128((__m128i *)&s[4], st1);
}
#endif

typedef struct {
    uint32_t s[8];
    uint8_t buf[64];
    size_t fill;
    uint64_t total;
    compress_fn compress;
} sha256_ctx;

static void sha_init(sha256_ctx *c, compress_fn f) {
    memcpy(c->s, H0, sizeof H0);
    c->fill = 0;
    c->total = 0;
    c->compress = f;
}

static void sha_update(sha256_ctx *c, const uint8_t *p, size_t n) {
    c->total += n;
    if (c->fill) {
        size_t take = 64 - c->fill < n ? 64 - c->fill : n;
        memcpy(c->buf + c->fill, p, take);
        c->fill += take; p += take; n -= take;
        if (c->fill < 64) return;
        c->compress(c->s, c->buf, 1);
        c->fill = 0;
    }
    if (n >= 64) {
        c->compress(c->s, p, n / 64);
        p += n / 64 * 64;
        n %= 64;
    }
    memcpy(c->buf, p, n);
    c->fill = n;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void sha_final(sha256_ctx *c, uint8_t out[32]) {
    uint8_t pad[72] = {0x80};
    uint64_t bits = c->total * 8;
    size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(c, pad, padlen);
    sha_update(c, len, 8);
    for (int i = 0; i < 8; i++) put_be32(out + 4 * i, c->s[i]);
}

/* SHA256 of a 32-byte digest, in place: one padded block. */
static void sha_of_digest(compress_fn f, uint8_t d[32]) {
    uint8_t block[64] = {0};
    uint32_t s[8];
    memcpy(block, d, 32);
    block[32] = 0x80;
    block[62] = 0x01; /* 256 bits, big-endian */
    memcpy(s, H0, sizeof H0);
    f(s, block, 1);
    for (int i = 0; i < 8; i++) put_be32(d + 4 * i, s[i]);
}

/* Merkle root over n 32-byte hashes in place (n >= 1); returns 1 when two equal siblings
 * were hashed together at some level (not counting the duplicated last hash of odd levels). */
static int merkle(compress_fn f, uint8_t *h, size_t n, uint8_t root[32]) {
    int mutated = 0;
    while (n > 1) {
        size_t out = 0;
        for (size_t i = 0; i < n; i += 2) {
            uint8_t *left = h + 32 * i;
            uint8_t *right = i + 1 < n ? h + 32 * (i + 1) : left;
            if (i + 1 < n && memcmp(left, right, 32) == 0) mutated = 1;
            uint8_t pair[64];
            memcpy(pair, left, 32);
            memcpy(pair + 32, right, 32);
            sha256_ctx c;
            sha_init(&c, f);
            sha_update(&c, pair, 64);
            sha_final(&c, h + 32 * out);
            sha_of_digest(f, h + 32 * out);
            out++;
        }
        n = out;
    }
    memcpy(root, h, 32);
    return mutated;
}

/* spans: n_tx rows of (start, witness_start, end, segwit). out: merkle root ‖ witness root
 * (64 bytes, internal byte order). Returns 0 or 1 (mutated), or -1 when out of memory. */
int drey_block_roots(const uint8_t *raw, const uint32_t *spans, uint32_t n_tx, int shani,
                     uint8_t *out) {
    compress_fn f = compress_portable;
#if defined(__x86_64__)
    if (shani) f = compress_shani;
#endif
    if (n_tx == 0) {
        memset(out, 0, 64);
        return 0;
    }
    uint8_t *txids = malloc((size_t)n_tx * 32);
    uint8_t *wtxids = malloc((size_t)n_tx * 32);
    if (!txids || !wtxids) {
        free(txids);
        free(wtxids);
        return -1;
    }
    for (uint32_t i = 0; i < n_tx; i++) {
        const uint32_t *sp = spans + 4 * (size_t)i;
        uint32_t start = sp[0], wstart = sp[1], end = sp[2];
        sha256_ctx c;
        sha_init(&c, f);
        if (sp[3]) {
            sha_update(&c, raw + start, 4);
            sha_update(&c, raw + start + 6, wstart - start - 6);
            sha_update(&c, raw + end - 4, 4);
            sha_final(&c, txids + 32 * i);
            sha_init(&c, f);
            sha_update(&c, raw + start, end - start);
            sha_final(&c, wtxids + 32 * i);
            sha_of_digest(f, wtxids + 32 * i);
        } else {
            sha_update(&c, raw + start, end - start);
            sha_final(&c, txids + 32 * i);
        }
        sha_of_digest(f, txids + 32 * i);
        if (!sp[3]) memcpy(wtxids + 32 * i, txids + 32 * i, 32);
    }
    memset(wtxids, 0, 32); /* BIP141: the coinbase's wtxid counts as zero */
    int mutated = merkle(f, txids, n_tx, out);
    merkle(f, wtxids, n_tx, out + 32);
    free(txids);
    free(wtxids);
    return mutated;
}

/* CompactSize at *pos (canonical, at most Core's MAX_SIZE); -1 when truncated or not. */
static int read_cs(const uint8_t *p, size_t len, size_t *pos, uint64_t *out) {
    if (*pos >= len) return -1;
    uint8_t b = p[(*pos)++];
    if (b < 0xfd) {
        *out = b;
        return 0;
    }
    size_t n = b == 0xfd ? 2 : b == 0xfe ? 4 : 8;
    if (len - *pos < n) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[*pos + i] << (8 * i);
    *pos += n;
    if ((n == 2 && v < 0xfd) || (n == 4 && v <= 0xffff) || (n == 8 && v <= 0xffffffffULL)) return -1;
    if (v > 0x02000000) return -1;
    *out = v;
    return 0;
}

/* Skip a CompactSize-prefixed byte string. */
static int skip_bytes(const uint8_t *p, size_t len, size_t *pos) {
    uint64_t n;
    if (read_cs(p, len, pos, &n) || n > len - *pos) return -1;
    *pos += n;
    return 0;
}

/* The spans of the block's transactions (4 uint32 each, at most max_tx transactions): the
 * number of transactions, or -1 when the bytes do not parse as header, count, transactions
 * and nothing after (the scanner then reports precisely why). */
long long drey_block_spans(const uint8_t *raw, size_t len, uint32_t *spans, uint32_t max_tx) {
    size_t pos = 80;
    uint64_t n_tx;
    if (len < 81 || len > 0xffffffffULL || read_cs(raw, len, &pos, &n_tx) || n_tx > max_tx) return -1;
    for (uint64_t t = 0; t < n_tx; t++) {
        size_t start = pos;
        uint64_t n_in, n_out, count;
        int segwit = 0;
        if (len - pos < 10) return -1;
        pos += 4;
        if (raw[pos] == 0) {
            if (raw[pos + 1] != 1) return -1;
            segwit = 1;
            pos += 2;
        }
        if (read_cs(raw, len, &pos, &n_in)) return -1;
        for (uint64_t i = 0; i < n_in; i++) {
            if (len - pos < 36) return -1;
            pos += 36;
            if (skip_bytes(raw, len, &pos) || len - pos < 4) return -1;
            pos += 4;
        }
        if (read_cs(raw, len, &pos, &n_out)) return -1;
        for (uint64_t i = 0; i < n_out; i++) {
            if (len - pos < 8) return -1;
            pos += 8;
            if (skip_bytes(raw, len, &pos)) return -1;
        }
        size_t wstart = pos;
        if (segwit) {
            for (uint64_t i = 0; i < n_in; i++) {
                if (read_cs(raw, len, &pos, &count)) return -1;
                for (uint64_t j = 0; j < count; j++)
                    if (skip_bytes(raw, len, &pos)) return -1;
            }
        }
        if (len - pos < 4) return -1;
        pos += 4;
        uint32_t *sp = spans + 4 * (size_t)t;
        sp[0] = (uint32_t)start;
        sp[1] = (uint32_t)wstart;
        sp[2] = (uint32_t)pos;
        sp[3] = (uint32_t)segwit;
    }
    return pos == len ? (long long)n_tx : -1;
}

/* SHA256d of one buffer (for the tests that compare both compression functions). */
void drey_sha256d(const uint8_t *p, size_t n, int shani, uint8_t out[32]) {
    compress_fn f = compress_portable;
#if defined(__x86_64__)
    if (shani) f = compress_shani;
#endif
    sha256_ctx c;
    sha_init(&c, f);
    sha_update(&c, p, n);
    sha_final(&c, out);
    sha_of_digest(f, out);
}
