"""Adam written by hand with ``tf.Variable`` slots inside a ``@tf.function`` train step,
trained on MNIST through symgraph with only the import changed; optionally side by side
with ``tf.keras.optimizers.Adam``.

The optimizer keeps a first-moment slot ``m`` and a second-moment slot ``v`` (one
``tf.Variable`` each per weight) and a step counter Variable; each step updates them and
the weights with Kingma & Ba's bias correction, ``tf.pow(beta_1, t)`` and
``tf.pow(beta_2, t)``, in the paper's efficient form (Section 2: the last three lines of
Algorithm 1 reordered), the form TensorFlow's and Keras's Adam use::

    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    var  -= alpha * m / (sqrt(v) + epsilon)

The model is a 784-128-10 MLP of ``tf.Variable`` objects; one ``@tf.function`` train step
computes the loss under a ``tf.GradientTape`` and applies the hand-written Adam, so the
whole step (forward, gradients, the slot and weight updates) is one compiled C function.
With ``--compare``, a copy of the model starting from the same weights trains on the same
batches with ``tf.keras.optimizers.Adam`` and the example prints how far apart the two
end up. Only the import differs from the TensorFlow original::

    from symgraph import tf             # instead of: import tensorflow as tf

Run it::

    python examples/tf_adam_by_hand.py --compare

It reaches about 96% test accuracy after one epoch and 97.5% after the default five (a
second or two an epoch on two CPU cores). The two optimizers agree to float32 rounding
(about 1e-7) for the first few hundred steps; then somewhere a hidden unit's input lands
within rounding of 0, its ReLU is on in one model and off in the other, and from there
the weights drift apart (a few 1e-2 after an epoch, a few 1e-1 after five) while the
accuracies stay the same.
"""

from __future__ import annotations

import argparse
import math

from _data import DATA_DIR_HELP, default_data_dir

from symgraph import tf


class MLP:
    """784 -> hidden (ReLU) -> 10 logits, its weights plain ``tf.Variable`` objects."""

    def __init__(self, hidden=128):
        self.w1 = tf.Variable(tf.random.normal([784, hidden], stddev=math.sqrt(2.0 / 784)), name="w1")
        self.b1 = tf.Variable(tf.zeros([hidden]), name="b1")
        self.w2 = tf.Variable(tf.random.normal([hidden, 10], stddev=math.sqrt(2.0 / hidden)), name="w2")
        self.b2 = tf.Variable(tf.zeros([10]), name="b2")
        self.trainable_variables = [self.w1, self.b1, self.w2, self.b2]

    def __call__(self, x):
        h = tf.nn.relu(tf.matmul(x, self.w1) + self.b1)
        return tf.matmul(h, self.w2) + self.b2

    def copy(self):
        """A second model starting from these weights."""
        other = MLP(hidden=self.w1.shape[1])
        for mine, theirs in zip(self.trainable_variables, other.trainable_variables):
            theirs.assign(mine)
        return other


class Adam:
    """Adam (Kingma & Ba, 2015): slots ``m`` and ``v`` per variable and a step counter."""

    def __init__(self, variables, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        self.m = [tf.Variable(tf.zeros_like(var), trainable=False, name="m") for var in variables]
        self.v = [tf.Variable(tf.zeros_like(var), trainable=False, name="v") for var in variables]

    def apply_gradients(self, grads_and_vars):
        self.iterations.assign_add(1)
        t = tf.cast(self.iterations, tf.float32)
        alpha = self.learning_rate * tf.sqrt(1.0 - tf.pow(self.beta_2, t)) / (1.0 - tf.pow(self.beta_1, t))
        for (grad, var), m, v in zip(grads_and_vars, self.m, self.v):
            m.assign(self.beta_1 * m + (1.0 - self.beta_1) * grad)
            v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(grad))
            var.assign_sub(alpha * m / (tf.sqrt(v) + self.epsilon))


def loss_fn(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def make_train_step(model, optimizer):
    """A ``@tf.function`` step of ``model`` with ``optimizer`` (either Adam)."""

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return train_step


def accuracy(model, dataset):
    correct, total = 0, 0
    for x, y in dataset:
        predictions = tf.argmax(model(x), axis=1, output_type=tf.int32)
        correct += int(tf.reduce_sum(tf.cast(tf.equal(predictions, y), tf.int32)))
        total += int(tf.size(y))
    return correct / total


def max_difference(a, b):
    """The largest absolute difference between two models' weights."""
    return max(float(tf.reduce_max(tf.abs(u - v))) for u, v in zip(a.trainable_variables, b.trainable_variables))


def main(argv: list[str] | None = None, report: dict | None = None) -> float:
    """Train, print each epoch's mean loss and the test accuracy; return the accuracy.
    ``report``, when given, receives ``train_step``, and with ``--compare`` the keras
    model's accuracy (``keras_accuracy``) and the largest weight difference
    (``max_weight_difference``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--train-samples", type=int, default=60000, help="use the first N training images")
    parser.add_argument("--test-samples", type=int, default=10000, help="evaluate on the first N test images")
    parser.add_argument("--compare", action="store_true", help="also train a copy with tf.keras.optimizers.Adam")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)
    tf.random.set_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data(args.data_dir or default_data_dir())
    x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]
    x_test, y_test = x_test[: args.test_samples], y_test[: args.test_samples]
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    y_train, y_test = y_train.astype("int32"), y_test.astype("int32")

    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(args.batch_size)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(1000)

    model = MLP(hidden=args.hidden)
    train_step = make_train_step(model, Adam(model.trainable_variables, learning_rate=args.learning_rate))
    if args.compare:
        keras_model = model.copy()
        keras_step = make_train_step(keras_model, tf.keras.optimizers.Adam(learning_rate=args.learning_rate))

    for epoch in range(args.epochs):
        total, batches = 0.0, 0
        for x, y in train_ds:
            total += float(train_step(x, y))
            batches += 1
            if args.compare:
                keras_step(x, y)
        print(f"Epoch {epoch + 1}, Loss: {total / batches:.4f}")

    test_accuracy = accuracy(model, test_ds)
    print(f"Test accuracy (Adam by hand): {test_accuracy:.4f}")
    if report is not None:
        report.update(train_step=train_step)
    if args.compare:
        keras_accuracy = accuracy(keras_model, test_ds)
        difference = max_difference(model, keras_model)
        print(f"Test accuracy (tf.keras.optimizers.Adam): {keras_accuracy:.4f}")
        print(f"Largest weight difference between the two: {difference:.3g}")
        if report is not None:
            report.update(keras_accuracy=keras_accuracy, max_weight_difference=difference)
    return test_accuracy


if __name__ == "__main__":
    main()
