"""Matrix products: matmul (with batch dims), dot, tensordot.

``MatMul`` is the one primitive: (..., m, k) @ (..., k, n) -> (..., m, n) with numpy's
broadcasting of the batch dims. ``matmul`` adds numpy's 1-D promotion around it, and
``dot``/``tensordot`` are expressed with transposes and reshapes around it, so the C
backend has a single product to hand to BLAS.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import DTypeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.ops import arithmetic as ar
from symgraph.ops import shape_ops
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.elementwise import ANY, TensorLike, broadcast_shapes, promote, sum_to_shape
from symgraph.ops.registry import register


@register
class MatMul(CLinkerOp):
    """op(a) @ op(b) for op(a) (..., m, k) and op(b) (..., k, n), batch dims broadcast,
    where op swaps the last two axes of an operand whose ``transpose_*`` flag is set.

    The flags let a transpose ride along into BLAS (CblasTrans) instead of being copied:
    ``sg.matmul`` folds an operand that is a transpose of the last two axes, and the
    gradient builds its products with flags rather than transpose nodes."""

    name = "matmul"

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)

    def attributes(self) -> dict:
        return {k: v for k, v in (("transpose_a", self.transpose_a), ("transpose_b", self.transpose_b)) if v}

    def infer(self, a: Tensor, b: Tensor) -> TensorType:
        if a.ndim < 2 or b.ndim < 2:
            raise ShapeError("matmul operands must have rank >= 2 (sg.matmul handles 1-D)")
        if a.dtype != b.dtype:
            raise DTypeError("matmul operands must share one dtype (sg.matmul promotes them on the way in)")
        (m, k1), (k2, n) = _matrix_dims(a, self.transpose_a), _matrix_dims(b, self.transpose_b)
        if isinstance(k1, int) and isinstance(k2, int) and k1 != k2:
            shapes = (
                f"{shp.shape_str(a.shape)}{'.T' * self.transpose_a} @ {shp.shape_str(b.shape)}{'.T' * self.transpose_b}"
            )
            raise ShapeError(f"inner dimensions differ: {shapes} ({k1} != {k2})")
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return TensorType(a.dtype, batch + (m, n))

    def reference(self, a, b):
        a = np.swapaxes(a, -1, -2) if self.transpose_a else a
        b = np.swapaxes(b, -1, -2) if self.transpose_b else b
        if a.dtype.kind == "f":
            return np.matmul(a, b)
        return np.matmul(a, b).astype(a.dtype)

    def c_kernel(self, inputs, outputs):
        """float32/float64 through BLAS gemm (the flags become CblasTrans), one product
        per output matrix (one in all when ``b`` has no batch and ``a`` is not transposed:
        a's batch folds into its rows); a large product is shared among OpenMP's threads
        by blocks of rows or columns, or a batch of products one per thread
        (sg_gemm_f32 in symgraph_blas.h); other dtypes by loops accumulating in
        int64 (wrapping), cast to the output dtype as the reference. Call-time checks:
        symbolic inner or batch sizes that disagree (ShapeError) and sizes beyond BLAS'
        32-bit integers (ValueError). A size 0 never reaches BLAS: an empty inner
        dimension gives zeros, as numpy."""
        (a, b), (out,) = inputs, outputs
        return _matmul_kernel(a, b, out, self.transpose_a, self.transpose_b)

    def grad(self, inputs, outputs, output_grads):
        # with A = op(a), B = op(b): dA = g B^T and dB = A^T g; each is built as one
        # flagged product straight on a, b and g (and transposed back where op swapped)
        (a, b), (g,) = inputs, output_grads
        if a.dtype.kind != "f":
            return [None, None]
        ta, tb = self.transpose_a, self.transpose_b
        ga = _product(b, g, tb, True) if ta else _product(g, b, False, not tb)
        gb = _product(g, a, True, ta) if tb else _product(a, g, not ta, False)
        return [sum_to_shape(ga, a.shape), sum_to_shape(gb, b.shape)]


def _matrix_dims(x: Tensor, transposed: bool) -> tuple:
    return (x.shape[-1], x.shape[-2]) if transposed else (x.shape[-2], x.shape[-1])


def _product(a: Tensor, b: Tensor, transpose_a: bool, transpose_b: bool) -> Tensor:
    return apply(MatMul(transpose_a, transpose_b), a, b).outputs[0]


def _shape_format(x: CArray) -> str:
    """A printf format of x's shape as shape_str spells it ([2,3])."""
    return "[" + ",".join(["%lld"] * x.ndim) + "]"


def _matmul_kernel(a: CArray, b: CArray, out: CArray, ta: bool = False, tb: bool = False) -> str:
    """C statements of out = op(a) @ op(b) over contiguous operands (see MatMul.c_kernel)."""
    nb = out.ndim - 2  # batch rank
    shapes_fmt = f"{_shape_format(a)}{'.T' * ta} @ {_shape_format(b)}{'.T' * tb}"
    shapes_args = ", ".join(f"(long long)({d})" for d in a.shape + b.shape)
    a_m, a_k = (a.shape[-1], a.shape[-2]) if ta else (a.shape[-2], a.shape[-1])
    b_k, b_n = (b.shape[-1], b.shape[-2]) if tb else (b.shape[-2], b.shape[-1])
    lines = [
        f"const int64_t mm_M = ({a_m});",
        f"const int64_t mm_K = ({a_k});",
        f"const int64_t mm_N = ({b_n});",
    ]
    if a_k != b_k:
        lines.append(
            f"if (mm_K != ({b_k})) SG_FAIL(SG_ERR_SHAPE, "
            f'"inner dimensions differ: {shapes_fmt} (%lld != %lld)", {shapes_args}, '
            f"(long long)mm_K, (long long)({b_k}));"
        )
    # each operand's element offset per output batch axis: 0 where it is absent or has a
    # static size 1 (numpy broadcasting; symbolic sizes never broadcast, so they must equal)
    strides: dict[str, list[str]] = {}
    for name, x in (("a", a), ("b", b)):
        strides[name] = []
        for d in range(nb):
            xd = d - (nb - (x.ndim - 2))
            if xd < 0 or x.static_shape[xd] == 1:
                strides[name].append("0")
                continue
            strides[name].append(x.stride(xd))
            if x.shape[xd] != out.shape[d]:
                lines.append(
                    f"if (({x.shape[xd]}) != ({out.shape[d]})) SG_FAIL(SG_ERR_SHAPE, "
                    f'"batch dimensions differ: {shapes_fmt}", {shapes_args});'
                )
    # one b matrix and a stored row by row: a's batch folds into its rows
    fold = all(s == "0" for s in strides["b"]) and not ta
    batch = "*".join(f"({d})" for d in out.shape[:nb]) or "1"

    def batch_loops(body: list[str], pragma: str = "") -> list[str]:
        """``body`` once per output matrix, with mm_pa, mm_pb, mm_pc pointing at it
        (``pragma`` above the loop nest, which is perfectly nested)."""
        offset = {
            name: " + ".join(f"mm_i{d}*{st}" for d, st in enumerate(strides[name]) if st != "0") or "0"
            for name in ("a", "b")
        }
        flat = "0"
        for d in range(nb):
            flat = f"mm_i{d}" if d == 0 else f"({flat})*({out.shape[d]}) + mm_i{d}"
        inner = [
            f"const {a.ctype} *mm_pa = {a.ptr} + {offset['a']};",
            f"const {b.ctype} *mm_pb = {b.ptr} + {offset['b']};",
            f"{out.ctype} *mm_pc = {out.ptr} + ({flat})*mm_M*mm_N;",
            *body,
        ]
        inner = ["{"] + ["    " + line for line in inner] + ["}"]
        for d in reversed(range(nb)):
            inner = [f"for (int64_t mm_i{d} = 0; mm_i{d} < ({out.shape[d]}); mm_i{d}++)"] + inner
        return ([pragma] if pragma and nb else []) + inner

    if a.dtype.kind == "f":
        gemm = "sg_gemm_f32" if a.ctype == "float" else "sg_gemm_f64"  # symgraph_blas.h
        lda = "mm_M" if ta else "mm_K"
        ldb = "mm_K" if tb else "mm_N"

        def call(m: str, pa: str, pb: str, pc: str, threads: str) -> str:
            return f"{gemm}({int(ta)}, {int(tb)}, {m}, mm_N, mm_K, {pa}, {lda}, {pb}, {ldb}, {pc}, mm_N, {threads});"

        rows = f"mm_M*{batch}" if fold else "mm_M"
        lines += [
            f"const int64_t mm_rows = {rows};",
            "if (mm_rows > INT32_MAX || mm_N > INT32_MAX || mm_K > INT32_MAX) SG_FAIL(SG_ERR_VALUE, "
            '"matmul sizes exceed the 32-bit integers of BLAS: %lld rows, %lld columns, inner size %lld", '
            "(long long)mm_rows, (long long)mm_N, (long long)mm_K);",
            "if (mm_rows > 0 && mm_N > 0) {",
            f"    if (mm_K == 0) memset({out.ptr}, 0, sizeof({out.ctype})*(size_t){out.size});",
            "    else {",
        ]
        if fold:
            body = [call("mm_rows", a.ptr, b.ptr, out.ptr, "1")]
        else:
            # enough products for every thread: one thread per product, else each
            # product shares itself out
            body = [
                f"const int mm_by_batch = ({batch}) >= sg_omp_threads() && "
                f"(double)mm_rows*mm_N*mm_K*({batch}) >= SG_GEMM_PARALLEL_MIN;",
                *batch_loops(
                    [call("mm_M", "mm_pa", "mm_pb", "mm_pc", "!mm_by_batch")],
                    f"#pragma omp parallel for collapse({nb}) schedule(static) if (mm_by_batch)",
                ),
            ]
        lines += ["        " + line for line in body] + ["    }", "}"]
        return "\n".join(lines)

    b_index = "mm_n*mm_K + mm_k" if tb else "mm_k*mm_N + mm_n"
    # integers and bools: i-k-j loops into a row of int64 accumulators (uint64 arithmetic:
    # numpy's wrap-around without C's signed overflow), cast to the output dtype
    body = [
        "for (int64_t mm_m = 0; mm_m < mm_M; mm_m++) {",
        "    for (int64_t mm_n = 0; mm_n < mm_N; mm_n++) mm_acc[mm_n] = 0;",
        "    for (int64_t mm_k = 0; mm_k < mm_K; mm_k++) {",
        f"        const uint64_t mm_x = (uint64_t)mm_pa[{'mm_k*mm_M + mm_m' if ta else 'mm_m*mm_K + mm_k'}];",
        f"        for (int64_t mm_n = 0; mm_n < mm_N; mm_n++) mm_acc[mm_n] += mm_x*(uint64_t)mm_pb[{b_index}];",
        "    }",
        "    for (int64_t mm_n = 0; mm_n < mm_N; mm_n++)",
        f"        mm_pc[mm_m*mm_N + mm_n] = ({out.ctype})(int64_t)mm_acc[mm_n];",
        "}",
    ]
    size = "sizeof(uint64_t)*(size_t)mm_N"
    lines += [
        "if (mm_M > 0 && mm_N > 0) {",
        f"    uint64_t *mm_acc = (uint64_t *)malloc({size});",
        "    if (mm_acc == NULL)",
        f'        SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes for a matmul", (long long)({size}));',
        *["    " + line for line in batch_loops(body)],
        "    free(mm_acc);",
        "}",
    ]
    return "\n".join(lines)


def _unswapped(x: Tensor) -> tuple[Tensor, bool]:
    """(y, True) when x is y with its last two axes swapped (a transpose node), so the
    product can take y with a flag; else (x, False)."""
    op = x.node.op
    if isinstance(op, shape_ops.Transpose) and x.ndim >= 2:
        swap = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
        if op.perm == swap:
            return x.node.inputs[0], True
    return x, False


def swap_last(x: Tensor) -> Tensor:
    """x with its last two axes exchanged."""
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return shape_ops.transpose(x, perm)


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """numpy's matmul: 1-D operands are promoted to matrices and the added axis removed."""
    a, b = promote((a, b), ANY)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: operands must have rank >= 1, got {shp.shape_str(a.shape)} @ {shp.shape_str(b.shape)} "
            "(use * for scalars)"
        )
    a2 = shape_ops.expand_dims(a, 0) if a.ndim == 1 else a
    b2 = shape_ops.expand_dims(b, -1) if b.ndim == 1 else b
    (a2, ta), (b2, tb) = _unswapped(a2), _unswapped(b2)
    out = _product(a2, b2, ta, tb)
    if a.ndim == 1:
        out = shape_ops.squeeze(out, -2)
    if b.ndim == 1:
        out = shape_ops.squeeze(out, -1)
    return out


