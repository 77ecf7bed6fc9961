"""Linear regression on MNIST: least squares by minibatch SGD, checked against the closed form.

Each image (784 pixels in [0, 1]) is mapped linearly to 10 outputs, ``x @ W + b``,
fitted to the one-hot encoding of its label by minimising the mean squared error. The
predicted digit is the output closest to 1, ``argmax``: this is the linear
least-squares classifier, which gets about 86% of MNIST's test digits right (softmax
regression, the next example, gets about 92%).

What it shows:

- placeholders ``x`` (pixels) and ``t`` (one-hot targets, a float32 matrix), Variables
  ``W`` and ``b``, the loss ``mean((x @ W + b - t) ** 2)``, gradients from ``sg.grad``;
- one compiled ``sg.function`` per job: ``train`` returns the minibatch MSE and applies
  the SGD ``updates`` to the Variables; ``evaluate`` returns the MSE and the predicted
  labels without touching them. The batch axis is ``None``: one compile serves
  minibatches, the last short one and the whole test set;
- a sanity check: the same problem solved in closed form with ``np.linalg.lstsq`` on a
  subset of the training images. On those images no linear model has a lower MSE, so
  the SGD model's MSE there approaches it from above; on the test set SGD, which saw
  all 60000 images, usually does better than the closed form fitted to the subset.

Run it (symgraph importable, e.g. after ``pip install -e .``)::

    python examples/linear_regression.py --epochs 2

The MSE surface is badly conditioned (the mean image is a direction of large
curvature), so the learning rate must stay small: about 0.3 diverges.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
from _data import default_data_dir, load_mnist, one_hot, training_arguments

import symgraph as sg


def build_model(lr: float = 0.1, mode: str | None = None) -> SimpleNamespace:
    """The graph and its compiled functions: ``train(x, t) -> mse`` and ``evaluate(x, t) -> [mse, labels]``."""
    x = sg.placeholder((None, 784), "float32", name="x")
    t = sg.placeholder((None, 10), "float32", name="t")
    W = sg.Variable(np.zeros((784, 10), "float32"), name="W")
    b = sg.Variable(np.zeros(10, "float32"), name="b")

    prediction = x @ W + b
    mse = sg.mean((prediction - t) ** 2)
    gW, gb = sg.grad(mse, [W, b])

    train = sg.function(
        [x, t],
        mse,
        updates=[(W, W - lr * gW), (b, b - lr * gb)],
        mode=mode,
        name="train",
    )
    evaluate = sg.function([x, t], [mse, sg.argmax(prediction, axis=1)], mode=mode, name="evaluate")
    return SimpleNamespace(x=x, t=t, W=W, b=b, mse=mse, train=train, evaluate=evaluate)


def least_squares(x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closed-form fit: ``W, b`` minimising ``mean((x @ W + b - targets) ** 2)``."""
    design = np.hstack([x, np.ones((len(x), 1), x.dtype)])
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return solution[:-1], solution[-1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = training_arguments(
        __doc__.split("\n")[0], epochs=2, lr=0.1, lr_help="SGD learning rate (0.3 and above diverge)"
    )
    parser.add_argument(
        "--lstsq-samples",
        type=int,
        default=20000,
        help="training images the closed-form solution is fitted to (0: skip it)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    """Train, print the MSE and accuracy per epoch and the closed-form comparison; return the test accuracy."""
    args = parse_args(argv)
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir or default_data_dir())
    t_train, t_test = one_hot(y_train), one_hot(y_test)
    model = build_model(lr=args.lr, mode=args.mode)
    rng = np.random.default_rng(args.seed)

    accuracy, test_mse = 0.0, float("nan")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        total, seen = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            batch = order[i : i + args.batch_size]
            total += float(model.train(x_train[batch], t_train[batch])) * len(batch)
            seen += len(batch)
        test_mse, labels = model.evaluate(x_test, t_test)
        accuracy = float(np.mean(labels == y_test))
        print(
            f"epoch {epoch}/{args.epochs}  train MSE {total / seen:.5f}  test MSE {float(test_mse):.5f}  "
            f"test accuracy {accuracy:.2%}  ({time.perf_counter() - start:.2f} s)"
        )

    n = min(args.lstsq_samples, len(x_train))
    if n > 0:
        start = time.perf_counter()
        x_fit, t_fit = x_train[:n], t_train[:n]
        W, b = least_squares(x_fit, t_fit)
        fit_mse = float(np.mean((x_fit @ W + b - t_fit) ** 2))
        sgd_fit_mse, _ = model.evaluate(x_fit, t_fit)
        closed_test = x_test @ W + b
        closed_mse = float(np.mean((closed_test - t_test) ** 2))
        closed_accuracy = float(np.mean(closed_test.argmax(axis=1) == y_test))
        print(f"closed form: np.linalg.lstsq on the first {n} training images ({time.perf_counter() - start:.2f} s)")
        print(f"  MSE on those images  closed form {fit_mse:.5f} (the minimum)  SGD {float(sgd_fit_mse):.5f}")
        print(f"  test MSE             closed form {closed_mse:.5f}  SGD {float(test_mse):.5f}")
        print(f"  test accuracy        closed form {closed_accuracy:.2%}  SGD {accuracy:.2%}")
    print(f"test accuracy: {accuracy:.2%}")
    return accuracy


if __name__ == "__main__":
    main()
