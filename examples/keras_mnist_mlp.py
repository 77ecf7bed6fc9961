"""The Keras MNIST MLP tutorial, unchanged but for the import, trained through symgraph.

The classic ``mnist_mlp.py`` from the Keras examples: two hidden Dense layers of 512
ReLU units with Dropout 0.2, a softmax over the 10 digits, RMSprop, categorical
cross-entropy on one-hot labels. Only the import differs from the Keras original::

    from symgraph import keras          # instead of: import keras

``model.fit`` runs one compiled C function per batch (forward, loss, gradients, RMSprop
and the metric accumulators together); ``model.evaluate`` another. Run it::

    python examples/keras_mnist_mlp.py --epochs 5

It reaches about 98% test accuracy after a few epochs (the original trains 20).
"""

from __future__ import annotations

import argparse

from _data import DATA_DIR_HELP, default_data_dir

from symgraph import keras


def build_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    return model


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-samples", type=int, default=60000, help="use the first N training images")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(args.data_dir or default_data_dir())
    x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(10000, 784).astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    model = build_model()
    model.summary()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=args.verbose,
        validation_data=(x_test, y_test),
    )
    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", score[0])
    print("Test accuracy:", score[1])
    return float(score[1])


if __name__ == "__main__":
    main()
