"""TensorFlow's "TensorFlow 2 quickstart for experts", unchanged but for the imports, run
through symgraph.

The tutorial subclasses ``tf.keras.Model`` (Conv2D 32 3x3 ReLU, Flatten, Dense 128 ReLU,
Dense 10 logits), takes ``SparseCategoricalCrossentropy(from_logits=True)`` and
``Adam()``, keeps ``Mean`` and ``SparseCategoricalAccuracy`` metric objects for training
and testing, and writes its own ``@tf.function`` ``train_step`` (a ``tf.GradientTape``,
``apply_gradients``, the metric updates) and ``test_step`` over ``tf.data`` pipelines.
Only the imports differ from the TensorFlow original::

    from symgraph import tf             # instead of: import tensorflow as tf

Each step function is traced once into one compiled C function: the forward pass, the
loss, the gradients, Adam's slot and weight updates and the metric accumulators together;
every later batch, the last short one of an epoch included, runs that C. Run it::

    python examples/tf_mnist_experts.py

As the tutorial, it trains 5 epochs on all 60,000 images to about 98% test accuracy
(about 15 seconds an epoch on two CPU cores); ``--epochs 1 --train-samples 10000`` is a
quick look (about 95%).
"""

from __future__ import annotations

import argparse

from _data import DATA_DIR_HELP, default_data_dir
from symgraph.tf.keras import Model
from symgraph.tf.keras.layers import Conv2D, Dense, Flatten

from symgraph import tf


class MyModel(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(32, 3, activation="relu")
        self.flatten = Flatten()
        self.d1 = Dense(128, activation="relu")
        self.d2 = Dense(10)

    def call(self, x):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


def main(argv: list[str] | None = None, report: dict | None = None) -> float:
    """Train, print the tutorial's line each epoch; return the last epoch's test accuracy
    (a fraction). ``report``, when given, receives ``train_step``, ``test_step`` (the
    traced functions) and the last epoch's ``train_loss``, ``train_accuracy``,
    ``test_loss``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="the tutorial's EPOCHS")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-samples", type=int, default=60000, help="use the first N training images")
    parser.add_argument("--test-samples", type=int, default=10000, help="evaluate on the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)
    tf.random.set_seed(args.seed)

    mnist = tf.keras.datasets.mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data(args.data_dir or default_data_dir())
    x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]
    x_test, y_test = x_test[: args.test_samples], y_test[: args.test_samples]
    x_train, x_test = x_train / 255.0, x_test / 255.0

    # Add a channels dimension
    x_train = x_train[..., tf.newaxis].astype("float32")
    x_test = x_test[..., tf.newaxis].astype("float32")

    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(args.batch_size)

    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(args.batch_size)

    # Create an instance of the model
    model = MyModel()

    loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    optimizer = tf.keras.optimizers.Adam()

    train_loss = tf.keras.metrics.Mean(name="train_loss")
    train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")

    test_loss = tf.keras.metrics.Mean(name="test_loss")
    test_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            # training=True is only needed if there are layers with different
            # behavior during training versus inference (e.g. Dropout).
            predictions = model(images, training=True)
            loss = loss_object(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

        train_loss(loss)
        train_accuracy(labels, predictions)

    @tf.function
    def test_step(images, labels):
        # training=False is only needed if there are layers with different
        # behavior during training versus inference (e.g. Dropout).
        predictions = model(images, training=False)
        t_loss = loss_object(labels, predictions)

        test_loss(t_loss)
        test_accuracy(labels, predictions)

    EPOCHS = args.epochs

    for epoch in range(EPOCHS):
        # Reset the metrics at the start of the next epoch
        train_loss.reset_state()
        train_accuracy.reset_state()
        test_loss.reset_state()
        test_accuracy.reset_state()

        for images, labels in train_ds:
            train_step(images, labels)

        for test_images, test_labels in test_ds:
            test_step(test_images, test_labels)

        print(
            f"Epoch {epoch + 1}, "
            f"Loss: {train_loss.result():0.2f}, "
            f"Accuracy: {train_accuracy.result() * 100:0.2f}, "
            f"Test Loss: {test_loss.result():0.2f}, "
            f"Test Accuracy: {test_accuracy.result() * 100:0.2f}"
        )

    if report is not None:
        report.update(
            train_step=train_step,
            test_step=test_step,
            train_loss=float(train_loss.result()),
            train_accuracy=float(train_accuracy.result()),
            test_loss=float(test_loss.result()),
        )
    return float(test_accuracy.result())


if __name__ == "__main__":
    main()
