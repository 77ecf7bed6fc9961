/* symgraph_random.h: the counter-based generator (Philox-4x32-10) and the samplers of
 * symgraph/ops/random.py built on it.
 *
 * Every function here has a numpy twin in symgraph/ops/random.py that computes the same
 * bits and the same floats (the reference of "py" mode): same operations in the same
 * order, in IEEE double, with no fused multiply-adds (the toolchain passes
 * -ffp-contract=off) and no libm transcendental (libm's log/sin/cos differ from numpy's
 * in the last bit; the small log and sin/cos below use only + - * / and frexp, which
 * are exact or correctly rounded on both sides). Change one side only with the other.
 *
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11)
 * maps a 128-bit counter and a 64-bit key to 128 random bits; the Random123 known-answer
 * vectors are checked in tests/test_random.py. Layout used by symgraph:
 *   key     = the user's key words, or for a stream s != 0 the key derived from them as
 *             philox(counter = (s_lo, s_hi, 0, SG_RANDOM_STREAM_TAG), key)[0..1];
 *   counter = (block_lo, block_hi, call_lo, call_hi) where block numbers the 4-word
 *             blocks of one result and call is the op's counter input (the global
 *             state's call count, or 0 with an explicit key). The truncated normal uses
 *             (element, attempt, call_lo, call_hi) instead (at most 2^32 elements).
 * Results are independent of thread count: each block depends only on its counter.
 */
#ifndef SYMGRAPH_RANDOM_H
#define SYMGRAPH_RANDOM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define SG_PHILOX_M0 0xD2511F53u
#define SG_PHILOX_M1 0xCD9E8D57u
#define SG_PHILOX_W0 0x9E3779B9u
#define SG_PHILOX_W1 0xBB67AE85u
#define SG_RANDOM_STREAM_TAG 0x5354524Du /* "STRM" */
#define SG_RANDOM_SPLIT_TAG 0x53504C54u  /* "SPLT" */

/* The sampling loops run on every OpenMP thread from 8192 blocks (elements for the
 * truncated normal): a block costs more than a tanh, whose loops pay from ~2048; they
 * are written to vectorise (no branches, no libm call but sqrt). 1e6 float32 values on
 * the 2-core development machine (busy): uniform 2-3 ms, normal 10-13 ms, truncated
 * normal 19 ms; numpy's Generator.random 6 ms, standard_normal 19-25 ms. */

/* c <- Philox-4x32-10(c, (k0, k1)): ten rounds, the key bumped by the Weyl constants
 * before each round after the first. */
static inline void sg_philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += SG_PHILOX_W0;
            k1 += SG_PHILOX_W1;
        }
        const uint64_t p0 = (uint64_t)SG_PHILOX_M0 * c[0];
        const uint64_t p1 = (uint64_t)SG_PHILOX_M1 * c[2];
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = (uint32_t)p1;
        c[2] = n2;
        c[3] = (uint32_t)p0;
    }
}

/* The key of stream ``stream`` under the user's key (stream 0: the key itself). */
static inline void sg_random_stream_key(uint32_t key[2], uint64_t stream)
{
    if (stream == 0) return;
    uint32_t c[4] = {(uint32_t)stream, (uint32_t)(stream >> 32), 0u, SG_RANDOM_STREAM_TAG};
    sg_philox4x32_10(c, key[0], key[1]);
    key[0] = c[0];
    key[1] = c[1];
}

/* The 4 words of block ``block`` for call counter ``call``. */
static inline void sg_random_block(uint32_t c[4], uint64_t block, uint64_t call, uint32_t k0, uint32_t k1)
{
    c[0] = (uint32_t)block;
    c[1] = (uint32_t)(block >> 32);
    c[2] = (uint32_t)call;
    c[3] = (uint32_t)(call >> 32);
    sg_philox4x32_10(c, k0, k1);
}

/* A uniform double in [0, 1) on the grid k * 2^-53 from two words (53 of their bits). */
static inline double sg_random_u53(uint32_t hi, uint32_t lo)
{
    return ((double)(hi >> 5) * 67108864.0 + (double)(lo >> 6)) * 0x1p-53;
}

/* log(u) for a normal u > 0 (branch-free, so sampling loops vectorise): u = m 2^e with
 * m in [sqrt(1/2), sqrt(2)) (frexp's split read off the bits), s = (m-1)/(m+1),
 * log m = 2 s (1 + s^2/3 + s^4/5 + ... + s^22/23) (|s| < 0.172: truncation < 1e-19),
 * e ln 2 added in two parts (fdlibm's ln2_hi has 32 bits: e ln2_hi is exact). */
