"""Faults end the job with a clear error in bounded time, and checkpoints written by rank
0 resume on any number of processes (faults.py and resume.py say what each run does)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.distributed.mpi import launch, requires_mpi

pytestmark = requires_mpi

FAULTS = {
    # fault: what the output must say
    "raise": "rank 1 of 2 stopped on RuntimeError: injected failure on rank 1; aborting the other processes",
    "kill": "KILLED BY SIGNAL: 9",
    "exit": "rank 0 of 2 has waited",
    "model": "the processes' models differ: variable 0 ('sequential/dense/kernel') is float32(12, 16) on rank 0 but "
    "float32(12, 8)",
    "graph": "the processes' graphs differ (shapes or numbers of tensors): rank 0 reduces 3 elements",
    "batch": "rank 1 read a global batch of 8 rows, but the 2 processes' shards add up to 12 rows",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_process_ends_the_job_with_a_clear_error(fault):
    run = launch(2, "faults.py", fault, timeout=90, env={"SYMGRAPH_DIST_TIMEOUT": "5"})
    assert run.returncode != 0, run.output
    output = " ".join(run.output.split())
    expected = FAULTS[fault]
    if fault == "kill":  # mpiexec's own words; it ends the others
        assert "BAD TERMINATION" in output and ("KILLED BY SIGNAL: 9" in output or "Killed (signal 9)" in output)
    else:
        assert expected in output, run.output
    assert "fit finished" not in run.stdout
    assert run.seconds < 60, f"the job took {run.seconds:.0f} s to end"


def weights(path):
    z = np.load(path)
    return [z[f"arr_{i}"] for i in range(sum(n.startswith("arr_") for n in z.files))], json.loads(str(z["history"]))


def test_rank_0_checkpoints_and_a_resume_on_other_processes_continues_the_same(tmp_path):
    full = launch(2, "resume.py", "--out", str(tmp_path), "--phase", "full", timeout=120)
    assert full.returncode == 0, full.output
    # only rank 0 printed the progress bar and wrote the checkpoint, CSV and TensorBoard files
    assert full.stdout.count("Epoch 1/4") == 1 and full.stdout.count("4/4 ━") == 4, full.stdout
    assert (tmp_path / "ckpt-rank0.weights.h5").exists() and not (tmp_path / "ckpt-rank1.weights.h5").exists()
    assert (tmp_path / "log-full-rank0.csv").exists() and not (tmp_path / "log-full-rank1.csv").exists()
    assert not (tmp_path / "tb-rank1").exists()

    first = launch(2, "resume.py", "--out", str(tmp_path), "--phase", "first", timeout=120)
    assert first.returncode == 0 and "stopped as epoch 3 begins" in first.stdout, first.output
    metadata = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    assert metadata["epoch"] == 2
    second = launch(3, "resume.py", "--out", str(tmp_path), "--phase", "second", timeout=120)
    assert second.returncode == 0, second.output
    assert not (tmp_path / "backup").exists()  # rank 0 removed it when the fit completed

    want, want_history = weights(tmp_path / "full-rank0.npz")
    for r in range(3):
        got, history = weights(tmp_path / f"second-rank{r}.npz")
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5, err_msg=f"rank {r}")
        assert len(history["loss"]) == 2  # epochs 3 and 4 ran
        np.testing.assert_allclose(history["loss"], want_history["loss"][2:], rtol=1e-4, atol=2e-5)
