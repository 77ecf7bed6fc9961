"""Keras 3 with train_on_batch / predict_on_batch, on the TensorFlow backend (variant
"tensorflow": tf.keras; jit_compile="auto" means no XLA on a CPU-only machine) or the JAX
backend (variant "jax": the train step is always jax.jit-compiled)."""

from __future__ import annotations

import os

from benchmarks.harness import THREADS
from benchmarks.peers import keras_models

keras = None


def setup(variant: str) -> str:
    global keras
    os.environ["KERAS_BACKEND"] = variant
    if variant == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        backend = f"tensorflow {tf.__version__}"
    else:
        import jax

        cache = os.environ.get("BENCH_CACHE_DIR")
        if cache:  # W7: JAX's persistent compilation cache, every entry kept
            jax.config.update("jax_compilation_cache_dir", os.path.join(cache, "jax"))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        backend = f"jax {jax.__version__}"
    import keras as keras_

    keras = keras_
    keras.utils.set_random_seed(0)
    return f"keras {keras.__version__}, {backend}"


def _bound(workload):
    def run(ctx) -> None:
        workload(keras, ctx)

    return run


def w8(ctx) -> None:
    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        ctx.record.skip("W8", "Keras on JAX has no GradientTape: jax.jit's column is W8's JAX figure")
        return
    import tensorflow as tf

    keras_models.w8(keras, tf, ctx)


WORKLOADS = {name: _bound(getattr(keras_models, name.lower())) for name in ("W3", "W4", "W5", "W6", "W7")}
WORKLOADS["W8"] = w8
