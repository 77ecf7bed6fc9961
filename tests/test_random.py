"""sg.random: the Philox generator (known answers, C == numpy bit for bit), the global
state (advanced per call, reseedable, reproducible across processes), the
distributions' moments, dropout and embedding."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import DTypeError, IndexOutOfRangeError, InputError
from symgraph.ops import random as rnd

# Random123's kat_vectors, "philox4x32 10" lines: counter words, key words, output words
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

MODES = ("py", "c")


@pytest.fixture(autouse=True)
def _fresh_global_generator():
    """Every test starts from seed 0 (and leaves it so for the next)."""
    sg.random.seed(0)
    yield
    sg.random.seed(0)


# ---------------------------------------------------------------- the generator


@pytest.mark.parametrize("counter,key,expected", KNOWN_ANSWERS)
def test_philox_known_answers_numpy(counter, key, expected):
    assert tuple(int(w) for w in rnd.philox4x32_10(counter, key)) == expected


def test_philox_known_answers_c():
    from symgraph.runtime.build import build

    source = textwrap.dedent(
        """
        #include "symgraph.h"
        void philox(const uint32_t *ctr, const uint32_t *key, uint32_t *out)
        {
            uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
            sg_philox4x32_10(c, key[0], key[1]);
            for (int i = 0; i < 4; i++) out[i] = c[i];
        }
        """
    )
    lib = build(source, "void philox(const uint32_t *, const uint32_t *, uint32_t *);", name_hint="philox_kat")
    for counter, key, expected in KNOWN_ANSWERS:
        out = lib.ffi.new("uint32_t[4]")
        lib.lib.philox(lib.ffi.new("uint32_t[4]", counter), lib.ffi.new("uint32_t[2]", key), out)
        assert tuple(out) == expected


def test_uniform_float32_is_the_top_24_bits_of_the_philox_words():
    """Key (0, 0), counter 0, block 0 is the first known answer: the op in C exposes its
    words' top 24 bits."""
    k = sg.placeholder((2,), "int64", name="k")
    f = sg.function([k], sg.random.uniform((4,), key=k), mode="c")
    got = f(np.zeros(2, np.int64)) * 2.0**24
    np.testing.assert_array_equal(got, [w >> 8 for w in KNOWN_ANSWERS[0][2]])