static inline double sg_random_log(double u)
{
    static const double c[12] = {
        0x1.0000000000000p+0, 0x1.5555555555555p-2, 0x1.999999999999ap-3, 0x1.2492492492492p-3,
        0x1.c71c71c71c71cp-4, 0x1.745d1745d1746p-4, 0x1.3b13b13b13b14p-4, 0x1.1111111111111p-4,
        0x1.e1e1e1e1e1e1ep-5, 0x1.af286bca1af28p-5, 0x1.8618618618618p-5, 0x1.642c8590b2164p-5,
    };
    uint64_t bits;
    memcpy(&bits, &u, sizeof bits);
    const int64_t e0 = (int64_t)(bits >> 52) - 1022; /* frexp: u = m0 2^e0, m0 in [1/2, 1) */
    bits = (bits & UINT64_C(0x000FFFFFFFFFFFFF)) | UINT64_C(0x3FE0000000000000);
    double m0;
    memcpy(&m0, &bits, sizeof m0);
    const int small = m0 < 0x1.6a09e667f3bcdp-1;
    const double m = small ? m0 * 2.0 : m0;
    const int64_t e = small ? e0 - 1 : e0;
    const double f = m - 1.0; /* exact (Sterbenz) */
    const double s = f / (2.0 + f);
    const double s2 = s * s;
    double p = c[11];
    for (int k = 10; k >= 0; k--) p = p * s2 + c[k];
    const double logm = (2.0 * s) * p;
    return (double)e * 0x1.62e42fee00000p-1 + ((double)e * 0x1.a39ef35793c76p-33 + logm);
}

/* sin(2 pi t) and cos(2 pi t) for t in [0, 1): the quadrant and the reflection about
 * pi/4 are taken exactly on t (a dyadic rational), then Taylor polynomials on
 * x = g pi/2, g in [0, 1/2] (x <= pi/4: truncation < 1e-19). */
static inline void sg_random_sincos_2pi(double t, double *sin_out, double *cos_out)
{
    static const double sc[8] = {
        -0x1.5555555555555p-3, 0x1.1111111111111p-7, -0x1.a01a01a01a01ap-13, 0x1.71de3a556c734p-19,
        -0x1.ae64567f544e4p-26, 0x1.6124613a86d09p-33, -0x1.ae7f3e733b81fp-41, 0x1.952c77030ad4ap-49,
    };
    static const double cc[9] = {
        -0x1.0000000000000p-1, 0x1.5555555555555p-5, -0x1.6c16c16c16c17p-10, 0x1.a01a01a01a01ap-16,
        -0x1.27e4fb7789f5cp-22, 0x1.1eed8eff8d898p-29, -0x1.93974a8c07c9dp-37, 0x1.ae7f3e733b81fp-45,
        -0x1.6827863b97d97p-53,
    };
    const double t4 = t * 4.0;
    const int q = (int)t4; /* floor: t4 >= 0 */
    const double f = t4 - (double)q; /* exact */
    const int reflect = f > 0.5;
    const double g = reflect ? 1.0 - f : f; /* exact */
    const double x = g * 0x1.921fb54442d18p+0;
    const double x2 = x * x;
    double ps = sc[7];
    for (int k = 6; k >= 0; k--) ps = ps * x2 + sc[k];
    double pc = cc[8];
    for (int k = 7; k >= 0; k--) pc = pc * x2 + cc[k];
    const double sin_x = x + (x * x2) * ps;
    const double cos_x = 1.0 + x2 * pc;
    /* within the quadrant: angle f pi/2, which is pi/2 - x when reflected */
    const double s = reflect ? cos_x : sin_x;
    const double c = reflect ? sin_x : cos_x;
    /* quadrant q adds q pi/2: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s) */
    const double sq = (q & 1) ? c : s;
    const double cq = (q & 1) ? s : c;
    *sin_out = (q & 2) ? -sq : sq;
    *cos_out = ((q + 1) & 2) ? -cq : cq;
}

/* Box-Muller on one block: u1 = 1 - u53(w0, w1) in (0, 1], u2 = u53(w2, w3) in [0, 1),
 * r = sqrt(-2 log u1): z0 = r cos(2 pi u2), z1 = r sin(2 pi u2). */
static inline void sg_random_box_muller(const uint32_t w[4], double *z0, double *z1)
{
    const double u1 = 1.0 - sg_random_u53(w[0], w[1]);
    const double u2 = sg_random_u53(w[2], w[3]);
    const double r = sqrt(-2.0 * sg_random_log(u1));
    double s, c;
    sg_random_sincos_2pi(u2, &s, &c);
    *z0 = r * c;
    *z1 = r * s;
}

/* Uniform [0, 1): float32 takes one word per element (its top 24 bits), 4 per block;
 * float64 two words per element (53 bits), 2 per block. Normal: one Box-Muller pair
 * per block. Block b fills elements b*PER .. b*PER+PER-1: full blocks in a loop that
 * vectorises (threads over blocks when large), then the last, partial block. */
#define SG_RANDOM_SAMPLER(NAME, T, PER, FILL)                                                   \
    static inline void NAME(T *out, int64_t n, uint32_t k0, uint32_t k1, uint64_t call)        \
    {                                                                                           \
        const int64_t full = n / (PER);                                                         \
        _Pragma("omp parallel for simd schedule(static) if (parallel: full >= 8192)")           \
        for (int64_t b = 0; b < full; b++) {                                                    \
            uint32_t w[4];                                                                      \
            sg_random_block(w, (uint64_t)b, call, k0, k1);                                      \
            FILL(out + (PER) * b, w);                                                           \
        }                                                                                       \
        if (full * (PER) < n) {                                                                 \
            uint32_t w[4];                                                                      \
            T v[PER];                                                                           \
            sg_random_block(w, (uint64_t)full, call, k0, k1);                                   \
            FILL(v, w);                                                                         \
            for (int64_t j = 0; full * (PER) + j < n; j++) out[full * (PER) + j] = v[j];        \
        }                                                                                       \
    }

