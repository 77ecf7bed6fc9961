/* symgraph_target.h: what the unit's target gives the hand-blocked kernels.
 *
 * A unit is compiled for the machine it runs on (-march=native, or SYMGRAPH_CFLAGS), so
 * the compiler's predefined macros say which vector registers the kernels may hold their
 * blocks in. Kernels whose speed depends on that (the direct one-channel convolutions of
 * symgraph_conv_template.h) size their register blocks from this table; everything else
 * is plain loops the compiler vectorises for the target by itself.
 *
 *   target              vector   registers  conv c1 block (vectors x pixels: accumulators)
 *   __AVX512F__         64 B     32         2 x 4:  8   (+2 for the filter taps)
 *   __AVX__ (AVX2)      32 B     16         2 x 4:  8   (+2)
 *   __ARM_NEON          16 B     32         4 x 4: 16   (+4)
 *   __SSE2__            16 B     16         4 x 2:  8   (+4)
 *   anything else       16 B     -          4 x 2       (GCC's generic vectors: scalar code)
 *
 * Why: the block must fit the register file with room for the taps and the broadcast
 * input; a block of 64-byte vectors on a 16-register AVX2 machine made GCC split every
 * vector in two and spill, and the first W5 convolution took 39 ms instead of about 1.
 * The measured times of each choice are in symgraph_conv.h, beside SG_CONV_NV.
 */
#ifndef SYMGRAPH_TARGET_H
#define SYMGRAPH_TARGET_H

#if defined(__AVX512F__)
#define SG_TARGET_NAME "avx512"
#define SG_VEC_BYTES 64
#define SG_VEC_REGS 32
#elif defined(__AVX__)
#define SG_TARGET_NAME "avx2"
#define SG_VEC_BYTES 32
#define SG_VEC_REGS 16
#elif defined(__ARM_NEON) || defined(__aarch64__)
#define SG_TARGET_NAME "neon"
#define SG_VEC_BYTES 16
#define SG_VEC_REGS 32
#elif defined(__SSE2__)
#define SG_TARGET_NAME "sse2"
#define SG_VEC_BYTES 16
#define SG_VEC_REGS 16
#else
#define SG_TARGET_NAME "generic"
#define SG_VEC_BYTES 16
#define SG_VEC_REGS 16
#endif

/* A function compiled once per unit instead of into each of its callers: the large kernels
 * that every product or convolution of a unit calls (compile time; the call costs nothing
 * beside their work). */
#if defined(__GNUC__)
#define SG_NOINLINE __attribute__((noinline, unused))
#else
#define SG_NOINLINE
#endif

#endif /* SYMGRAPH_TARGET_H */
