/* symgraph_math.h: vectorisable float32 transcendentals for generated elementwise loops.
 *
 * Why these exist (transcendentals decide fused-loop speed): a loop that
 * calls libm's expf/tanhf runs one element at a time. glibc's vector variants (libmvec)
 * are only declared under -ffast-math, and -fno-finite-math-only switches them off
 * again; symgraph keeps IEEE semantics (no fast-math: NaN and inf propagate, isnan
 * works). So we ship our own: polynomial approximations, not libmvec.
 *
 * What is here (float32 only; float64 keeps libm: c_math() in symgraph/ops/c_api.py
 * maps exp/log/tanh/log1p/expm1 to these names for float32 and to libm's exp/log/...
 * for float64):
 *
 *   sg_expf   sg_logf   sg_log1pf   sg_expm1f   sg_tanhf   sg_sigmoidf (1/(1+exp(-x)))
 *   sg_sigmoid (float64, through libm exp, same overflow-free form)
 *   sg_powf, sg_pow (libm's pow, with one answer for an exponent of 0.5: see there)
 *
 * How they are built: Cody-Waite range reduction (x = n ln2 + r, or x = 2^k m) and
 * minimax polynomials fitted for this file (weighted minimax by Lawson's algorithm
 * against mpmath, coefficients rounded to float32 and written as hex literals), then a
 * few selects for the special cases. Every function is static inline, straight-line
 * (selects are bit masks, sg__sel: see there why not ternaries), calls nothing (fabsf
 * is a builtin bit-and), and does its bit casts through a union, so gcc -O3 vectorises
 * a loop calling them (under `#pragma omp simd` or by plain -O3 auto-vectorisation) at
 * full SIMD width: 16 lanes with AVX-512, 8 with AVX2, 4 with baseline SSE2.
 * tests/codegen/test_c_math.py checks gcc's -fopt-info-vec report for it.
 *
 * Accuracy, measured exhaustively over all 2^32 float32 inputs against libm's double
 * results rounded to float32 (tests/codegen/test_c_math.py repeats it on a dense sample,
 * windows around the critical points and the special values), with and without FMA
 * contraction (symgraph builds with -ffp-contract=off; both were checked):
 *
 *   sg_expf 1 ulp, sg_logf 1, sg_log1pf 1, sg_expm1f 1, sg_tanhf 2, sg_sigmoidf 2
 *   (distance from the correctly rounded float; from the exact value at most 1.02, 0.95,
 *   1.01, 1.44, 2.50 and 1.97 ulp)
 *
 * so all within the 2 ulp the project asks for. Results that are subnormal are computed,
 * not flushed (expf, expm1f's tiny side, sigmoidf's negative tail, tanhf/log1pf/expm1f
 * of subnormal x return x). IEEE special cases are exact:
 *
 *   expf:   exp(-inf)=+0, exp(+inf)=+inf, exp(nan)=nan, overflow to +inf above
 *           88.7228, gradual underflow to subnormals and then +0 below -103.97
 *   logf:   log(+-0)=-inf, log(x<0)=nan, log(+inf)=+inf, log(nan)=nan, subnormals exact
 *   log1pf: log1p(-1)=-inf, log1p(x<-1)=nan, log1p(+inf)=+inf, log1p(+-0)=+-0
 *   expm1f: expm1(-inf)=-1, expm1(+inf)=+inf, overflow to +inf, expm1(+-0)=+-0
 *   tanhf:  tanh(+-inf)=+-1, tanh(+-0)=+-0, tanh(x)=x for tiny |x|
 *   sigmoidf: sigmoid(-inf)=+0, sigmoid(+inf)=1
 *   and nan in, nan out everywhere.
 *
 * Requirements: IEEE float32 with round-to-nearest; no -ffast-math (value-changing
 * reassociation would undo the Cody-Waite splits and the NaN selects); arithmetic right
 * shift of negative int32_t (gcc, clang). FMA contraction is fine either way. The
 * polynomials' Horner steps are explicit fused multiply-adds where the CPU has them
 * (SG__MADD), every other step a basic IEEE operation (symgraph's -ffp-contract=off), so
 * on one CPU results are bit-identical whatever the vector width or scalar; a CPU without
 * FMA may differ in the last bit, within the bounds above.
 * Not done: float64 versions (float64 keeps libm, scalar), other functions (sin, cos,
 * erf, pow, ... stay libm for both types).
 */
