"""A one-input linear regression in Keras, trained by SGD through symgraph.

The first model of many tutorials: y = 2x + 1 plus noise, one Dense unit, mean squared
error, plain SGD. Only the import differs from Keras::

    python examples/keras_linear_regression.py

It prints the learned slope and intercept (close to 2 and 1).
"""

from __future__ import annotations

import argparse

import _data  # noqa: F401  (makes a checkout's symgraph importable)
import numpy as np

from symgraph import keras


def main(argv: list[str] | None = None) -> tuple[float, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    x = np.linspace(-1, 1, 200).astype("float32").reshape(-1, 1)
    y = 2 * x + 1 + np.random.normal(0, 0.05, x.shape).astype("float32")

    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=args.epochs, batch_size=20, verbose=args.verbose)
    slope, intercept = (float(v.ravel()[0]) for v in model.get_weights())
    print(f"final loss {history.history['loss'][-1]:.5f}; learned y = {slope:.3f} x + {intercept:.3f}")
    return slope, intercept


if __name__ == "__main__":
    main()
