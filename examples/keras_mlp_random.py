"""The Keras guide's 10-class MLP on random data, with ``to_categorical`` labels.

From the Keras 2 "getting started with the Sequential model" guide: 1000 samples of 20
random features, 10 random classes one-hot encoded, Dense 64 - Dropout - Dense 64 -
Dropout - softmax, SGD with Nesterov momentum. Random labels teach nothing: the script
shows the API and that training lowers the loss on the data it sees. Run it::

    python examples/keras_mlp_random.py
"""

from __future__ import annotations

import argparse

import _data  # noqa: F401  (makes a checkout's symgraph importable)
import numpy as np

from symgraph import keras
from symgraph.keras.layers import Dense, Dropout


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    x_train = np.random.random((1000, 20))
    y_train = keras.utils.to_categorical(np.random.randint(10, size=(1000, 1)), num_classes=10)
    x_test = np.random.random((100, 20))
    y_test = keras.utils.to_categorical(np.random.randint(10, size=(100, 1)), num_classes=10)

    model = keras.Sequential()
    model.add(Dense(64, activation="relu", input_dim=20))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))

    sgd = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=128, verbose=args.verbose)
    score = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    print("test loss, test accuracy:", score)
    return history.history


if __name__ == "__main__":
    main()