def dot(a: TensorLike, b: TensorLike) -> Tensor:
    """numpy's dot: a 0-d operand multiplies elementwise; 1-D and 2-D operands are
    matmul (a 1-D . 1-D is the inner product); otherwise the sum over the last axis of
    ``a`` and the second-to-last of ``b`` (the last, if ``b`` is 1-D), with result shape
    a.shape[:-1] + b.shape[:-2] + b.shape[-1:]."""
    a, b = promote((a, b), ANY)
    if a.ndim == 0 or b.ndim == 0:
        return ar.mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, ([a.ndim - 1], [max(b.ndim - 2, 0)]))


def _tensordot_axes(axes: object, a: Tensor, b: Tensor) -> tuple[list[int], list[int]]:
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ShapeError(
                f"tensordot: axes={n} needs both operands of rank >= {n}, "
                f"got {shp.shape_str(a.shape)} and {shp.shape_str(b.shape)}"
            )
        return list(range(a.ndim - n, a.ndim)), list(range(n))
    try:
        axes_a, axes_b = axes  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ShapeError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
    result = []
    for side, t in ((axes_a, a), (axes_b, b)):
        side = [side] if isinstance(side, (int, np.integer)) else list(side)
        normalized = []
        for ax in side:
            ax = int(ax)
            if not -t.ndim <= ax < t.ndim:
                raise ShapeError(f"tensordot: axis {ax} is out of range for an operand of rank {t.ndim}")
            normalized.append(ax % t.ndim)
        if len(set(normalized)) != len(normalized):
            raise ShapeError(f"tensordot: repeated axis in {side}")
        result.append(normalized)
    if len(result[0]) != len(result[1]):
        raise ShapeError(f"tensordot: {len(result[0])} axes of a against {len(result[1])} axes of b")
    return result[0], result[1]