#ifndef SYMGRAPH_MATH_H
#define SYMGRAPH_MATH_H

#include <math.h>
#include <stdint.h>

/* ---- bit casts (unions: gcc turns them into register moves and vectorises them) ---- */

typedef union {
    float f;
    int32_t i;
    uint32_t u;
} sg__f32bits;

static inline uint32_t sg__as_u32(float x)
{
    sg__f32bits b;
    b.f = x;
    return b.u;
}

static inline float sg__as_f32(uint32_t u)
{
    sg__f32bits b;
    b.u = u;
    return b.f;
}

/* Branch-free selects: c ? a : b as bit masks. A plain ternary is not enough: gcc
 * (without -fno-trapping-math) sinks the arithmetic that feeds one arm into a branch, or
 * threads the constant arm of a clamp through the rest of the function, and a loop with
 * control flow in it does not vectorise. The masks vectorise to compares and blends. */
static inline float sg__sel(int c, float a, float b)
{
    uint32_t m = 0u - (uint32_t)(c != 0);
    return sg__as_f32((sg__as_u32(a) & m) | (sg__as_u32(b) & ~m));
}

static inline int32_t sg__seli(int c, int32_t a, int32_t b)
{
    uint32_t m = 0u - (uint32_t)(c != 0);
    return (int32_t)(((uint32_t)a & m) | ((uint32_t)b & ~m));
}

/* One Horner step p*r + c: a fused multiply-add where the CPU has one (symgraph builds
 * with -ffp-contract=off so that user expressions round like numpy; the polynomials here
 * are accurate either way, see the accuracy note above, and FMA halves their cost). */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define SG__MADD(p, r, c) __builtin_fmaf((p), (r), (c))
#else
#define SG__MADD(p, r, c) ((p) * (r) + (c))
#endif

/* 2^n for n in [-126, 127], exactly. */
static inline float sg__pow2i(int32_t n) { return sg__as_f32((uint32_t)(n + 127) << 23); }

/* ln2 split for Cody-Waite: SG__LN2_HI has 16 significant bits, so n * SG__LN2_HI is
 * exact for |n| < 256; SG__LN2_HI + SG__LN2_LO = ln2 to about 2^-45. */
#define SG__LN2_HI 0x1.62e400p-1f
#define SG__LN2_LO 0x1.7f7d1cp-20f
#define SG__INV_LN2 0x1.715476p+0f

/* round(t) for t in [-250, 250] without rint or the add-magic trick (which fast-math
 * would fold away): truncation of a positive number is floor. */
static inline int32_t sg__round_small(float t) { return (int32_t)(t + 256.5f) - 256; }

/* x = n ln2 + r with n = round(x/ln2), |r| <= ln2/2 (+tiny), for |x| < 2^22 (no NaN);
 * returns r. n by the add-magic trick (fast-math is ruled out above), two instructions
 * fewer than a conversion round trip; r by Cody-Waite, exact as nf * SG__LN2_HI is. */
static inline float sg__ln2_reduce(float x, int32_t *n)
{
    float t = SG__MADD(x, SG__INV_LN2, 0x1.8p23f);
    float nf = t - 0x1.8p23f;
    *n = (int32_t)(sg__as_u32(t) - sg__as_u32(0x1.8p23f));
    float r = SG__MADD(-nf, SG__LN2_HI, x);
    return SG__MADD(-nf, SG__LN2_LO, r);
}

/* exp(x) = 2^n p, the reduction shared by the exponentials below (x has no NaN).
 * x = n ln2 + r, |r| <= ln2/2 (+tiny); p = exp(r) = 1 + r + r^2 P(r), P of degree 4,
 * weighted minimax on [-0.3486, 0.3486] for the error relative to exp(r): 2^-28.2. */