static inline void sg_random_fill_uniform_float(float *v, const uint32_t w[4])
{
    for (int j = 0; j < 4; j++) v[j] = (float)(w[j] >> 8) * 0x1p-24f;
}

static inline void sg_random_fill_uniform_double(double *v, const uint32_t w[4])
{
    v[0] = sg_random_u53(w[0], w[1]);
    v[1] = sg_random_u53(w[2], w[3]);
}

static inline void sg_random_fill_normal_float(float *v, const uint32_t w[4])
{
    double z0, z1;
    sg_random_box_muller(w, &z0, &z1);
    v[0] = (float)z0;
    v[1] = (float)z1;
}

static inline void sg_random_fill_normal_double(double *v, const uint32_t w[4])
{
    sg_random_box_muller(w, &v[0], &v[1]);
}

SG_RANDOM_SAMPLER(sg_random_uniform_float, float, 4, sg_random_fill_uniform_float)
SG_RANDOM_SAMPLER(sg_random_uniform_double, double, 2, sg_random_fill_uniform_double)
SG_RANDOM_SAMPLER(sg_random_normal_float, float, 2, sg_random_fill_normal_float)
SG_RANDOM_SAMPLER(sg_random_normal_double, double, 2, sg_random_fill_normal_double)

/* The standard normal truncated to [-2, 2] by rejection, as TensorFlow and Keras
 * (values beyond two standard deviations are drawn again): element i tries counters
 * (i, attempt, call) for attempt = 0, 1, ..., taking z0, else z1, of the first
 * attempt with one inside. Each attempt fails with probability 0.0455^2 = 0.002.
 * sg_random_truncated_try: attempt ``attempt``'s pick for element i, NaN if both out. */
static inline double sg_random_truncated_try(uint64_t i, uint64_t attempt, uint64_t call, uint32_t k0, uint32_t k1)
{
    uint32_t w[4];
    double z0, z1;
    sg_random_block(w, (uint64_t)(uint32_t)i | (attempt << 32), call, k0, k1);
    sg_random_box_muller(w, &z0, &z1);
    return fabs(z0) <= 2.0 ? z0 : fabs(z1) <= 2.0 ? z1 : NAN;
}

/* Attempt 0's z0, else its z1, for element i: the value unless both are out. */
static inline double sg_random_truncated_first(uint64_t i, uint64_t call, uint32_t k0, uint32_t k1)
{
    uint32_t w[4];
    double z0, z1;
    sg_random_block(w, (uint64_t)(uint32_t)i, call, k0, k1);
    sg_random_box_muller(w, &z0, &z1);
    return fabs(z0) <= 2.0 ? z0 : z1;
}

/* A first loop that vectorises (one select only) writes attempt 0's pick; the elements
 * whose pick may be out (|v| >= 2 after rounding to T: 0.2% of them) are done again
 * exactly, attempt after attempt. */
#define SG_RANDOM_TRUNCATED(NAME, T)                                                            \
    static inline void NAME(T *out, int64_t n, uint32_t k0, uint32_t k1, uint64_t call)        \
    {                                                                                           \
        _Pragma("omp parallel for simd schedule(static) if (parallel: n >= 8192)")              \
        for (int64_t i = 0; i < n; i++) out[i] = (T)sg_random_truncated_first((uint64_t)i, call, k0, k1); \
        for (int64_t i = 0; i < n; i++) {                                                       \
            if (fabs((double)out[i]) < 2.0) continue;                                           \
            for (uint64_t attempt = 0;; attempt++) {                                            \
                const double z = sg_random_truncated_try((uint64_t)i, attempt, call, k0, k1);   \
                if (!isnan(z)) {                                                                \
                    out[i] = (T)z;                                                              \
                    break;                                                                      \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

SG_RANDOM_TRUNCATED(sg_random_truncated_normal_float, float)
SG_RANDOM_TRUNCATED(sg_random_truncated_normal_double, double)

/* n new keys from one: key j = philox(counter = (j_lo, j_hi, 0, SG_RANDOM_SPLIT_TAG),
 * key)[0..1], written as int64 pairs (each word in [0, 2^32)). */
static inline void sg_random_split(int64_t *out, int64_t n, uint32_t k0, uint32_t k1)
{
    for (int64_t j = 0; j < n; j++) {
        uint32_t c[4] = {(uint32_t)j, (uint32_t)((uint64_t)j >> 32), 0u, SG_RANDOM_SPLIT_TAG};
        sg_philox4x32_10(c, k0, k1);
        out[2 * j] = (int64_t)c[0];
        out[2 * j + 1] = (int64_t)c[1];
    }
}

#endif /* SYMGRAPH_RANDOM_H */
