"""Data-parallel training on N processes = training in one process on the same global
batches (float32 rounding aside), for the MLP, the CNN with BatchNormalization and the
LSTM, on N = 1, 2, 3 (uneven shards, and empty ones in the last batch) and 4 processes.

The data: 50 samples in global batches of 16 (16, 16, 16, 2): 3 processes split a batch
6/5/5 and the last one 1/1/0, 4 processes 4/4/4/4 and 1/1/0/0. Shuffled (rank 0's order
must reach every process), SGD with momentum, 2 epochs; the other ranks build their model
from another seed, so equality also shows that rank 0's weights were broadcast.

Tolerance: float32, rtol 1e-4 and atol 2e-5 on the weights after 8 steps (measured: at
most 2e-7 apart: the shards' weighted gradient sum rounds differently from the
full-batch mean). Between the processes of one job everything is bit-identical: they
apply the same reduced update.

BatchNormalization normalises with per-process statistics, as Keras' data parallelism
does: N > 1 processes then match the one-process reference that computes every shard's
step with its own statistics and averages them (train_models.py's ``emulate``), and
differ from the plain one-process run on the global batches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.distributed.mpi import alone, launch, requires_mpi

pytestmark = requires_mpi

RTOL, ATOL = 1e-4, 2e-5
MODELS = ("mlp", "cnn", "lstm")


def load(path: Path) -> dict:
    z = np.load(path)
    weights = [z[f"arr_{i}"] for i in range(sum(name.startswith("arr_") for name in z.files))]
    return {
        "weights": weights,
        "history": json.loads(str(z["history"])),
        "evaluated": z["evaluated"],
        "predicted": z["predicted"],
        "key": z["key"].tolist(),
    }


def assert_close(got: dict, want: dict, what: str) -> None:
    assert len(got["weights"]) == len(want["weights"])
    for k, (a, b) in enumerate(zip(got["weights"], want["weights"])):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{what}: weight {k}")
    np.testing.assert_allclose(got["evaluated"], want["evaluated"], rtol=RTOL, atol=ATOL, err_msg=f"{what}: evaluate")
    np.testing.assert_allclose(got["predicted"], want["predicted"], rtol=RTOL, atol=1e-4, err_msg=f"{what}: predict")
    for key, values in want["history"].items():
        np.testing.assert_allclose(got["history"][key], values, rtol=RTOL, atol=ATOL, err_msg=f"{what}: {key}")


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("alone")
    run = alone("train_models.py", "--out", str(out), "--mode", "alone")
    assert run.returncode == 0, run.output
    return out


@pytest.mark.parametrize("processes", [1, 2, 3, 4])
def test_n_processes_train_the_same_weights_as_one(processes, one_process, tmp_path):
    models = ",".join((*MODELS, "dropout"))
    run = launch(processes, "train_models.py", "--out", str(tmp_path), "--mode", "dp", "--models", models, timeout=240)
    assert run.returncode == 0, run.output
    emulated = None
    if processes > 1:
        emulated = tmp_path / "emulated"
        emulated.mkdir()
        done = alone("train_models.py", "--out", str(emulated), "--mode", "emulate", "--processes", str(processes),
                     "--models", "cnn")  # fmt: skip
        assert done.returncode == 0, done.output
    for kind in (*MODELS, "dropout"):
        ranks = [load(tmp_path / f"{kind}-dp-rank{r}.npz") for r in range(processes)]
        for r, other in enumerate(ranks[1:], start=1):  # one model in every process, one History
            for a, b in zip(ranks[0]["weights"], other["weights"]):
                np.testing.assert_array_equal(a, b, err_msg=f"{kind}: rank {r}'s weights differ from rank 0's")
            assert other["history"] == ranks[0]["history"], f"{kind}: rank {r}'s History differs"
            np.testing.assert_array_equal(other["evaluated"], ranks[0]["evaluated"])
            np.testing.assert_array_equal(other["predicted"], ranks[0]["predicted"])
        # dropout's generator: rank 0 keeps the seed's key (one process trains as alone),
        # every rank draws from its own
        keys = [tuple(rank["key"]) for rank in ranks]
        assert keys[0] == (0, 7) and len(set(keys)) == processes, keys
        if kind == "dropout":
            continue
        reference = load(one_process / f"{kind}-alone-rank0.npz")
        if kind == "cnn" and emulated is not None:
            per_process = load(emulated / "cnn-emulate-rank0.npz")
            per_process["history"] = {}  # the emulation keeps no History
            assert_close(ranks[0], per_process, f"cnn on {processes} processes vs per-process BN statistics")
            moved = max(float(np.max(np.abs(a - b))) for a, b in zip(ranks[0]["weights"], reference["weights"]))
            assert moved > 1e-3, "BatchNormalization should use per-process statistics, not the global batch's"
        else:
            assert_close(ranks[0], reference, f"{kind} on {processes} processes vs one")