def test_own_log_and_sincos_are_accurate():
    u = np.concatenate([np.linspace(2.0**-53, 1.0, 100001), 2.0 ** -np.arange(0.0, 54.0)])
    np.testing.assert_allclose(rnd._log(u), np.log(u), rtol=1e-15, atol=1e-300)  # a few ulp
    t = np.arange(2**16) / 2**16
    sin, cos = rnd._sincos_2pi(t)
    np.testing.assert_allclose(sin, np.sin(2 * np.pi * t), rtol=0, atol=1e-15)
    np.testing.assert_allclose(cos, np.cos(2 * np.pi * t), rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_c_and_py_give_the_same_bits_for_a_key(dtype):
    """Large draws (parallel blocks in C), explicit key, a second key from split: equal
    bit for bit. The key is fed at call time, so no draw is folded into a constant."""
    k = sg.placeholder((2,), "int64", name="k")
    k1, k2 = sg.random.split(k)
    outs = [
        sg.random.uniform((100003,), dtype=dtype, key=k1),
        sg.random.normal((50001,), dtype=dtype, key=k2),
        sg.random.truncated_normal((30001,), dtype=dtype, key=k1),
        sg.random.split(k, 5),
    ]
    key = np.array([0xDEADBEEF, 12345], np.int64)
    c, py = (sg.function([k], outs, mode=m)(key) for m in MODES)
    for a, b in zip(c, py):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(c[0][:100], sg.function([k], sg.random.uniform((100,), dtype=dtype, key=k2))(key))


def test_same_key_same_numbers_and_draws_with_one_key_merge():
    """As in JAX: one key, one sequence (two equal draws are one node); split for more."""
    a = sg.random.normal((5,), key=sg.random.key(1))
    b = sg.random.normal((5,), key=sg.random.key(1))
    assert a is b
    c = sg.random.normal((5,), key=sg.random.key(2))
    va, vc = sg.function([], [a, c])()
    assert not np.array_equal(va, vc)
    keys = sg.function([], sg.random.split(sg.random.key(1), 4))()
    assert keys.shape == (4, 2) and len({tuple(r) for r in keys}) == 4
    assert keys.min() >= 0 and keys.max() < 2**32


def test_key_words_and_key_validation():
    np.testing.assert_array_equal(sg.function([], sg.random.key(2**32 + 7))(), [1, 7])
    with pytest.raises(DTypeError):
        sg.random.uniform((3,), key=sg.constant(np.zeros(2, np.float32)))
    with pytest.raises(DTypeError):
        sg.random.uniform((3,), key=sg.constant(np.zeros(3, np.int64)))
    with pytest.raises(DTypeError):
        sg.random.uniform((3,), dtype="int32")
    k = sg.placeholder((None,), "int64", name="k")
    f = sg.function([k], sg.random.uniform((3,), key=k), mode="c")
    with pytest.raises(sg.errors.ShapeError):
        f(np.zeros(3, np.int64))


def test_no_gradient_to_the_key_but_to_the_parameters():
    lo = sg.placeholder((), "float64", name="lo")
    hi = sg.placeholder((), "float64", name="hi")
    u = sg.random.uniform((1000,), lo, hi, dtype="float64", key=sg.random.key(3))
    glo, ghi = sg.grad(sg.sum(u), [lo, hi])
    base = sg.function([], sg.random.uniform((1000,), dtype="float64", key=sg.random.key(3)))()
    got_lo, got_hi = sg.function([lo, hi], [glo, ghi])(1.0, 2.0)
    np.testing.assert_allclose([got_lo, got_hi], [np.sum(1 - base), np.sum(base)], rtol=1e-12)
    assert rnd.RandomUniform((3,), np.dtype("float32")).grad([], [], [None]) == [None, None]


# ---------------------------------------------------------------- the global state


@pytest.mark.parametrize("mode", MODES)
def test_global_state_advances_per_call_and_reseeds(mode):
    u = sg.random.uniform((4,))
    f = sg.function([], u, mode=mode)
    first, second = f(), f()
    assert not np.array_equal(first, second)
    assert rnd.GLOBAL_COUNTER.get_value() == 2
    sg.random.seed(0)
    np.testing.assert_array_equal(f(), first)
    np.testing.assert_array_equal(f(), second)


def test_global_sequence_is_the_same_in_c_py_and_debug():
    x = sg.placeholder((None,), "float32", name="x")
    outs = [sg.random.uniform(x.shape), sg.random.normal((3, 2)), sg.random.truncated_normal((5,), dtype="float64")]
    runs = {}
    for mode in ("c", "py", "debug"):
        sg.random.seed(42)
        f = sg.function([x], outs, mode=mode)  # "debug" checks C against numpy itself
        runs[mode] = [f(np.zeros(n, np.float32)) for n in (3, 6)]
    for mode in ("py", "debug"):
        for call_c, call_other in zip(runs["c"], runs[mode]):
            for a, b in zip(call_c, call_other):
                np.testing.assert_array_equal(a, b)
    assert runs["c"][0][0].shape == (3,) and runs["c"][1][0].shape == (6,)
    assert not np.array_equal(runs["c"][0][1], runs["c"][1][1])


def test_two_draws_in_one_graph_differ():
    a, b = sg.random.uniform((3,)), sg.random.uniform((3,))
    assert a is not b
    va, vb = sg.function([], [a, b])()
    assert not np.array_equal(va, vb)
    # and two functions reading the global state share and advance one counter
    f, g = sg.function([], sg.random.normal((3,))), sg.function([], sg.random.normal((3,)))
    f(), g()
    assert rnd.GLOBAL_COUNTER.get_value() == 3


def test_seed_changes_the_numbers():
    sg.random.seed(1)
    a = sg.function([], sg.random.uniform((8,)))()
    sg.random.seed(2)
    b = sg.function([], sg.random.uniform((8,)))()
    assert not np.array_equal(a, b)


def test_user_update_of_the_counter_replaces_the_implicit_one():
    counter = rnd.GLOBAL_COUNTER
    f = sg.function([], sg.random.uniform((3,)), updates=[(counter, counter + 10)])
    f()
    assert counter.get_value() == 10
    g = sg.function([], sg.random.uniform((3,)) * 2)
    assert len(g.updates) == 1 and g.updates[0][0] is counter


def test_same_seed_same_stream_in_another_process():
    script = textwrap.dedent(
        """
        import numpy as np, symgraph as sg
        sg.random.seed(1234)
        x = sg.placeholder((None,), "float32", name="x")
        f = sg.function([x], [sg.random.uniform(x.shape), sg.random.normal((3,))], mode="{mode}")
        for _ in range(2):
            for a in f(np.zeros(4, np.float32)):
                print(" ".join(v.hex() for v in a.astype(float)))
        """
    )
    sg.random.seed(1234)
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], [sg.random.uniform(x.shape), sg.random.normal((3,))], mode="c")
    here = [" ".join(v.hex() for v in a.astype(float)) for _ in range(2) for a in f(np.zeros(4, np.float32))]
    for mode in MODES:
        out = subprocess.run(
            [sys.executable, "-c", script.format(mode=mode)], capture_output=True, text=True, check=True
        ).stdout
        assert out.split("\n")[:4] == here


