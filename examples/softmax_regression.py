"""Softmax regression (multinomial logistic regression) on MNIST, the Theano way.

What it shows:

- the define-then-run style: symbolic placeholders ``x`` (a batch of 784-pixel rows)
  and ``y`` (their labels), shared ``Variable``s ``W`` and ``b`` for the weights;
- a loss written with numpy-named ops, ``mean(sparse_softmax_cross_entropy(x @ W + b, y))``,
  and its gradients built as more graph by ``sg.grad``;
- one ``sg.function`` that runs a whole SGD step: it returns the minibatch loss and
  applies ``updates`` (``W <- W - lr * gW``, ``b <- b - lr * gb``) to the Variables;
- a second compiled function, ``predict``, reading the same Variables;
- compiled once, called on every minibatch: the batch axis is ``None``, so one compiled
  function serves any batch size (the last, shorter minibatch and the whole test set).

Run it (well under a second per epoch, even in the numpy mode)::

    python examples/softmax_regression.py --epochs 3

It reaches about 92% test accuracy, the classic result for a linear softmax classifier.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
from _data import default_data_dir, load_mnist, training_arguments

import symgraph as sg


def build_model(lr: float = 0.5, mode: str | None = None) -> SimpleNamespace:
    """The graph and its two compiled functions: ``train(x, y) -> loss`` and ``predict(x) -> labels``."""
    x = sg.placeholder((None, 784), "float32", name="x")
    y = sg.placeholder((None,), "int32", name="y")
    W = sg.Variable(np.zeros((784, 10), "float32"), name="W")
    b = sg.Variable(np.zeros(10, "float32"), name="b")

    logits = x @ W + b
    loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(logits, y))
    gW, gb = sg.grad(loss, [W, b])

    train = sg.function(
        [x, y],
        loss,
        updates=[(W, W - lr * gW), (b, b - lr * gb)],
        mode=mode,
        name="train",
    )
    predict = sg.function([x], sg.argmax(logits, axis=1), mode=mode, name="predict")
    return SimpleNamespace(x=x, y=y, W=W, b=b, loss=loss, train=train, predict=predict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = training_arguments(__doc__.split("\n")[0], epochs=3, lr=0.5, lr_help="SGD learning rate")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    """Train, print the loss per epoch and the test accuracy; return the final test accuracy."""
    args = parse_args(argv)
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir or default_data_dir())
    model = build_model(lr=args.lr, mode=args.mode)
    rng = np.random.default_rng(args.seed)

    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            batch = order[i : i + args.batch_size]
            total += float(model.train(x_train[batch], y_train[batch])) * len(batch)
            seen += len(batch)
        accuracy = float(np.mean(model.predict(x_test) == y_test))
        print(
            f"epoch {epoch}/{args.epochs}  train loss {total / seen:.4f}  "
            f"test accuracy {accuracy:.2%}  ({time.perf_counter() - start:.2f} s)"
        )
    print(f"test accuracy: {accuracy:.2%}")
    return accuracy


if __name__ == "__main__":
    main()
