"""Every op against its numpy reference, and every differentiable op's gradient by
finite differences, driven by one table (tests/cases/)."""

from __future__ import annotations

import pytest

from symgraph.ops import OP_TABLE
from tests.cases import CASES
from tests.opcheck import MODES, check_case_grads_in_c, check_case_in_c, check_grad, check_reference, ops_in

SOURCE_ONLY = {"dim_value"}  # exercised through shapes, not a table row

_PARAMS = [
    pytest.param(case, shapes, id=f"{case.name}-{'x'.join(map(str, shapes))}")
    for case in CASES
    for shapes in case.shapes
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("symbolic", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize("case,shapes", _PARAMS)
def test_matches_numpy(case, shapes, mode, symbolic):
    if symbolic and not case.symbolic:
        pytest.skip("this case needs static shapes")
    check_reference(case, shapes, mode, symbolic)


_GRAD_PARAMS = [
    pytest.param(case, shapes, id=f"{case.name}-{'x'.join(map(str, shapes))}")
    for case in CASES
    if case.grad_args != ()
    for shapes in (case.grad_shapes or case.shapes)
    if all(0 not in s for s in shapes)
]


@pytest.mark.parametrize("case,shapes", _GRAD_PARAMS)
def test_gradient_finite_differences(case, shapes):
    check_grad(case, shapes)


def test_every_op_in_the_table_has_a_case():
    covered = set()
    for case in CASES:
        covered |= ops_in(case)
    missing = sorted(set(OP_TABLE) - covered - SOURCE_ONLY)
    assert not missing, f"ops with no reference case in tests/cases/: {missing}"


@pytest.mark.parametrize("symbolic", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_compiled_c_matches_numpy(case, symbolic):
    if symbolic and not case.symbolic:
        pytest.skip("this case needs static shapes")
    check_case_in_c(case, symbolic)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad_args != ()], ids=str)
def test_compiled_c_gradients_match_py(case):
    check_case_grads_in_c(case)
