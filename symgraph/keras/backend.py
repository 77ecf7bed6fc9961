"""``keras.backend``: the global settings Keras keeps (floatx, epsilon, image data format)
and ``clear_session``, which restarts the automatic layer names."""

from __future__ import annotations

from symgraph.keras import naming

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"


def floatx() -> str:
    """The default float dtype of weights and inputs (``"float32"``)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; expected float16, float32 or float64")
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor Keras adds against division by zero (1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (NHWC, the default) or ``"channels_first"`` (NCHW)."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"The `data_format` argument must be one of channels_first, channels_last. Got {data_format!r}"
        )
    _IMAGE_DATA_FORMAT = data_format


def standardize_data_format(data_format: str | None) -> str:
    """``data_format`` checked, or the global one when it is None."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    fmt = str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            f"The `data_format` argument must be one of channels_first, channels_last. Got {data_format!r}"
        )
    return fmt


def clear_session() -> None:
    """Forget the automatic layer and model names, so the next ``Dense`` is ``dense`` again."""
    naming.reset()


def backend() -> str:
    return "symgraph"
