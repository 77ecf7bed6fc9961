"""The onnx package's backend node tests (``onnx.backend.test``, generated from the
case definitions inside the onnx wheel) run through symgraph's backend adapter:
``backend_test(mode)`` for the pytest module, ``results()`` and ``main()`` for the
per-op table (``python -m tests.onnx.node_cases``).

An op or attribute symgraph does not convert raises UnsupportedError while loading:
the test is skipped with that message, never counted as a failure.
"""

from __future__ import annotations

import collections
import re
import sys
import unittest
import warnings
from typing import Any

import onnx
import onnx.backend.test
from onnx.backend.test.loader import load_model_tests
from onnx.backend.test.runner import Runner, _normalize_tensor

from symgraph.errors import UnsupportedError
from symgraph.onnx.backend import SymgraphBackend

# A representative subset run in mode "c" (each is a C build, about half a second):
# one or two cases of each kind of op a Keras model uses, the shape ops and a scan
C_CASES = (
    "test_add",
    "test_add_bcast",
    "test_div",
    "test_pow",
    "test_relu",
    "test_leakyrelu",
    "test_elu",
    "test_selu",
    "test_sigmoid",
    "test_tanh",
    "test_softmax_axis_1",
    "test_logsoftmax_axis_0",
    "test_matmul_3d",
    "test_gemm_all_attributes",
    "test_conv_with_strides_padding",
    "test_conv_with_autopad_same",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_ceil",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_pads_count_include_pad",
    "test_globalaveragepool",
    "test_batchnorm_example",
    "test_reshape_negative_dim",
    "test_flatten_axis1",
    "test_transpose_all_permutations_0",
    "test_concat_2d_axis_1",
    "test_squeeze",
    "test_unsqueeze_axis_0",
    "test_gather_1",
    "test_slice_neg_steps",
    "test_reduce_sum_keepdims_example",
    "test_reduce_mean_default_axes_keepdims_example",
    "test_reduce_max_do_not_keepdims_example",
    "test_cast_FLOAT_to_DOUBLE",
    "test_clip",
    "test_where_example",
    "test_equal",
    "test_less",
    "test_not_2d",
    "test_and2d",
    "test_max_example",
    "test_min_example",
    "test_lstm_defaults",
    "test_gru_defaults",
    "test_rnn_seq_length",
    "test_scan9_sum",
    "test_argmax_keepdims_example",
    "test_cumsum_1d_exclusive",
    "test_dropout_default",
    "test_constant",
    "test_shape",
    "test_expand_dim_changed",
    "test_split_equal_parts_1d_opset18",
)


class SkippingBackend(SymgraphBackend):
    """The adapter, with what symgraph does not convert reported as a skip."""

    mode = "py"

    @classmethod
    def prepare(cls, model: Any, device: str = "CPU", **kwargs: Any) -> Any:
        try:
            rep = super().prepare(model, device, **kwargs)
        except UnsupportedError as exc:
            raise unittest.SkipTest(f"not converted: {exc}") from None
        run = rep.run

        def run_or_skip(inputs: Any, **run_kwargs: Any) -> Any:
            try:  # a model loaded at run (its shape inputs bound) is converted there
                return run(inputs, **run_kwargs)
            except UnsupportedError as exc:
                raise unittest.SkipTest(f"not converted: {exc}") from None

        rep.run = run_or_skip
        return rep


class SkippingBackendC(SkippingBackend):
    mode = "c"


def backend_test(mode: str) -> Runner:
    """The node tests, for the backend in ``mode`` ("py": all; "c": C_CASES)."""
    with warnings.catch_warnings():  # onnx's case generators overflow casts on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        runner = onnx.backend.test.BackendTest(SkippingBackendC if mode == "c" else SkippingBackend, __name__)
    if mode == "c":
        for name in C_CASES:
            runner.include(f"^{name}_cpu$")
    else:
        runner.include(r"^test_.*_cpu$")
    return runner


def _expanded_base(name: str) -> str | None:
    """The unexpanded test's name of a function op's expanded test, else None."""
    match = re.fullmatch(r"(.*)_expanded(_ver\d+)?", name)
    return match.group(1) + (match.group(2) or "") if match else None


def op_of(name: str, models: dict[str, Any]) -> str:
    """The op a node test is about: its single node's (a function op's test expanded into
    the function's body is its unexpanded sibling's op, marked "expanded")."""
    base = _expanded_base(name)
    if base is not None:
        for sibling in (base, re.sub(r"_ver\d+$", "", base)):
            if sibling in models:
                return op_of(sibling, models) + " (expanded)"
    ops = [n.op_type for n in models[name].graph.node]
    distinct = sorted(set(ops) - {"Constant"}) or sorted(set(ops))
    return distinct[0] if len(distinct) == 1 else ops[-1]


def results(mode: str = "py") -> dict[str, collections.Counter]:
    """Per op: how many node tests pass, fail and are skipped, in ``mode`` (every node
    test in "py", C_CASES in "c")."""
    backend = SkippingBackendC if mode == "c" else SkippingBackend
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cases = load_model_tests(kind="node")
    models = {case.name: case.model for case in cases}
    for case in cases:
        if mode == "c" and case.name not in C_CASES:
            continue
        op = op_of(case.name, models)
        try:
            rep = backend.prepare(case.model)
            for inputs, outputs in case.data_sets:
                got = rep.run([_normalize_tensor(t) for t in inputs])
                expected = [_normalize_tensor(t) for t in outputs]
                Runner.assert_similar_outputs(expected, got, case.rtol, case.atol)
        except unittest.SkipTest:
            table[op]["skipped"] += 1
        except Exception as exc:  # a failure, reported by name
            table[op]["failed"] += 1
            print(f"FAIL {case.name} ({mode}): {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        else:
            table[op]["passed"] += 1
    return table


def main() -> None:
    """The README's table: per op with a passing node test, the tests passed in "py",
    skipped (not converted) and failed, and the C_CASES passed in "c"."""
    table = results("py")
    in_c = results("c")
    print("| op | passed | skipped | failed | of which also in C |")
    print("|---|---|---|---|---|")
    totals: collections.Counter = collections.Counter()
    for op in sorted(table):
        row = table[op]
        totals.update(row)
        if row["passed"] or row["failed"]:
            print(f"| {op} | {row['passed']} | {row['skipped']} | {row['failed']} | {in_c[op]['passed'] or ''} |")
    c_total = sum(r["passed"] for r in in_c.values())
    c_failed = sum(r["failed"] for r in in_c.values())
    print(f"| all ({len(table)} ops) | {totals['passed']} | {totals['skipped']} | {totals['failed']} | {c_total} |")
    if c_failed:
        print(f"\nfailed in C: {c_failed}")
    untouched = sorted(op for op, row in table.items() if not row["passed"] and not row["failed"])
    print(f"\nops with every test skipped ({len(untouched)}): {', '.join(untouched)}")


if __name__ == "__main__":
    main()
