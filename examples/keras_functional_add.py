"""A functional model with two inputs joined by ``Add``: y = f(a) + g(b).

Two branches, one per input, each a small Dense stack; ``layers.Add()`` joins them and a
last Dense maps to the target. The target is a known function of both inputs, so the
fitted model's error shows that both branches learn. Run it::

    python examples/keras_functional_add.py
"""

from __future__ import annotations

import argparse

import _data  # noqa: F401  (makes a checkout's symgraph importable)
import numpy as np

from symgraph import keras
from symgraph.keras import layers


def build_model() -> keras.Model:
    input_a = keras.Input(shape=(4,), name="a")
    input_b = keras.Input(shape=(3,), name="b")
    branch_a = layers.Dense(16, activation="tanh")(input_a)
    branch_b = layers.Dense(16, activation="tanh")(input_b)
    joined = layers.Add()([branch_a, branch_b])
    output = layers.Dense(1, name="y")(joined)
    model = keras.Model(inputs=[input_a, input_b], outputs=output)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2000, 4)).astype("float32")
    b = rng.uniform(-1, 1, (2000, 3)).astype("float32")
    y = (np.sin(a[:, :1] * 2) + 0.5 * b[:, 1:2] ** 2 - a[:, 2:3] * b[:, :1]).astype("float32")

    model = build_model()
    model.summary()
    model.fit([a, b], y, epochs=args.epochs, batch_size=32, validation_split=0.2, verbose=args.verbose)
    loss, mae = model.evaluate({"a": a[-400:], "b": b[-400:]}, y[-400:], verbose=0)
    print(f"validation mse {loss:.4f}, mae {mae:.4f} (target variance {float(y.var()):.4f})")
    return float(loss)


if __name__ == "__main__":
    main()
