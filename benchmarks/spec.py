"""The workloads W0..W8 of BENCHMARKS.md: their sizes, units and data, shared by all peers.

``full`` are the sizes of the definition; ``quick`` shrinks what can shrink without
changing the workload's nature (W2's vector, W4's large batch, W6's sequence); ``tiny``
exists for the test suite (seconds, not minutes) and measures nothing worth reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

WORKLOADS = {
    "W0": "machine limits: numpy sgemm GFLOP/s, copy and triad GB/s",
    "W1": "call overhead: f(x) = x*2+1 on 16 float32",
    "W2": "fused elementwise: tanh(x*a+b)*sigmoid(x) - 0.5*x*x",
    "W3": "MLP training step 784-512-512-10, Adam, batch 128",
    "W4": "the W3 network's inference (logits)",
    "W5": "CNN training step (conv 32, pool, conv 64, pool, dense 128, dropout, dense 10)",
    "W6": "LSTM training step (embedding 10000x64, LSTM 128, dense 1)",
    "W7": "compile time of the W3 training step: cold and warm cache",
    "W8": "a custom training step, the TensorFlow 2 way: the W3 MLP, a tape, Adam; traced and eager",
    "W9": "data parallelism on one machine: W3 and W5 steps, 1 process x 2 threads vs 2 processes x 1 thread",
}
W2_A, W2_B = 0.7, 0.3
SEED = 0


@dataclass(frozen=True)
class Sizes:
    """Every size a workload uses; ``name`` is the profile."""

    name: str = "full"
    w0_gemm: tuple[int, ...] = (256, 512, 1024, 2048)
    w0_copy_floats: int = 16 * 2**20  # 64 MiB of float32
    w0_triad_floats: int = 16 * 2**20
    w1_n: int = 16
    w2_n: int = 4_194_304
    mlp: tuple[int, ...] = (784, 512, 512, 10)
    mlp_batch: int = 128
    w4_batches: tuple[int, ...] = (1, 1024)
    cnn_batch: int = 64
    lstm_vocab: int = 10_000
    lstm_embed: int = 64
    lstm_hidden: int = 128
    lstm_steps: int = 80
    lstm_batch: int = 64


PROFILES = {
    "full": Sizes(),
    "quick": Sizes(
        name="quick",
        w0_gemm=(256, 1024),
        w0_copy_floats=4 * 2**20,
        w0_triad_floats=4 * 2**20,
        w2_n=1_048_576,
        w4_batches=(1, 256),
        lstm_steps=20,
    ),
}
PROFILES["tiny"] = replace(
    PROFILES["quick"],
    name="tiny",
    w0_gemm=(64,),
    w0_copy_floats=2**16,
    w0_triad_floats=2**16,
    w2_n=4096,
    mlp=(32, 16, 16, 10),
    mlp_batch=8,
    w4_batches=(1, 8),
    cnn_batch=2,
    lstm_vocab=50,
    lstm_embed=8,
    lstm_hidden=8,
    lstm_steps=4,
    lstm_batch=2,
)


def w2_bytes(sizes: Sizes) -> int:
    """Bytes W2 must move: x read once, y written once."""
    return 2 * 4 * sizes.w2_n


def w2_input(sizes: Sizes) -> np.ndarray:
    return np.random.default_rng(SEED).standard_normal(sizes.w2_n, dtype=np.float32)


def glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot-uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def mlp_params(sizes: Sizes) -> list[np.ndarray]:
    """[W0, b0, W1, b1, ...], W (fan_in, fan_out) Glorot-uniform, b zero."""
    rng = np.random.default_rng(SEED + 1)
    params = []
    for fan_in, fan_out in zip(sizes.mlp[:-1], sizes.mlp[1:]):
        params += [glorot(rng, (fan_in, fan_out), fan_in, fan_out), np.zeros(fan_out, np.float32)]
    return params


def mlp_data(sizes: Sizes, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random batch: features float32 (batch, in), integer labels int32 (batch,)."""
    batch = sizes.mlp_batch if batch is None else batch
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, sizes.mlp[0]), dtype=np.float32)
    return x, rng.integers(0, sizes.mlp[-1], batch).astype(np.int32)


def cnn_data(sizes: Sizes, layout: str = "NHWC") -> tuple[np.ndarray, np.ndarray]:
    """28x28 one-channel images in [0, 1) and labels 0..9 (int32)."""
    rng = np.random.default_rng(SEED)
    shape = (sizes.cnn_batch, 28, 28, 1) if layout == "NHWC" else (sizes.cnn_batch, 1, 28, 28)
    return rng.random(shape, dtype=np.float32), rng.integers(0, 10, sizes.cnn_batch).astype(np.int32)


def cnn_params(sizes: Sizes) -> dict[str, np.ndarray]:
    """W5's weights in Keras' layout: conv kernels (kh, kw, in, out), dense (in, out)."""
    rng = np.random.default_rng(SEED + 1)
    return {
        "c1w": glorot(rng, (5, 5, 1, 32), 25, 25 * 32),
        "c1b": np.zeros(32, np.float32),
        "c2w": glorot(rng, (5, 5, 32, 64), 25 * 32, 25 * 64),
        "c2b": np.zeros(64, np.float32),
        "d1w": glorot(rng, (1024, 128), 1024, 128),
        "d1b": np.zeros(128, np.float32),
        "d2w": glorot(rng, (128, 10), 128, 10),
        "d2b": np.zeros(10, np.float32),
    }


def lstm_data(sizes: Sizes) -> tuple[np.ndarray, np.ndarray]:
    """Token ids int32 (batch, steps) and 0/1 float32 targets (batch,)."""
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, sizes.lstm_vocab, (sizes.lstm_batch, sizes.lstm_steps)).astype(np.int32)
    return x, rng.integers(0, 2, sizes.lstm_batch).astype(np.float32)


def lstm_params(sizes: Sizes) -> dict[str, np.ndarray]:
    """W6's weights in Keras' layout: kernel (E, 4H), recurrent (H, 4H), gates i, f, c, o."""
    rng = np.random.default_rng(SEED + 1)
    e, h = sizes.lstm_embed, sizes.lstm_hidden
    return {
        "emb": rng.uniform(-0.05, 0.05, (sizes.lstm_vocab, e)).astype(np.float32),
        "wx": glorot(rng, (e, 4 * h), e, 4 * h),
        "wh": glorot(rng, (h, 4 * h), h, 4 * h),
        "b": np.zeros(4 * h, np.float32),
        "wo": glorot(rng, (h, 1), h, 1),
        "bo": np.zeros(1, np.float32),
    }


def w4_case(batch: int) -> tuple[str, str, float]:
    """W4's row for ``batch``: (case, unit, units per second); batch 1 in us, larger in ms."""
    return (f"batch {batch}", "us/call", 1e6) if batch == 1 else (f"batch {batch}", "ms/call", 1e3)
