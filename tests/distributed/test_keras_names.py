"""``keras.distribution`` has Keras 3's names (checked against real Keras when it is
installed), and what symgraph does not offer says so (no MPI job needed)."""

from __future__ import annotations

import os

import pytest

from symgraph import keras
from symgraph.errors import UnsupportedError


def test_the_names_of_real_keras_distribution():
    os.environ.setdefault("KERAS_BACKEND", "numpy")  # before the first import of keras
    real = pytest.importorskip("keras")
    public = {name for name in dir(real.distribution) if not name.startswith("_")}
    missing = sorted(name for name in public if not hasattr(keras.distribution, name))
    assert not missing, f"keras.distribution lacks {missing}"


def test_model_parallelism_is_refused_by_name():
    with pytest.raises(UnsupportedError, match="ModelParallel is not available"):
        keras.distribution.ModelParallel()
    with pytest.raises(UnsupportedError, match="LayoutMap is not available"):
        keras.distribution.LayoutMap()
    with pytest.raises(ValueError, match="Expected a keras.distribution.Distribution"):
        keras.distribution.set_distribution("data parallel")
    assert keras.distribution.distribution() is None


@pytest.mark.parametrize("batch,processes", [(32, 3), (16, 4), (2, 4), (7, 1), (0, 3)])
def test_shards_cover_the_global_batch_in_order(batch, processes):
    bounds = [keras.distribution.shard_bounds(batch, r, processes) for r in range(processes)]
    assert bounds[0][0] == 0 and bounds[-1][1] == batch
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    if (batch, processes) == (32, 3):
        assert sizes == [11, 11, 10]
