"""The MNIST CNN tutorial in Keras, trained through symgraph (> 98% test accuracy).

Conv2D 32 5x5 relu, MaxPool, Conv2D 64 5x5 relu, MaxPool, Flatten, Dense 128 relu,
Dropout 0.2, Dense 10 softmax; Adam on sparse categorical cross-entropy. Only the import
differs from Keras::

    python examples/keras_mnist_cnn.py --epochs 2

Each ``fit`` step is one compiled C call: convolutions, pooling, their gradients, Adam
and the accuracy accumulators. Two epochs reach about 98.5-99% test accuracy.
"""

from __future__ import annotations

import argparse

from _data import DATA_DIR_HELP, default_data_dir

from symgraph import keras
from symgraph.keras import layers


def build_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, (5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-samples", type=int, default=60000, help="use the first N training images")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(args.data_dir or default_data_dir())
    x_train = (x_train[: args.train_samples].astype("float32") / 255).reshape(-1, 28, 28, 1)
    y_train = y_train[: args.train_samples]
    x_test = (x_test.astype("float32") / 255).reshape(-1, 28, 28, 1)

    model = build_model()
    model.summary()
    model.fit(
        x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose, validation_split=0.1
    )
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {accuracy:.4f}")
    return float(accuracy)


if __name__ == "__main__":
    main()
