/* symgraph_image.h: where each output pixel of an image resampling reads its input
 * (symgraph/ops/image.py: affine_transform, resize and their gradients).
 *
 * Images are NHWC. An output pixel is a weighted sum of at most four input pixels (its
 * "taps") plus fill_value times the weight of the taps that fall outside the image when
 * fill_mode is constant. The kernels (written by symgraph/ops/image.py for each element
 * type) ask these helpers for one pixel's taps, then run over its channels: the forward
 * pass gathers, the gradient scatters the same weights back. All coordinate arithmetic
 * is in double, in the order symgraph/ops/image.py's numpy reference uses (symgraph
 * builds with -ffp-contract=off), so both pick the same taps, bit for bit.
 *
 * Sampling at a source point (sy, sx) (row, column; pixel centers at integers):
 *   bilinear: rows floor(sy), floor(sy) + 1 and columns floor(sx), floor(sx) + 1 with
 *             weights (1 - fy)(1 - fx), (1 - fy) fx, fy (1 - fx), fy fx (fy = sy - floor(sy));
 *   nearest:  the pixel at floor(sy + 0.5), floor(sx + 0.5).
 * Each tap's row and column outside the image are mapped by the fill mode (Keras'):
 *   constant: (k k k k | a b c d | k k k k)  the tap reads fill_value;
 *   reflect:  (d c b a | a b c d | d c b a)  mirrored about the edge of the last pixel;
 *   wrap:     (a b c d | a b c d | a b c d);
 *   nearest:  (a a a a | a b c d | d d d d).
 * A source point that is not finite, or an empty image, gives fill_value alone.
 */
#ifndef SYMGRAPH_IMAGE_H
#define SYMGRAPH_IMAGE_H

#include <math.h>
#include <stdint.h>

enum sg_image_interpolation { SG_IMAGE_BILINEAR = 0, SG_IMAGE_NEAREST = 1 };
enum sg_image_fill_mode { SG_FILL_CONSTANT = 0, SG_FILL_REFLECT = 1, SG_FILL_WRAP = 2, SG_FILL_NEAREST = 3 };

/* Source coordinates are clamped to +-2^60 before they become integers: every mode is
 * still exact there, and the int64_t arithmetic cannot overflow. */
#define SG_IMAGE_FAR 1152921504606846976.0

/* One output pixel's sources. */
typedef struct sg_image_taps {
    int count;          /* taps in use, in the order they were added */
    int64_t offset[4];  /* (row * w + col) * c: the tap's first channel in its image */
    double weight[4];
    double fill_weight; /* the weight of fill_value (taps outside, constant mode) */
} sg_image_taps;

/* Index i of an axis of n pixels mapped inside by the fill mode, or -1 (constant mode,
 * outside). n > 0. */
static inline int64_t sg_image_fold(int64_t i, int64_t n, int fill_mode)
{
    if (i >= 0 && i < n) return i;
    if (fill_mode == SG_FILL_REFLECT) {
        const int64_t period = 2 * n;
        int64_t r = i % period;
        if (r < 0) r += period;
        return r < n ? r : period - 1 - r;
    }
    if (fill_mode == SG_FILL_WRAP) {
        int64_t r = i % n;
        if (r < 0) r += n;
        return r;
    }
    if (fill_mode == SG_FILL_NEAREST) return i < 0 ? 0 : n - 1;
    return -1;
}

static inline void sg_image_add_tap(sg_image_taps *t, int64_t row, int64_t col, double weight, int64_t h, int64_t w,
                                    int64_t c, int fill_mode)
{
    const int64_t r = sg_image_fold(row, h, fill_mode);
    const int64_t s = sg_image_fold(col, w, fill_mode);
    if (r < 0 || s < 0) {
        t->fill_weight += weight;
        return;
    }
    t->offset[t->count] = (r * w + s) * c;
    t->weight[t->count] = weight;
    t->count++;
}

