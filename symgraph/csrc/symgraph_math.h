/* symgraph_math.h: scalar math for generated elementwise loops.
 *
 * (Vectorisable approximations of the transcendental functions arrive here; until
 * then generated code calls libm.)
 */
#ifndef SYMGRAPH_MATH_H
#define SYMGRAPH_MATH_H

#include <math.h>

#endif /* SYMGRAPH_MATH_H */
