"""``InputSpec``: what a layer accepts (rank, fixed sizes on some axes), and the check
with Keras' messages (Keras 3's ``layers/input_spec.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: layer.py imports this module
    from symgraph.keras.layers.layer import Layer


class InputSpec:
    """What a layer accepts: rank (exact or minimum) and fixed sizes on some axes."""

    def __init__(
        self,
        ndim: int | None = None,
        min_ndim: int | None = None,
        max_ndim: int | None = None,
        axes: dict[int, int] | None = None,
        shape: tuple | None = None,
        dtype: Any = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
    ):
        self.ndim = len(shape) if shape is not None else ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.shape = shape


def check_input_spec(layer: Layer, index: int, shape: tuple) -> None:
    """Keras' message for an input that does not fit, naming the layer and the shapes."""
    spec = layer.input_spec
    if spec is None:
        return
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    if index >= len(specs) or specs[index] is None:
        return
    spec = specs[index]
    head = f'Input {index} of layer "{layer.name}" is incompatible with the layer: '
    rank = len(shape)
    if spec.ndim is not None and rank != spec.ndim:
        raise ValueError(f"{head}expected ndim={spec.ndim}, found ndim={rank}. Full shape received: {shape}")
    if spec.min_ndim is not None and rank < spec.min_ndim:
        raise ValueError(f"{head}expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape received: {shape}")
    if spec.max_ndim is not None and rank > spec.max_ndim:
        raise ValueError(f"{head}expected max_ndim={spec.max_ndim}, found ndim={rank}. Full shape received: {shape}")
    for axis, value in spec.axes.items():
        if value is None or not -rank <= axis < rank:
            continue
        got = shape[axis]
        if got is not None and got != value:
            raise ValueError(
                f"{head}expected axis {axis} of input shape to have value {value}, "
                f"but received input with shape {shape}"
            )
    if spec.shape is not None:
        for want, got in zip(spec.shape, shape):
            if want is not None and got is not None and want != got:
                raise ValueError(f"{head}expected shape={spec.shape}, found shape={shape}")