def tensordot(a: TensorLike, b: TensorLike, axes: int | tuple = 2) -> Tensor:
    """numpy's tensordot: the sum of products over ``axes`` of ``a`` and ``b``.

    ``axes`` is an int n (the last n axes of ``a`` against the first n of ``b``) or a
    pair of axis lists (``a``'s axes[0][i] against ``b``'s axes[1][i]). The result has
    the remaining axes of ``a``, then those of ``b``, in order. Built as transposes and
    reshapes around one MatMul ((free_a, summed) @ (summed, free_b)); with no summed
    axes it is the outer product, a broadcast multiply. Summed sizes must agree: static
    ones are checked here, symbolic ones when the function is called.
    """
    a, b = promote((a, b), ANY)
    sum_a, sum_b = _tensordot_axes(axes, a, b)
    for i, j in zip(sum_a, sum_b):
        da, db = a.shape[i], b.shape[j]
        if isinstance(da, int) and isinstance(db, int) and da != db:
            raise ShapeError(
                f"tensordot: axis {i} of a (size {da}) and axis {j} of b (size {db}) differ: "
                f"{shp.shape_str(a.shape)} and {shp.shape_str(b.shape)}"
            )
    free_a = [i for i in range(a.ndim) if i not in sum_a]
    free_b = [j for j in range(b.ndim) if j not in sum_b]
    shape_a = tuple(a.shape[i] for i in free_a)
    shape_b = tuple(b.shape[j] for j in free_b)
    if not sum_a:
        return ar.mul(shape_ops.reshape(a, a.shape + (1,) * b.ndim), b)
    summed_a = shp.prod([a.shape[i] for i in sum_a])
    summed_b = shp.prod([b.shape[j] for j in sum_b])
    a2 = shape_ops.reshape(shape_ops.transpose(a, free_a + sum_a), (shp.prod(shape_a), summed_a))
    b2 = shape_ops.reshape(shape_ops.transpose(b, sum_b + free_b), (summed_b, shp.prod(shape_b)))
    out = apply(MatMul(), a2, b2).outputs[0]
    return shape_ops.reshape(out, shape_a + shape_b)


__all__ = [
    "matmul",
    "dot",
    "tensordot",
]
