"""``keras.preprocessing``: the legacy image pipeline of Keras 2 tutorials
(``image.ImageDataGenerator``), kept for old code; new code puts the preprocessing
layers (``keras.layers.Rescaling``, ``RandomFlip``, ``RandomRotation``, ...) in the
model."""

from symgraph.keras.preprocessing import image

__all__ = ["image"]
