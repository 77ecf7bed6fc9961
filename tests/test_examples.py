"""The examples: they train to the accuracy they promise, and one compile serves every batch size.

The training runs read the MNIST copy the repository ships (examples/data/mnist), with
the network shut (no SYMGRAPH_MNIST_DIR, an empty cache, a download URL that refuses), as
the README's first command runs on a fresh machine. The batch-size tests use random data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symgraph import keras

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import _data  # noqa: E402
import linear_regression  # noqa: E402
import softmax_regression  # noqa: E402


@pytest.fixture
def offline(monkeypatch):
    """No MNIST directory from the environment, and a download URL that refuses."""
    monkeypatch.delenv("SYMGRAPH_MNIST_DIR", raising=False)
    monkeypatch.setenv("SYMGRAPH_MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # discard port: refused


BATCH_SIZES = (1, 7, 128)


def random_batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int32)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_examples_find_the_shipped_mnist_offline(offline, tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(tmp_path / "cache"))  # an empty cache
    assert _data.default_data_dir() == str(EXAMPLES / "data" / "mnist")
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(_data.default_data_dir())
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    assert not (tmp_path / "cache").exists()  # nothing was downloaded or cached


def test_softmax_regression_reaches_90_percent(offline, capsys):
    accuracy = softmax_regression.main(["--epochs", "2"])
    assert accuracy > 0.90
    out = capsys.readouterr().out
    assert "epoch 2/2" in out and "test accuracy" in out


def test_linear_regression_reaches_80_percent(offline, capsys):
    accuracy = linear_regression.main(["--epochs", "1", "--lstsq-samples", "5000"])
    assert accuracy > 0.80
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "closed form" in out


def test_softmax_regression_one_compile_serves_every_batch_size():
    model = softmax_regression.build_model(lr=0.5)
    rng = np.random.default_rng(0)
    for n in BATCH_SIZES:
        for _ in range(3):
            x, y = random_batch(rng, n)
            W, b = model.W.get_value(), model.b.get_value()
            # the numpy reference of one SGD step on the values before the call
            logp = log_softmax(x @ W + b)
            expected_loss = -logp[np.arange(n), y].mean()
            g = (np.exp(logp) - np.eye(10, dtype=np.float32)[y]) / n
            loss = model.train(x, y)
            assert np.shape(loss) == () and np.isfinite(loss)
            np.testing.assert_allclose(loss, expected_loss, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(model.W.get_value(), W - 0.5 * (x.T @ g), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(model.b.get_value(), b - 0.5 * g.sum(axis=0), rtol=1e-4, atol=1e-5)
        labels = model.predict(x)
        assert labels.shape == (n,)
        np.testing.assert_array_equal(labels, np.argmax(x @ model.W.get_value() + model.b.get_value(), axis=1))


def test_linear_regression_one_compile_serves_every_batch_size():
    model = linear_regression.build_model(lr=0.1)
    rng = np.random.default_rng(1)
    for n in BATCH_SIZES:
        for _ in range(3):
            x, y = random_batch(rng, n)
            t = _data.one_hot(y)
            W, b = model.W.get_value(), model.b.get_value()
            residual = x @ W + b - t
            g = 2 * residual / residual.size
            mse = model.train(x, t)
            assert np.shape(mse) == ()
            np.testing.assert_allclose(mse, np.mean(residual**2), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(model.W.get_value(), W - 0.1 * (x.T @ g), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(model.b.get_value(), b - 0.1 * g.sum(axis=0), rtol=1e-4, atol=1e-6)
        mse, labels = model.evaluate(x, t)
        assert labels.shape == (n,)
        prediction = x @ model.W.get_value() + model.b.get_value()
        np.testing.assert_allclose(mse, np.mean((prediction - t) ** 2), rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(labels, np.argmax(prediction, axis=1))


def test_least_squares_solves_the_normal_equations():
    rng = np.random.default_rng(2)
    x = rng.random((50, 6))
    targets = rng.random((50, 3))
    W, b = linear_regression.least_squares(x, targets)
    residual = x @ W + b - targets
    np.testing.assert_allclose(x.T @ residual, 0, atol=1e-10)
    np.testing.assert_allclose(residual.sum(axis=0), 0, atol=1e-10)


@pytest.mark.parametrize("script", ["softmax_regression.py", "linear_regression.py"])
def test_scripts_run_as_programs(script):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--batch-size" in result.stdout and "--data-dir" in result.stdout
