/* symgraph.h: the one header every generated unit includes.
 *
 * It pulls in the standard headers generated code relies on and every header of the
 * runtime: status and error reporting, BLAS, the vectorisable math, the random
 * generator, the size helpers that symbolic dimensions compile to, and the convolution
 * and pooling kernels. Each of those headers also compiles on its own
 * (tests/codegen/test_headers.py).
 */
#ifndef SYMGRAPH_H
#define SYMGRAPH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symgraph_runtime.h"
#include "symgraph_blas.h"
#include "symgraph_math.h"
#include "symgraph_random.h"
#include "symgraph_sizes.h"

#include "symgraph_conv.h"
#include "symgraph_pool.h"

#endif /* SYMGRAPH_H */