static inline float sg__expf_reduce(float x, int32_t *n)
{
    float r = sg__ln2_reduce(x, n);
    float p = 0x1.6a1e8cp-10f;
    p = SG__MADD(p, r, 0x1.123d4cp-7f);
    p = SG__MADD(p, r, 0x1.555906p-5f);
    p = SG__MADD(p, r, 0x1.55548cp-3f);
    p = SG__MADD(p, r, 0x1.fffffcp-2f);
    return 1.0f + SG__MADD(r * r, p, r);
}

/* exp(x) for x in [-104, 89] (no NaN): the caller clamps. 2^n is applied as two factors
 * 2^(n>>1) 2^(n-(n>>1)), both normal for n in [-150, 128], so results that overflow
 * become inf and results in the subnormal range are rounded once. */
static inline float sg__expf_core(float x)
{
    int32_t n;
    float p = sg__expf_reduce(x, &n);
    int32_t n1 = n >> 1;
    return (p * sg__pow2i(n1)) * sg__pow2i(n - n1);
}

/* exp(x) for x in [-104, 0] (no NaN; sigmoid's range): 2^n as 2^(n+24) 2^-24, both normal
 * for n in [-150, 0], so results in the subnormal range are rounded once, as in
 * sg__expf_core, with fewer integer steps. */
static inline float sg__expf_nonpositive(float x)
{
    int32_t n;
    float p = sg__expf_reduce(x, &n);
    return (p * sg__pow2i(n + 24)) * 0x1p-24f;
}

/* exp(x) for x in [-87, 88] (no NaN), where 2^n is normal: one factor (tanh's range). */
static inline float sg__expf_normal(float x)
{
    int32_t n;
    float p = sg__expf_reduce(x, &n);
    return p * sg__pow2i(n);
}

/* log1p(f) - f for f in [sqrt(1/2)-1, sqrt(2)-1]: f^2 (f R(f) - 1/2), R of degree 7,
 * weighted minimax for the error relative to log1p(f): 2^-27.4. */
static inline float sg__log1p_tail(float f)
{
    float p = -0x1.38c1b2p-4f;
    p = SG__MADD(p, f, 0x1.05649ep-3f);
    p = SG__MADD(p, f, -0x1.0d875cp-3f);
    p = SG__MADD(p, f, 0x1.22d90ap-3f);
    p = SG__MADD(p, f, -0x1.5471f6p-3f);
    p = SG__MADD(p, f, 0x1.99a012p-3f);
    p = SG__MADD(p, f, -0x1.000228p-2f);
    p = SG__MADD(p, f, 0x1.555554p-2f);
    return (f * f) * (f * p - 0.5f);
}

/* exp(x), float32. */
static inline float sg_expf(float x)
{
    float xc = sg__sel(x > -104.0f, x, -104.0f); /* NaN goes to -104 here, and is restored below */
    xc = sg__sel(xc < 89.0f, xc, 89.0f);
    float y = sg__expf_core(xc);
    return sg__sel(x == x, y, x);
}

/* log(x), float32: x = 2^k m with m in [sqrt(1/2), sqrt(2)), log x = k ln2 + log1p(m-1)
 * (m - 1 is exact). Subnormal x is scaled by 2^23 first. */
