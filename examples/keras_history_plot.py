"""Training curves from ``History``: loss and accuracy per epoch, train and validation.

``model.fit`` returns a History whose ``history`` dict maps each logged name (loss,
accuracy, val_loss, val_accuracy) to its per-epoch values, exactly as Keras does. With
matplotlib installed the curves are saved as a PNG; without it they are printed as a
text chart. Run it::

    python examples/keras_history_plot.py --out curves.png
"""

from __future__ import annotations

import argparse

import _data  # noqa: F401  (makes a checkout's symgraph importable)
import numpy as np

from symgraph import keras
from symgraph.keras import layers


def text_chart(history: dict, width: int = 40) -> str:
    lines = []
    for key in sorted(history):
        values = np.asarray(history[key])
        low, high = float(values.min()), float(values.max())
        lines.append(f"{key} ({low:.4f} .. {high:.4f})")
        for epoch, v in enumerate(values, 1):
            filled = int(round((v - low) / (high - low + 1e-12) * width))
            lines.append(f"  epoch {epoch:3d} {'#' * filled:<{width}} {v:.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", default="training_curves.png")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1500, 2)).astype("float32")
    y = ((x[:, 0] ** 2 + x[:, 1] ** 2) < 1.2).astype("int32")  # a disc: not linearly separable

    model = keras.Sequential(
        [keras.Input((2,)), layers.Dense(32, activation="relu"), layers.Dense(2, activation="softmax")]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=args.epochs, batch_size=32, validation_split=0.2, verbose=0)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(text_chart(history.history))
        return history.history
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(history.epoch, history.history[key], label=key)
        ax.plot(history.epoch, history.history["val_" + key], label="val_" + key)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.savefig(args.out)
    print(f"saved {args.out}")
    return history.history


if __name__ == "__main__":
    main()
