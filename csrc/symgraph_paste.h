/* symgraph_paste.h: the names of functions written once for several element types.
 *
 * A kernel written for both float and double lives in a template header
 * (symgraph_*_template.h) that its parent header includes once per type, with
 * SG_T (the element type) and SG_SFX (the name suffix: f32, f64) defined around the
 * include. Inside it, SG_FN(sg_conv2d_forward) names sg_conv2d_forward_f32 or
 * sg_conv2d_forward_f64: every kernel is a real function in a real file, so compiler
 * messages and debuggers point at its own lines.
 */
#ifndef SYMGRAPH_PASTE_H
#define SYMGRAPH_PASTE_H

#define SG_PASTE3_(a, b, c) a##b##c
#define SG_PASTE3(a, b, c) SG_PASTE3_(a, b, c) /* expands its arguments (SG_SFX) first */
#define SG_FN(name) SG_PASTE3(name, _, SG_SFX)

#endif /* SYMGRAPH_PASTE_H */
