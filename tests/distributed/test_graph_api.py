"""``sg.distributed`` in graphs: values, dtypes and modes under mpiexec (graph_api.py), and
what a process that never joined a job is told (no MPI needed)."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
import symgraph.distributed as dist
from symgraph.errors import DTypeError, InputError, InvalidValueError
from symgraph.ops.collective import signature_of
from tests.distributed.mpi import launch, skip_without_mpi


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.distributed
@skip_without_mpi
def test_graph_api_under_mpiexec(processes):
    run = launch(processes, "graph_api.py", timeout=120)
    assert run.returncode == 0, run.output
    for r in range(processes):
        assert f"graph api ok: rank {r} of {processes}" in run.stdout, run.output


@pytest.mark.skipif(dist.initialized(), reason="this process joined a job")
def test_a_compiled_allreduce_before_init_names_what_to_call():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], dist.allreduce(x * 2.0), mode="c")
    with pytest.raises(InvalidValueError, match=r"symgraph.distributed.init\(\) was not called"):
        f(np.ones(3, "float32"))
    g = sg.function([x], dist.allreduce(x * 2.0), mode="py")
    with pytest.raises(InputError, match=r"call symgraph.distributed.init\(\) first"):
        g(np.ones(3, "float32"))


def test_bad_arguments_are_named():
    x = sg.placeholder((3,), name="x")
    with pytest.raises(InputError, match="op must be one of 'sum', 'mean'"):
        dist.allreduce(x, op="max")
    with pytest.raises(DTypeError, match="op='mean'. needs float tensors"):
        dist.allreduce(sg.cast(x, "int32"), op="mean")
    with pytest.raises(DTypeError, match="allreduce reduces float32, float64, int32, int64; got bool"):
        dist.allreduce(x > 0, op="sum")


def test_the_layout_signature_names_shapes_not_objects():
    a, b = sg.placeholder((None, 3), name="a"), sg.placeholder((None, 3), name="b")
    assert signature_of("sum", [a * 2.0]) == signature_of("sum", [a + 1.0])  # same types, other graphs
    assert signature_of("sum", [a]) != signature_of("sum", [sg.placeholder((None, 4), name="c")])
    assert signature_of("sum", [a]) != signature_of("mean", [a])
    one = dist.allreduce([a, b], op="sum")
    assert one[0].node is one[1].node  # one node for the list: one message per dtype
