"""The TensorFlow-style examples (examples/tf_*.py): each runs on a small slice of its data
and does what its docstring promises.

The MNIST runs read the copy the repository ships (examples/data/mnist) with the network
shut, as tests/test_examples.py does. Settings and thresholds: measured accuracies on the
full test set after one epoch are about 0.90 for the hand-written Dense MLP on 10,000
images, 0.90 for the hand-written Adam on 5,000 and 0.83 for the experts CNN on 2,000
(against 1,000 test images); the thresholds leave a margin of several points.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import tf_adam_by_hand  # noqa: E402
import tf_custom_training_basics  # noqa: E402
import tf_dense_by_hand  # noqa: E402
import tf_mnist_experts  # noqa: E402

from symgraph import tf  # noqa: E402


@pytest.fixture
def offline(monkeypatch):
    """No MNIST directory from the environment, and a download URL that refuses."""
    monkeypatch.delenv("SYMGRAPH_MNIST_DIR", raising=False)
    monkeypatch.setenv("SYMGRAPH_MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # discard port: refused


def test_custom_training_basics_finds_w_3_and_b_2(capsys):
    report = {}
    error = tf_custom_training_basics.main(["--epochs", "10", "--seed", "0"], report=report)
    assert error < 0.15
    assert report["W"] == pytest.approx(3.0, abs=0.15) and report["b"] == pytest.approx(2.0, abs=0.15)
    assert report["loss"] < 1.2  # the noise's variance is 1
    out = capsys.readouterr().out
    assert "Epoch  9: W=" in out and "loss=" in out


def test_custom_training_train_is_one_sgd_step():
    """``train`` moves W and b by -lr times the derivatives of the mean squared error."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16).astype("float32")
    y = (3 * x + 2 + rng.standard_normal(16)).astype("float32")
    model = tf_custom_training_basics.Model()
    loss = tf_custom_training_basics.train(model, tf.constant(x), tf.constant(y), learning_rate=0.1)
    residual = 5.0 * x + 0.0 - y
    assert float(loss) == pytest.approx(np.mean(residual**2), rel=1e-5)
    assert float(model.W.numpy()) == pytest.approx(5.0 - 0.1 * np.mean(2 * residual * x), rel=1e-5)
    assert float(model.b.numpy()) == pytest.approx(0.0 - 0.1 * np.mean(2 * residual), rel=1e-5, abs=1e-6)


def test_dense_by_hand_learns_mnist(offline, capsys):
    report = {}
    # 9,990 images: 312 full batches of 32 and a short one of 6, the same compiled step
    accuracy = tf_dense_by_hand.main(["--epochs", "1", "--train-samples", "9990"], report=report)
    assert accuracy > 0.85
    assert report["train_step"].trace_count == 1
    out = capsys.readouterr().out
    assert "Epoch 1, Loss: " in out and "Test accuracy: " in out


def test_adam_by_hand_learns_mnist_and_agrees_with_keras_adam(offline, capsys):
    report = {}
    accuracy = tf_adam_by_hand.main(["--epochs", "1", "--train-samples", "5000", "--compare"], report=report)
    assert accuracy > 0.85
    assert report["train_step"].trace_count == 1
    # 157 steps from the same weights on the same batches: float32 rounding apart (~1e-7)
    assert report["max_weight_difference"] < 1e-5
    assert report["keras_accuracy"] == pytest.approx(accuracy, abs=0.002)
    assert "Largest weight difference between the two" in capsys.readouterr().out


def test_adam_by_hand_step_matches_the_formula():
    """One step of the hand-written Adam from zero slots, against numpy in float64."""
    var = tf.Variable(np.array([1.0, -2.0, 0.5], "float32"))
    grads = [np.array([0.1, -0.3, 0.0], "float32"), np.array([0.2, 0.1, -0.4], "float32")]
    adam = tf_adam_by_hand.Adam([var], learning_rate=0.01)

    @tf.function
    def step(g):
        adam.apply_gradients([(g, var)])

    value, m, v = var.numpy().astype("float64"), np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, start=1):
        step(g)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g.astype("float64") ** 2
        alpha = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        value = value - alpha * m / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(var.numpy(), value, rtol=1e-5, atol=1e-7)
    assert int(adam.iterations.numpy()) == 2
    assert step.trace_count == 1


def test_mnist_experts_trains_and_traces_each_step_once(offline, capsys):
    report = {}
    # 2,000 and 1,000 images in batches of 32: a short last batch in each pipeline
    accuracy = tf_mnist_experts.main(
        ["--epochs", "1", "--train-samples", "2000", "--test-samples", "1000"], report=report
    )
    assert accuracy > 0.6  # chance is 0.1; measured about 0.83
    assert report["train_accuracy"] > 0.5
    assert report["train_step"].trace_count == 1
    assert report["test_step"].trace_count == 1
    line = capsys.readouterr().out.strip().splitlines()[-1]
    match = re.fullmatch(
        r"Epoch 1, Loss: ([\d.]+), Accuracy: ([\d.]+), Test Loss: ([\d.]+), Test Accuracy: ([\d.]+)", line
    )
    assert match, line
    assert float(match.group(4)) == pytest.approx(100 * accuracy, abs=0.01)
    assert float(match.group(1)) == pytest.approx(report["train_loss"], abs=0.01)
