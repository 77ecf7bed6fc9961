"""A Sequential CNN with BatchNormalization, on MNIST (or random images for a quick look).

Conv2D - BatchNormalization - ReLU blocks (the convolution without bias, as usual before
batch norm), max pooling, global average pooling and a softmax. Training uses the batch
statistics and moves the moving mean and variance (momentum 0.99) inside the compiled
train step; evaluation and prediction use the moving statistics. Run it::

    python examples/keras_cnn_batchnorm.py --epochs 1
    python examples/keras_cnn_batchnorm.py --random   # no data set needed
"""

from __future__ import annotations

import argparse

import numpy as np
from _data import DATA_DIR_HELP, default_data_dir

from symgraph import keras
from symgraph.keras import layers


def build_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-samples", type=int, default=60000)
    parser.add_argument("--random", action="store_true", help="random images instead of MNIST")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    if args.random:
        x_train = np.random.rand(256, 28, 28, 1).astype("float32")
        y_train = np.random.randint(0, 10, 256)
        x_test, y_test = x_train[:64], y_train[:64]
    else:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(args.data_dir or default_data_dir())
        x_train = x_train[: args.train_samples, :, :, None].astype("float32") / 255
        y_train = y_train[: args.train_samples]
        x_test = x_test[:, :, :, None].astype("float32") / 255
    model = build_model()
    model.summary()
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=args.verbose)
    moving_mean = model.layers[1].moving_mean.numpy()
    print("first BatchNormalization moving mean (first 4 channels):", np.round(moving_mean[:4], 4))
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"Test loss: {loss:.4f}  Test accuracy: {accuracy:.4f}")
    return float(accuracy)


if __name__ == "__main__":
    main()
