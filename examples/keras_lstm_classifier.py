"""An Embedding + LSTM sequence classifier (the IMDB tutorial's model) on synthetic text.

The Keras IMDB example embeds word ids, runs an LSTM and classifies with a sigmoid.
No data set ships here, so the "reviews" are synthetic: sequences of word ids where a
few "positive" and "negative" words decide the label, placed at random positions among
neutral words. The LSTM has to find and count them. Run it::

    python examples/keras_lstm_classifier.py
"""

from __future__ import annotations

import argparse

import _data  # noqa: F401  (makes a checkout's symgraph importable)
import numpy as np

from symgraph import keras
from symgraph.keras import layers

VOCAB, LENGTH = 200, 40
POSITIVE, NEGATIVE = np.arange(1, 6), np.arange(6, 11)


def make_reviews(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.integers(11, VOCAB, (n, LENGTH))
    y = rng.integers(0, 2, n)
    for i in range(n):
        words = rng.choice(POSITIVE if y[i] else NEGATIVE, 3)
        x[i, rng.choice(LENGTH, 3, replace=False)] = words
    return x.astype("int32"), y.astype("float32")


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = make_reviews(2000, rng)
    x_test, y_test = make_reviews(500, rng)

    model = keras.Sequential(
        [
            keras.Input(shape=(LENGTH,), dtype="int32"),
            layers.Embedding(VOCAB, 32),
            layers.LSTM(32),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(
        x_train, y_train, batch_size=32, epochs=args.epochs, validation_data=(x_test, y_test), verbose=args.verbose
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}  Test accuracy: {accuracy:.4f}")
    return float(accuracy)


if __name__ == "__main__":
    main()
