"""LSTM(128) over 80 steps, batch 64, 64 input features: forward + gradient of every
weight in C (sg.nn.lstm on sg.scan), milliseconds per call.

    python -m benchmarks.scan_lstm [--repeat 9] [--blocks N] [--symbolic-batch]

The batch is static, as in W6, so the C loops run blocks of rows on OpenMP's threads
(symgraph/scan/kernel.py); ``--blocks 1`` compiles them unsplit (BLAS threads each
step's matmul instead), ``--symbolic-batch`` builds for any batch (never split).

Compare with W6 of the benchmark spec (a whole training step of Embedding + LSTM(128) +
Dense: torch eager 39 ms on the reference machine).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import symgraph as sg
from symgraph.scan import rows as scan_rows

BATCH, TIME, FEATURES, UNITS = 64, 80, 64, 128


def build(mode: str = "c", symbolic_batch: bool = False):
    rng = np.random.default_rng(0)
    batch = None if symbolic_batch else BATCH
    x = sg.placeholder((batch, TIME, FEATURES), name="x")
    y = sg.placeholder((batch,), name="y")
    kernel = sg.Variable((rng.standard_normal((FEATURES, 4 * UNITS)) * 0.1).astype(np.float32), name="kernel")
    recurrent = sg.Variable((rng.standard_normal((UNITS, 4 * UNITS)) * 0.1).astype(np.float32), name="recurrent")
    bias = sg.Variable(np.zeros(4 * UNITS, np.float32), name="bias")
    dense = sg.Variable((rng.standard_normal((UNITS,)) * 0.1).astype(np.float32), name="dense")
    last, _, _ = sg.nn.lstm(x, kernel, recurrent, bias, None, None)
    logits = last @ dense
    loss = sg.mean(sg.nn.sigmoid_binary_cross_entropy(logits, y))
    grads = sg.grad(loss, [kernel, recurrent, bias, dense])
    forward = sg.function([x, y], loss, mode=mode)
    step = sg.function([x, y], [loss, *grads], mode=mode)
    data = (
        rng.standard_normal((BATCH, TIME, FEATURES)).astype(np.float32),
        (rng.random(BATCH) < 0.5).astype(np.float32),
    )
    return forward, step, data


def timed(f, args, repeat: int) -> str:
    """Median wall and process CPU milliseconds per call (the CPU time is the steadier
    figure on a shared machine; with one thread it is the work itself)."""
    f(*args)  # warm: arena sized, BLAS threads up
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        f(*args)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return f"{np.median(wall) * 1e3:8.2f} ms wall, {np.median(cpu) * 1e3:8.2f} ms CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--blocks", type=int, default=None, help="blocks of rows per loop (default: chosen)")
    parser.add_argument("--symbolic-batch", action="store_true")
    args = parser.parse_args()
    if args.blocks is not None:
        scan_rows.row_chunks = lambda *sizes: args.blocks
    start = time.perf_counter()
    forward, step, data = build(symbolic_batch=args.symbolic_batch)
    compile_s = time.perf_counter() - start
    print(f"LSTM({UNITS}) T={TIME} batch={BATCH} features={FEATURES}, float32, C, median of {args.repeat}")
    print(f"  build (both functions): {compile_s:.2f} s")
    print(f"  forward:             {timed(forward, data, args.repeat)}")
    print(f"  forward + gradients: {timed(step, data, args.repeat)}")


if __name__ == "__main__":
    main()
