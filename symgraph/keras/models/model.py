"""``keras.Model``: a layer with compile/fit/evaluate/predict.

``Model(inputs, outputs)`` builds a functional model (``Functional``); a subclass with its
own ``call(self, x, training=None)`` is a subclassed model. The training machinery lives
in ``symgraph.keras.trainer`` (``Trainer``): one compiled symgraph function per model for
the training step (forward, loss, gradients, optimizer, metric and batch-norm updates),
one for the evaluation step and one for inference, each cached and rebuilt only when the
compile settings, the trainable flags or the data's signature change.
"""

from __future__ import annotations

from typing import Any

from symgraph.keras import naming
from symgraph.keras.layers.layer import Layer
from symgraph.keras.trainer import Trainer


class Model(Trainer, Layer):
    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        functional_args = args or any(k in kwargs for k in ("inputs", "outputs", "input", "output"))
        if cls is Model and functional_args:
            # Cycle: functional.py defines Functional as a subclass of this Model.
            from symgraph.keras.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        if args or kwargs:
            raise TypeError(f"Unrecognized arguments passed to Model: {args} {kwargs}")
        Layer.__init__(
            self,
            name=name or naming.unique_name(naming.to_snake_case(type(self).__name__)),
            trainable=trainable,
            dtype=dtype,
        )
        Trainer.__init__(self)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    def summary(
        self,
        line_length: int | None = None,
        positions: list | None = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        # Cycle: summary.py imports models.functional, which subclasses this Model.
        from symgraph.keras.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, **kwargs: Any) -> None:
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def save(self, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}
