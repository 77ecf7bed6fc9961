"""Launching this package's scripts under mpiexec, and skipping when that cannot be done."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def mpiexec() -> str | None:
    """The mpiexec beside this interpreter (the mpich wheel's), else the first on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.is_file() else shutil.which("mpiexec")


def why_not() -> str | None:
    """Why these tests cannot run here, or None."""
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install -e '.[distributed]')"
    if mpiexec() is None:
        return "no mpiexec beside this Python or on PATH (pip install -e '.[distributed]' brings mpich's)"
    return None


skip_without_mpi = pytest.mark.skipif(why_not() is not None, reason=f"distributed tests skipped: {why_not()}")
requires_mpi = [pytest.mark.distributed, skip_without_mpi]  # a module's pytestmark


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def launch(processes: int, script: str, *args: str, timeout: float = 120, env: dict | None = None) -> Run:
    """``mpiexec -n processes python tests/distributed/<script> args...``: one thread per
    process (the machine may have fewer cores than processes), the tests' compile cache."""
    command = [mpiexec(), "-n", str(processes), sys.executable, str(HERE / script), *args]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{' '.join(command)} did not end within {timeout} s:\n{exc.stdout or ''}\n{exc.stderr or ''}"
        ) from None
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def alone(script: str, *args: str, timeout: float = 120) -> Run:
    """The script in one plain process (no mpiexec): the references."""
    command = [sys.executable, str(HERE / script), *args]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment, cwd=ROOT)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - start)
