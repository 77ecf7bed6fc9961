"""JAX: hand-written layers under jax.jit, optax.adam, parameters and optimizer state
donated; CNN in NHWC with lax.conv_general_dilated, LSTM recurrence in lax.scan."""

from __future__ import annotations

import os
from functools import partial

from benchmarks import spec

jax = jnp = lax = optax = None


def setup(variant: str) -> str:
    global jax, jnp, lax, optax
    import jax as jax_
    import jax.numpy as jnp_
    import optax as optax_
    from jax import lax as lax_

    jax, jnp, lax, optax = jax_, jnp_, lax_, optax_
    cache = os.environ.get("BENCH_CACHE_DIR")
    if cache:  # with JAX's 1 s default threshold a sub-second compile is never cached
        jax.config.update("jax_compilation_cache_dir", os.path.join(cache, "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return f"jax {jax.__version__}, optax {optax.__version__}"


def w1(ctx) -> None:
    x = jnp.arange(ctx.sizes.w1_n, dtype=jnp.float32)
    f = jax.jit(lambda x: x * 2 + 1)
    ctx.record.timing("W1", "x*2+1", "us/call", 1e6, ctx.time(lambda: f(x).block_until_ready()))


def w2(ctx) -> None:
    x = jnp.asarray(spec.w2_input(ctx.sizes))
    a, b = jnp.float32(spec.W2_A), jnp.float32(spec.W2_B)
    f = jax.jit(lambda x, a, b: jnp.tanh(x * a + b) * jax.nn.sigmoid(x) - 0.5 * x * x)
    timing = ctx.time(lambda: f(x, a, b).block_until_ready())
    ctx.record.timing("W2", "fused", "ms/call", 1e3, timing, gbps=spec.w2_bytes(ctx.sizes) / timing["median"] / 1e9)


def mlp_apply(params, x):
    h = x
    for k in range(0, len(params), 2):
        h = h @ params[k] + params[k + 1]
        if k + 2 < len(params):
            h = jax.nn.relu(h)
    return h


def mlp_loss(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(mlp_apply(params, x), y).mean()


def trainer(loss_fn, params, *batch):
    """A one-step callable that chains Adam steps (each from the previous parameters)
    and the sync that waits for the last loss."""
    opt = optax.adam(1e-3)

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, *batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    state = {"p": params, "o": opt.init(params), "loss": None}

    def one() -> None:
        state["p"], state["o"], state["loss"] = step(state["p"], state["o"], *batch)

    return one, lambda: state["loss"].block_until_ready()


def w3_trainer(ctx):
    x, y = spec.mlp_data(ctx.sizes)
    return trainer(mlp_loss, [jnp.asarray(p) for p in spec.mlp_params(ctx.sizes)], jnp.asarray(x), jnp.asarray(y))


def w3(ctx) -> None:
    one, sync = w3_trainer(ctx)
    ctx.record.timing("W3", "train step", "ms/step", 1e3, ctx.time(one, sync))


def w8(ctx) -> None:
    """The custom step the JAX way: W3's jax.jit step with optax Adam (no eager row: a JAX
    step is traced)."""
    one, sync = w3_trainer(ctx)
    ctx.record.timing("W8", "traced step", "ms/step", 1e3, ctx.time(one, sync), how="jax.jit + optax")


def w4(ctx) -> None:
    params = [jnp.asarray(p) for p in spec.mlp_params(ctx.sizes)]
    f = jax.jit(mlp_apply)
    for batch in ctx.sizes.w4_batches:
        x = jnp.asarray(spec.mlp_data(ctx.sizes, batch)[0])
        ctx.record.timing("W4", *spec.w4_case(batch), ctx.time(lambda x=x: f(params, x).block_until_ready()))


def cnn_loss(p, x, y, key):
    def conv(h, w, b):
        return lax.conv_general_dilated(h, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b

    def pool(h):
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    h = pool(jax.nn.relu(conv(x, p["c1w"], p["c1b"])))
    h = pool(jax.nn.relu(conv(h, p["c2w"], p["c2b"])))
    h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p["d1w"] + p["d1b"])
    h = jnp.where(jax.random.bernoulli(key, 0.8, h.shape), h / 0.8, 0.0)
    return optax.softmax_cross_entropy_with_integer_labels(h @ p["d2w"] + p["d2b"], y).mean()


def w5(ctx) -> None:
    x, y = spec.cnn_data(ctx.sizes)
    params = {k: jnp.asarray(v) for k, v in spec.cnn_params(ctx.sizes).items()}
    keys = {"key": jax.random.PRNGKey(spec.SEED)}
    opt = optax.adam(1e-3)

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(p, o, x, y, key):
        loss, grads = jax.value_and_grad(cnn_loss)(p, x, y, key)  # a fresh dropout key per step
        updates, o = opt.update(grads, o, p)
        return optax.apply_updates(p, updates), o, loss

    state = {"p": params, "o": opt.init(params), "loss": None}
    x, y = jnp.asarray(x), jnp.asarray(y)

    def one() -> None:
        keys["key"], sub = jax.random.split(keys["key"])
        state["p"], state["o"], state["loss"] = step(state["p"], state["o"], x, y, sub)

    timing = ctx.time(one, lambda: state["loss"].block_until_ready())
    ctx.record.timing("W5", "train step", "ms/step", 1e3, timing)


def lstm_loss(p, ids, y):
    hidden = p["wh"].shape[0]
    xs = jnp.einsum("bte,eg->tbg", p["emb"][ids], p["wx"]) + p["b"]  # input projection of all steps

    def cell(carry, xg):
        h, c = carry
        g = xg + h @ p["wh"]
        i, f = jax.nn.sigmoid(g[:, :hidden]), jax.nn.sigmoid(g[:, hidden : 2 * hidden])
        cc, o = jnp.tanh(g[:, 2 * hidden : 3 * hidden]), jax.nn.sigmoid(g[:, 3 * hidden :])
        c = f * c + i * cc
        return (o * jnp.tanh(c), c), None

    zeros = jnp.zeros((ids.shape[0], hidden), jnp.float32)
    (h, _), _ = lax.scan(cell, (zeros, zeros), xs)
    return optax.sigmoid_binary_cross_entropy((h @ p["wo"] + p["bo"])[:, 0], y).mean()


def w6(ctx) -> None:
    x, y = spec.lstm_data(ctx.sizes)
    params = {k: jnp.asarray(v) for k, v in spec.lstm_params(ctx.sizes).items()}
    one, sync = trainer(lstm_loss, params, jnp.asarray(x), jnp.asarray(y))
    ctx.record.timing("W6", "train step", "ms/step", 1e3, ctx.time(one, sync))


def w7(ctx) -> None:
    holder = {}

    def build():
        holder["one"], holder["sync"] = w3_trainer(ctx)
        return holder["one"]

    ctx.compile_time(build, sync=lambda: holder["sync"]())


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8}