static inline float sg_logf(float x)
{
    int sub = x < 0x1p-126f;
    float xbig = x * 0x1p23f;
    float xs = sg__sel(sub, xbig, x);
    uint32_t ix = sg__as_u32(xs) - 0x3f3504f3u; /* the bits of sqrt(1/2) */
    int32_t k = ((int32_t)ix >> 23) - sg__seli(sub, 23, 0);
    float f = sg__as_f32((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float kf = (float)k;
    float y = kf * SG__LN2_HI + (f + (sg__log1p_tail(f) + kf * SG__LN2_LO));
    y = sg__sel(x == 0.0f, -INFINITY, y);
    y = sg__sel(x < 0.0f, NAN, y);
    return sg__sel(x < INFINITY, y, x); /* +inf -> +inf, nan -> nan */
}

/* log1p(x), float32: u = 1 + x rounded, c = (1 + x) - u exactly (Fast2Sum), then
 * log1p(x) = log(u) + c/u, with log(u) as in sg_logf (u is never subnormal). */
static inline float sg_log1pf(float x)
{
    float u = 1.0f + x;
    float c_small = x - (u - 1.0f); /* exact when |x| <= 1 */
    float c_big = 1.0f - (u - x);   /* exact when |x| >= 1 */
    float c = sg__sel(fabsf(x) <= 1.0f, c_small, c_big);
    uint32_t iu = sg__as_u32(u) - 0x3f3504f3u;
    int32_t k = (int32_t)iu >> 23;
    float f = sg__as_f32((iu & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float kf = (float)k;
    float y = kf * SG__LN2_HI + (f + (sg__log1p_tail(f) + (kf * SG__LN2_LO + c / u)));
    y = sg__sel(x == -1.0f, -INFINITY, y);
    y = sg__sel(x < -1.0f, NAN, y);
    y = sg__sel(x == 0.0f, x, y); /* keeps the sign of zero */
    return sg__sel(x < INFINITY, y, x);
}

/* Q(r) of expm1(r) = r + r^2/2 + r^3 Q(r), degree 5, weighted minimax on [-0.6942, 0.6942]
 * for the error relative to expm1(r): 2^-29.4 (sg_expm1f, sg_tanhf). */
static inline float sg__expm1_q(float r)
{
    float q = 0x1.a07f6cp-16f;
    q = SG__MADD(q, r, 0x1.a557bap-13f);
    q = SG__MADD(q, r, 0x1.6c1d50p-10f);
    q = SG__MADD(q, r, 0x1.110b70p-7f);
    q = SG__MADD(q, r, 0x1.555548p-5f);
    q = SG__MADD(q, r, 0x1.55555cp-3f);
    return q;
}

/* expm1(x), float32: n = 0 for |x| < ln2 (so there is no cancellation in 2^n - 1 + ...),
 * else n = round(x/ln2); x = n ln2 + r; expm1(r) = r + r^2/2 + r^3 Q(r) (sg__expm1_q).
 * expm1(x) = (2^n - 1) + 2^n expm1(r), with 2^n split at n = 100 so n up to 128 works. */
static inline float sg_expm1f(float x)
{
    float xc = sg__sel(x > -30.0f, x, -30.0f); /* NaN goes to -30; expm1(-30) rounds to -1 */
    xc = sg__sel(xc < 89.0f, xc, 89.0f);
    int32_t n = sg__round_small(xc * SG__INV_LN2);
    n = sg__seli(fabsf(xc) < 0x1.62e42ep-1f, 0, n);
    float nf = (float)n;
    float r = (xc - nf * SG__LN2_HI) - nf * SG__LN2_LO;
    float q = sg__expm1_q(r);
    float em1 = r + (r * r) * (0.5f + r * q);
    int32_t n1 = sg__seli(n < 100, n, 100);
    float t = sg__pow2i(n1);
    float y = ((t - 1.0f) + t * em1) * sg__pow2i(n - n1);
    y = sg__sel(x == 0.0f, x, y); /* keeps the sign of zero */
    return sg__sel(x == x, y, x);
}

/* tanh(x), float32, one path for every x: tanh|x| = -m/(2 + m) with m = expm1(-2|x|)
 * (|x| clamped to 9.1, beyond which tanh rounds to 1). expm1(y) = (2^n - 1) + 2^n expm1(r)
 * for y = n ln2 + r, expm1(r) = r + r^2/2 + r^3 Q(r) as in sg_expm1f; y <= 0, so n <= 0
 * and 2^n - 1 never cancels. One path instead of a polynomial for small |x| beside an
 * exp-based form for the rest: 2 ulp where the two paths gave 1, for 8% of W2's kernel
 * (a loop computes both paths of a select). */
static inline float sg_tanhf(float x)
{
    float a = fabsf(x);
    float y = -2.0f * sg__sel(a > 9.1f, 9.1f, a); /* nan stays nan, and so does every step below */
    int32_t n;
    float r = sg__ln2_reduce(y, &n);
    float q = sg__expm1_q(r);
    float scale = sg__pow2i(n);
    float m = SG__MADD(scale, SG__MADD(r * r, SG__MADD(r, q, 0.5f), r), scale - 1.0f);
    float th = -m / (2.0f + m);
    /* |th| with the sign of x (tanh(+0) = -m/2 = -0 would otherwise keep its sign) */
    return sg__as_f32((sg__as_u32(th) & 0x7fffffffu) | (sg__as_u32(x) & 0x80000000u));
}

/* sigmoid(x) = 1/(1+exp(-x)), float32, in the form that neither overflows nor loses the
 * negative tail: e = exp(-|x|) in (0, 1]; x >= 0: 1/(1+e), x < 0: e/(1+e). The rounding
 * error of d = 1 + e (dl, exact by Fast2Sum) is put back as q - q dl/d, with 1/d taken as
 * 1.5 - d/2 (within 12% on [1, 2], plenty for a correction of at most 2^-24 q): without
 * it the error reaches 2.4 ulp. */
static inline float sg_sigmoidf(float x)
{
    float a = fabsf(x);
    float ac = sg__sel(a > 104.0f, 104.0f, a); /* nan stays nan, and so does every step below */
    float e = sg__expf_nonpositive(-ac);
    float d = 1.0f + e;
    float dl = e - (d - 1.0f);
    float q = sg__sel(x >= 0.0f, 1.0f, e) / d;
    return SG__MADD(-q, dl * SG__MADD(-0.5f, d, 1.5f), q);
}

/* sigmoid for float64: the same form through libm's exp (float64 keeps libm). */
static inline double sg_sigmoid(double x)
{
    double e = exp(-fabs(x));
    return (x >= 0.0 ? 1.0 : e) / (1.0 + e);
}

/* pow, answering an exponent of 0.5 as pow does wherever the element falls in a loop:
 * gcc's vectoriser turns pow(x, 0.5) into sqrt(x), which gives nan at -inf and -0 at -0,
 * while the loop's scalar remainder calls pow (+inf and +0). So an exponent of 0.5 is
 * sqrt here, with pow's two special cases made explicit (+ 0 turns -0 into +0); any
 * other exponent is libm's pow (no vector form: glibc declares none without fast-math). */
static inline float sg_powf(float a, float b)
{
    if (b == 0.5f)
        return a == -INFINITY ? INFINITY : sqrtf(a) + 0.0f;
    return powf(a, b);
}

static inline double sg_pow(double a, double b)
{
    if (b == 0.5)
        return a == -INFINITY ? INFINITY : sqrt(a) + 0.0;
    return pow(a, b);
}

/* The max and min of OpenMP's simd reductions for floats (symgraph/ops/reduction.py), with
 * the private copies starting at -inf / +inf. OpenMP's built-in max and min start them at
 * the type's "least/largest representable value", which clang (libomp) takes to be
 * -FLT_MAX / FLT_MAX: the max of a row of -inf came out as -3.4e38. gcc started at -inf;
 * it vectorises these declared ones as it did the built-in ones. */
#ifdef _OPENMP
#pragma omp declare reduction(sg_maxf : float : omp_out = omp_in > omp_out ? omp_in : omp_out) \
    initializer(omp_priv = -INFINITY)
#pragma omp declare reduction(sg_minf : float : omp_out = omp_in < omp_out ? omp_in : omp_out) \
    initializer(omp_priv = INFINITY)
#pragma omp declare reduction(sg_max : double : omp_out = omp_in > omp_out ? omp_in : omp_out) \
    initializer(omp_priv = -INFINITY)
#pragma omp declare reduction(sg_min : double : omp_out = omp_in < omp_out ? omp_in : omp_out) \
    initializer(omp_priv = INFINITY)
#endif

#endif /* SYMGRAPH_MATH_H */