# ---------------------------------------------------------------- the distributions


def _draw(tensor: sg.Tensor) -> np.ndarray:
    return sg.function([], tensor, mode="c")()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_moments(dtype):
    n = 1_000_000
    u = _draw(sg.random.uniform((n,), dtype=dtype, key=sg.random.key(11))).astype(np.float64)
    assert u.dtype == np.float64 and 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    # the variance of a uniform's variance estimate: (1/80 - 1/144) / n
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt((1 / 80 - 1 / 144) / n)
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    assert np.all(np.abs(counts - n / 20) < 5 * np.sqrt(n / 20))
    r = _draw(sg.random.uniform((1000,), -3.0, -1.0, key=sg.random.key(1)))
    assert -3.0 <= r.min() and r.max() < -1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_moments(dtype):
    n = 1_000_000
    z = _draw(sg.random.normal((n,), dtype=dtype, key=sg.random.key(12))).astype(np.float64)
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(z**3)) < 5 * np.sqrt(15 / n)  # skewness 0
    assert abs(np.mean(z**4) - 3) < 5 * np.sqrt(96 / n)  # kurtosis 3
    assert abs(np.mean(np.abs(z) <= 1) - 0.6826894921) < 5 * np.sqrt(0.2176 / n)
    shifted = _draw(sg.random.normal((n,), 3.0, 0.5, key=sg.random.key(13)))
    assert abs(shifted.mean() - 3) < 5 * 0.5 / np.sqrt(n)
    assert abs(shifted.std() - 0.5) < 5 * 0.5 * np.sqrt(0.5 / n)


def test_truncated_normal_bounds_and_moments():
    n = 1_000_000
    z = _draw(sg.random.truncated_normal((n,), key=sg.random.key(14))).astype(np.float64)
    assert np.abs(z).max() <= 2.0
    variance = 1 - 4 * np.exp(-2) / np.sqrt(2 * np.pi) / 0.9544997361  # of N(0,1) given |z| <= 2
    assert abs(z.mean()) < 5 * np.sqrt(variance / n)
    assert abs(z.var() - variance) < 0.005
    assert abs(np.mean(np.abs(z) > 1.9) - (0.9544997361 - 0.9426431505) / 0.9544997361) < 0.001
    m = _draw(sg.random.truncated_normal((10000,), mean=5.0, stddev=2.0, key=sg.random.key(1)))
    assert m.min() >= 1.0 and m.max() <= 9.0 and m.min() < 1.2 and m.max() > 8.8


def test_bernoulli_fraction():
    n = 200_000
    b = _draw(sg.random.bernoulli(0.3, (n,), key=sg.random.key(15)))
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 5 * np.sqrt(0.21 / n)
    p = sg.constant(np.array([0.0, 1.0], np.float32))
    np.testing.assert_array_equal(_draw(sg.random.bernoulli(p)), [False, True])


# ---------------------------------------------------------------- dropout