/* The taps of source point (sy, sx) in an h x w image of c channels. */
static inline void sg_image_sample_taps(double sy, double sx, int64_t h, int64_t w, int64_t c, int interpolation,
                                        int fill_mode, sg_image_taps *t)
{
    t->count = 0;
    t->fill_weight = 0.0;
    if (!(isfinite(sy) && isfinite(sx)) || h == 0 || w == 0) {
        t->fill_weight = 1.0;
        return;
    }
    sy = fmin(fmax(sy, -SG_IMAGE_FAR), SG_IMAGE_FAR);
    sx = fmin(fmax(sx, -SG_IMAGE_FAR), SG_IMAGE_FAR);
    if (interpolation == SG_IMAGE_NEAREST) {
        sg_image_add_tap(t, (int64_t)floor(sy + 0.5), (int64_t)floor(sx + 0.5), 1.0, h, w, c, fill_mode);
        return;
    }
    const double y0 = floor(sy), x0 = floor(sx);
    const double fy = sy - y0, fx = sx - x0;
    const int64_t r = (int64_t)y0, s = (int64_t)x0;
    sg_image_add_tap(t, r, s, (1.0 - fy) * (1.0 - fx), h, w, c, fill_mode);
    sg_image_add_tap(t, r, s + 1, (1.0 - fy) * fx, h, w, c, fill_mode);
    sg_image_add_tap(t, r + 1, s, fy * (1.0 - fx), h, w, c, fill_mode);
    sg_image_add_tap(t, r + 1, s + 1, fy * fx, h, w, c, fill_mode);
}

/* The taps of output pixel (oy, ox) under the projective map m (Keras' transform
 * convention: a0 a1 a2 b0 b1 b2 c0 c1): with k = c0 x + c1 y + 1, the pixel reads the
 * input at x' = (a0 x + a1 y + a2) / k, y' = (b0 x + b1 y + b2) / k (x a column, y a
 * row). k = 0 gives fill_value (TensorFlow's rule). */
static inline void sg_image_affine_taps(const double m[8], int64_t oy, int64_t ox, int64_t h, int64_t w, int64_t c,
                                        int interpolation, int fill_mode, sg_image_taps *t)
{
    const double x = (double)ox, y = (double)oy;
    const double k = m[6] * x + m[7] * y + 1.0;
    if (k == 0.0) {
        t->count = 0;
        t->fill_weight = 1.0;
        return;
    }
    const double sx = (m[0] * x + m[1] * y + m[2]) / k;
    const double sy = (m[3] * x + m[4] * y + m[5]) / k;
    sg_image_sample_taps(sy, sx, h, w, c, interpolation, fill_mode, t);
}

/* The taps of output pixel (oy, ox) of an h x w image resized to oh x ow (h, w > 0),
 * as TensorFlow's resize with half-pixel centers: bilinear reads around
 * (o + 0.5) * (in / out) - 0.5 with the neighbours clamped to the image; nearest reads
 * floor((o + 0.5) * (in / out)), at most in - 1. */
static inline void sg_image_resize_taps(int64_t oy, int64_t ox, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                        int64_t c, int interpolation, sg_image_taps *t)
{
    const double scale_y = (double)h / (double)oh, scale_x = (double)w / (double)ow;
    t->count = 0;
    t->fill_weight = 0.0;
    if (interpolation == SG_IMAGE_NEAREST) {
        const double ny = floor(((double)oy + 0.5) * scale_y), nx = floor(((double)ox + 0.5) * scale_x);
        sg_image_add_tap(t, (int64_t)ny, (int64_t)nx, 1.0, h, w, c, SG_FILL_NEAREST);
        return;
    }
    const double sy = ((double)oy + 0.5) * scale_y - 0.5, sx = ((double)ox + 0.5) * scale_x - 0.5;
    const double y0 = floor(sy), x0 = floor(sx);
    const double fy = sy - y0, fx = sx - x0;
    const int64_t r = (int64_t)y0, s = (int64_t)x0;
    sg_image_add_tap(t, r, s, (1.0 - fy) * (1.0 - fx), h, w, c, SG_FILL_NEAREST);
    sg_image_add_tap(t, r, s + 1, (1.0 - fy) * fx, h, w, c, SG_FILL_NEAREST);
    sg_image_add_tap(t, r + 1, s, fy * (1.0 - fx), h, w, c, SG_FILL_NEAREST);
    sg_image_add_tap(t, r + 1, s + 1, fy * fx, h, w, c, SG_FILL_NEAREST);
}

#endif /* SYMGRAPH_IMAGE_H */
