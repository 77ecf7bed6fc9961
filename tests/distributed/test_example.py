"""examples/keras_mnist_cnn_dp.py under ``mpiexec -n 2``, briefly (--limit)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.distributed.mpi import ROOT, mpiexec, requires_mpi

pytestmark = requires_mpi


def test_mnist_cnn_data_parallel_example_runs_briefly():
    command = [mpiexec(), "-n", "2", sys.executable, str(ROOT / "examples" / "keras_mnist_cnn_dp.py"),
               "--epochs", "1", "--limit", "1024", "--test-limit", "500"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("Test accuracy:") == 1 and out.count("Total params: 184,586") == 1, out  # rank 0 alone prints
    accuracy = float(out.split("Test accuracy:")[1].split()[0])
    assert accuracy > 0.3, out  # 8 steps of Adam on 1024 images: well above chance
