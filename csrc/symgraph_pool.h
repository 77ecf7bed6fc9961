/* symgraph_pool.h: 2-D max and average pooling kernels (NHWC), float and double.
 *
 * Windows are described by symgraph_conv.h's sg_conv_geom with g->oc == g->c and
 * g->dh == g->dw == 1: window (oy, ox) covers input rows oy*sh - pt + i, i < kh (columns
 * likewise). The max ignores the pixels outside the input (padding), NaN propagates and
 * the first maximum in row-major window order takes the gradient (numpy's argmax); the
 * average divides by the window's in-bounds count.
 *
 * Max pooling forward (sg_pool_max) and, when windows never overlap, its gradient
 * (sg_pool_max_grad_disjoint): output rows (one batch item, one output row oy) are shared
 * out between the threads; inside a row the taps run outside and the channels inside, so
 * every inner loop is a contiguous, branch-free run over channels (it vectorises) and the
 * row's running maximum stays in cache. Overlapping windows route gradients through each
 * window's argmax (sg_max_pool_route). The kernels are written once, in
 * symgraph_pool_template.h, which the end of this file includes for float and for double.
 */
#ifndef SYMGRAPH_POOL_H
#define SYMGRAPH_POOL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symgraph_conv.h"
#include "symgraph_paste.h"
#include "symgraph_runtime.h"
#include "symgraph_sizes.h"

/* The gradient's scratch, in elements (output pixels x channels of one row handled
 * together): their running maxima and winning taps stay in L1 however wide the row. */
#ifndef SG_POOL_CHUNK
#define SG_POOL_CHUNK 2048
#endif

/* The output columns [*ox0, *ox1) whose window column j falls inside [0, w). */
static inline void sg_pool_cols(const sg_conv_geom *g, int64_t j, int64_t *ox0, int64_t *ox1)
{
    /* ox*sw - pl + j >= 0  <=>  ox >= ceil((pl - j) / sw);  ox*sw - pl + j < w  <=>  ox <= (w - 1 + pl - j) / sw */
    const int64_t lo = g->pl - j, hi = g->w - 1 + g->pl - j;
    *ox0 = lo <= 0 ? 0 : (lo + g->sw - 1) / g->sw;
    *ox1 = hi < 0 ? 0 : sg_min_i64(g->ow, hi / g->sw + 1);
    if (*ox1 < *ox0) *ox1 = *ox0;
}

/* The kernels, once per element type: sg_pool_max_f32, ..._f64, and so on. */
#define SG_T float
#define SG_SFX f32
#include "symgraph_pool_template.h"
#undef SG_T
#undef SG_SFX

#define SG_T double
#define SG_SFX f64
#include "symgraph_pool_template.h"
#undef SG_T
#undef SG_SFX

#endif /* SYMGRAPH_POOL_H */