@pytest.mark.parametrize("mode", MODES)
def test_dropout_keeps_the_expected_fraction_and_scales(mode):
    n, rate = 200_000, 0.25
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], sg.nn.dropout(x, rate), mode=mode)
    data = np.random.default_rng(0).uniform(1, 2, n).astype(np.float32)
    y = f(data)
    kept = y != 0
    assert abs(kept.mean() - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_array_equal(y[kept], data[kept] / np.float32(1 - rate))
    assert not np.array_equal(f(data) != 0, kept)  # a new mask every call


def test_dropout_identity_cases_and_errors():
    x = sg.placeholder((3, 4), "float32", name="x")
    assert sg.nn.dropout(x, 0.5, training=False) is x
    assert sg.nn.dropout(x, 0.0) is x
    with pytest.raises(InputError):
        sg.nn.dropout(x, 1.0)
    with pytest.raises(InputError):
        sg.nn.dropout(x, 0.5, noise_shape=(3,))
    training = sg.placeholder((), "bool", name="training")
    f = sg.function([x, training], sg.nn.dropout(x, 0.5, training=training, key=sg.random.key(0)))
    data = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(f(data, False), data)
    assert set(np.unique(f(data, True))) <= {0.0, 2.0}
    rate = sg.placeholder((), "float32", name="rate")
    g = sg.function([x, rate], sg.nn.dropout(x, rate, key=sg.random.key(0)))
    assert set(np.unique(g(data, np.float32(0.75)))) <= {0.0, 4.0}
    np.testing.assert_array_equal(g(data, np.float32(0.0)), data)


def test_dropout_noise_shape_broadcasts_the_mask():
    x = sg.placeholder((None, 64), "float32", name="x")
    y = sg.function([x], sg.nn.dropout(x, 0.5, noise_shape=(None, 1)))(np.ones((50, 64), np.float32))
    rows = y[:, 0]
    assert np.all(y == rows[:, None]) and 0 < np.count_nonzero(rows) < 50


@pytest.mark.parametrize("mode", MODES)
def test_dropout_gradient_is_the_scaled_mask(mode):
    rate = 0.4
    x = sg.placeholder((200,), "float64", name="x")
    w = np.random.default_rng(1).standard_normal(200)
    y = sg.nn.dropout(x, rate, key=sg.random.key(9))
    (g,) = sg.grad(sg.sum(y * w), [x])
    data = np.random.default_rng(2).uniform(1, 2, 200)
    out, grad = sg.function([x], [y, g], mode=mode)(data)
    mask = out != 0
    assert 0 < mask.sum() < 200
    np.testing.assert_allclose(grad, np.where(mask, w / (1 - rate), 0.0), rtol=1e-15)
    # and by central differences along a random direction
    cost = sg.function([x], sg.sum(y * w), mode=mode)
    d = np.random.default_rng(3).standard_normal(200)
    eps = 1e-6
    numeric = (cost(data + eps * d) - cost(data - eps * d)) / (2 * eps)
    assert abs(numeric - grad @ d) < 1e-6 * max(1.0, abs(numeric))


# ---------------------------------------------------------------- embedding


@pytest.mark.parametrize("mode", MODES)
def test_embedding_lookup_range_and_gradient(mode):
    table = sg.placeholder((None, 3), "float32", name="table")
    ids = sg.placeholder((None,), "int32", name="ids")
    out = sg.nn.embedding(ids, table)
    (g,) = sg.grad(sg.sum(out * 2.0), [table])
    f = sg.function([table, ids], [out, g], mode=mode)
    t = np.arange(12, dtype=np.float32).reshape(4, 3)
    got, grad = f(t, np.array([1, 1, 3, 2], np.int32))
    np.testing.assert_array_equal(got, t[[1, 1, 3, 2]])
    np.testing.assert_array_equal(grad, np.array([[0] * 3, [4] * 3, [2] * 3, [2] * 3], np.float32))  # scatter-add
    for bad in (4, -1, -5):  # Keras' rule: a negative id is out of range, not counted from the end
        with pytest.raises(IndexOutOfRangeError, match=f"index {bad} is out of bounds"):
            f(t, np.array([0, bad], np.int32))
    with pytest.raises(DTypeError):
        sg.nn.embedding(sg.placeholder((2,), "float32"), table)
