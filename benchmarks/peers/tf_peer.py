"""TensorFlow through tf.function (graph mode, no XLA, as Keras' jit_compile="auto" picks
on a CPU-only machine): W1, W2, W3 as a custom step (GradientTape, Keras Adam), W4."""

from __future__ import annotations

import os

import numpy as np

from benchmarks import spec
from benchmarks.harness import THREADS

tf = keras = None


def setup(variant: str) -> str:
    global tf, keras
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf_

    tf = tf_
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    import keras as keras_

    keras = keras_
    return f"tensorflow {tf.__version__}"


def w1(ctx) -> None:
    f = tf.function(lambda x: x * 2 + 1)
    x = tf.constant(np.arange(ctx.sizes.w1_n, dtype=np.float32))
    ctx.record.timing("W1", "x*2+1", "us/call", 1e6, ctx.time(lambda: f(x)))


def w2(ctx) -> None:
    f = tf.function(lambda x, a, b: tf.tanh(x * a + b) * tf.sigmoid(x) - 0.5 * x * x)
    x = tf.constant(spec.w2_input(ctx.sizes))
    a, b = tf.constant(np.float32(spec.W2_A)), tf.constant(np.float32(spec.W2_B))
    timing = ctx.time(lambda: f(x, a, b))
    ctx.record.timing("W2", "fused", "ms/call", 1e3, timing, gbps=spec.w2_bytes(ctx.sizes) / timing["median"] / 1e9)


def mlp(sizes: spec.Sizes):
    layers = [keras.Input((sizes.mlp[0],))]
    layers += [keras.layers.Dense(n, activation="relu") for n in sizes.mlp[1:-1]]
    return keras.Sequential([*layers, keras.layers.Dense(sizes.mlp[-1])])


def w3(ctx) -> None:
    model, opt = mlp(ctx.sizes), keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    x, y = (tf.constant(v) for v in spec.mlp_data(ctx.sizes))
    ctx.record.timing("W3", "train step", "ms/step", 1e3, ctx.time(lambda: step(x, y)), how="custom tf.function step")


def w4(ctx) -> None:
    model = mlp(ctx.sizes)
    f = tf.function(lambda x: model(x, training=False))
    for batch in ctx.sizes.w4_batches:
        x = tf.constant(spec.mlp_data(ctx.sizes, batch)[0])
        ctx.record.timing("W4", *spec.w4_case(batch), ctx.time(lambda x=x: f(x)))


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4}
