"""W3..W6 written once against the Keras API, for every module that offers it: Keras 3 on
the TensorFlow or JAX backend, and symgraph.keras. Training is ``train_on_batch`` with
numpy inputs, inference ``predict_on_batch``: what a Keras user calls. W8 is the custom
step of the TensorFlow 2 tutorials, for the modules with a ``tf`` (TensorFlow itself,
symgraph.tf): a GradientTape and ``apply_gradients``, traced and eager."""

from __future__ import annotations

from benchmarks import spec


def mlp(keras, sizes: spec.Sizes):
    """W3's network; the softmax is in the last layer and the loss takes probabilities."""
    layers = [keras.Input((sizes.mlp[0],))]
    layers += [keras.layers.Dense(n, activation="relu") for n in sizes.mlp[1:-1]]
    return keras.Sequential([*layers, keras.layers.Dense(sizes.mlp[-1], activation="softmax")])


def cnn(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.Conv2D(32, 5, activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(64, 5, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dropout(0.2),
            L.Dense(10, activation="softmax"),
        ]
    )


def lstm(keras, sizes: spec.Sizes):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((sizes.lstm_steps,), dtype="int32"),
            L.Embedding(sizes.lstm_vocab, sizes.lstm_embed),
            L.LSTM(sizes.lstm_hidden),
            L.Dense(1, activation="sigmoid"),
        ]
    )


def compiled(keras, model, loss: str):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss)
    return model


def w3_step(keras, sizes: spec.Sizes):
    model = compiled(keras, mlp(keras, sizes), "sparse_categorical_crossentropy")
    x, y = spec.mlp_data(sizes)
    return lambda: model.train_on_batch(x, y)


def w3(keras, ctx) -> None:
    ctx.record.timing("W3", "train step", "ms/step", 1e3, ctx.time(w3_step(keras, ctx.sizes)), how="train_on_batch")


def w4(keras, ctx) -> None:
    model = compiled(keras, mlp(keras, ctx.sizes), "sparse_categorical_crossentropy")
    for batch in ctx.sizes.w4_batches:
        x = spec.mlp_data(ctx.sizes, batch)[0]
        timing = ctx.time(lambda x=x: model.predict_on_batch(x))
        ctx.record.timing("W4", *spec.w4_case(batch), timing, how="predict_on_batch")


def w5(keras, ctx) -> None:
    model = compiled(keras, cnn(keras), "sparse_categorical_crossentropy")
    x, y = spec.cnn_data(ctx.sizes)
    ctx.record.timing("W5", "train step", "ms/step", 1e3, ctx.time(lambda: model.train_on_batch(x, y)))


def w6(keras, ctx) -> None:
    model = compiled(keras, lstm(keras, ctx.sizes), "binary_crossentropy")
    x, y = spec.lstm_data(ctx.sizes)
    ctx.record.timing("W6", "train step", "ms/step", 1e3, ctx.time(lambda: model.train_on_batch(x, y)))


def w7(keras, ctx) -> None:
    ctx.compile_time(lambda: w3_step(keras, ctx.sizes))


def logits_mlp(keras, sizes: spec.Sizes):
    """W8's network: W3's with logits out (the tutorials' ``from_logits=True`` loss)."""
    layers = [keras.Input((sizes.mlp[0],))]
    layers += [keras.layers.Dense(n, activation="relu") for n in sizes.mlp[1:-1]]
    return keras.Sequential([*layers, keras.layers.Dense(sizes.mlp[-1])])


def w8(keras, tf, ctx, fit_step: bool = False) -> None:
    """The tutorials' custom step, traced by ``tf.function`` and run eagerly; with
    ``fit_step`` also the same model's ``train_on_batch`` (the traced step's yardstick)."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def custom_step():
        model, opt = logits_mlp(keras, ctx.sizes), keras.optimizers.Adam(1e-3)

        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        return step

    x, y = (tf.constant(v) for v in spec.mlp_data(ctx.sizes))
    traced = tf.function(custom_step())
    ctx.record.timing("W8", "traced step", "ms/step", 1e3, ctx.time(lambda: traced(x, y)), how="tf.function")
    eager = custom_step()
    ctx.record.timing("W8", "eager step", "ms/step", 1e3, ctx.time(lambda: eager(x, y)), how="eager")
    if fit_step:
        model = logits_mlp(keras, ctx.sizes)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss_fn)
        xn, yn = spec.mlp_data(ctx.sizes)
        timing = ctx.time(lambda: model.train_on_batch(xn, yn))
        ctx.record.timing("W8", "fit step", "ms/step", 1e3, timing, how="train_on_batch, the same model")
