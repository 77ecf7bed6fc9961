"""TensorFlow's "Custom training: basics", unchanged but for the import, run through symgraph.

The tutorial fits a linear model ``y = W * x + b`` to noisy samples of ``y = 3x + 2``
with nothing but ``tf.Variable``, ``tf.GradientTape`` and ``assign_sub``: no layers, no
optimizer objects. Only the import differs from the TensorFlow original::

    from symgraph import tf             # instead of: import tensorflow as tf

The samples come from ``tf.random.normal`` (seeded with ``tf.random.set_seed``) and are
fed in shuffled minibatches through ``tf.data.Dataset.from_tensor_slices``. Each op runs
eagerly as it does in TensorFlow; the tape records the ones that read W and b and
``gradient`` differentiates them. Run it::

    python examples/tf_custom_training_basics.py --epochs 10

W and b approach the true 3 and 2 within a few epochs; the loss approaches the noise's
variance (1).
"""

from __future__ import annotations

import argparse

from _data import REPO_ROOT  # noqa: F401  (makes a checkout's symgraph importable)

from symgraph import tf

TRUE_W = 3.0
TRUE_B = 2.0


class Model:
    """``W * x + b``, starting from W = 5, b = 0 as the tutorial does."""

    def __init__(self):
        self.W = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def __call__(self, x):
        return self.W * x + self.b


def loss(target_y, predicted_y):
    return tf.reduce_mean(tf.square(target_y - predicted_y))


def train(model, x, y, learning_rate):
    with tf.GradientTape() as t:
        current_loss = loss(y, model(x))
    dW, db = t.gradient(current_loss, [model.W, model.b])
    model.W.assign_sub(learning_rate * dW)
    model.b.assign_sub(learning_rate * db)
    return current_loss


def main(argv: list[str] | None = None, report: dict | None = None) -> float:
    """Train, print W, b and the loss each epoch; return the final distance
    ``max(|W - 3|, |b - 2|)`` from the true parameters. ``report``, when given, receives
    the final ``W``, ``b`` and ``loss``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--train-samples", type=int, default=1000, help="how many noisy samples to draw")
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tf.random.set_seed(args.seed)

    inputs = tf.random.normal(shape=[args.train_samples])
    noise = tf.random.normal(shape=[args.train_samples])
    outputs = inputs * TRUE_W + TRUE_B + noise
    dataset = tf.data.Dataset.from_tensor_slices((inputs, outputs)).shuffle(args.train_samples).batch(args.batch_size)

    model = Model()
    print(f"Current loss: {loss(outputs, model(inputs)).numpy():1.6f}")
    for epoch in range(args.epochs):
        for x, y in dataset:
            train(model, x, y, learning_rate=args.learning_rate)
        current_loss = loss(outputs, model(inputs))
        print("Epoch %2d: W=%1.2f b=%1.2f, loss=%2.5f" % (epoch, model.W.numpy(), model.b.numpy(), current_loss))  # noqa: UP031

    W, b = float(model.W.numpy()), float(model.b.numpy())
    error = max(abs(W - TRUE_W), abs(b - TRUE_B))
    print(f"Final: W={W:1.4f} b={b:1.4f} (true W={TRUE_W:g} b={TRUE_B:g})")
    if report is not None:
        report.update(W=W, b=b, loss=float(loss(outputs, model(inputs)).numpy()))
    return error


if __name__ == "__main__":
    main()
