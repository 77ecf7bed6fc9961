"""symgraph's Keras facade (symgraph.keras): the same Keras models as the Keras peers
(benchmarks/peers/keras_models.py), trained with train_on_batch. The runner starts this
peer only when ``symgraph.keras`` imports; a layer the facade lacks skips its workload."""

from __future__ import annotations

from benchmarks.peers import keras_models

keras = None


def setup(variant: str) -> str:
    global keras
    import symgraph
    import symgraph.keras as keras_

    keras = keras_
    return f"symgraph {symgraph.__version__} (symgraph.keras)"


def _bound(workload, needs: tuple[str, ...]):
    def run(ctx) -> None:
        layers = getattr(keras, "layers", None)
        lacking = [name for name in needs if not hasattr(layers, name)]
        if lacking:
            ctx.record.skip(workload.__name__.upper(), f"symgraph.keras.layers has no {', '.join(lacking)} yet")
            return
        workload(keras, ctx)

    return run


def w8(ctx) -> None:
    from symgraph import tf  # the TensorFlow names of the tutorials, on symgraph

    keras_models.w8(keras, tf, ctx, fit_step=True)


WORKLOADS = {
    "W8": w8,
    "W3": _bound(keras_models.w3, ("Dense",)),
    "W4": _bound(keras_models.w4, ("Dense",)),
    "W5": _bound(keras_models.w5, ("Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense")),
    "W6": _bound(keras_models.w6, ("Embedding", "LSTM", "Dense")),
}
