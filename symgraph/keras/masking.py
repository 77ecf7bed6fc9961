"""The masks Keras carries beside tensors (Keras 3's ``backend.common.masking``): the
boolean (batch, time) mask of ``Embedding(mask_zero=True)``, passed on by the layers that
support masking, read by recurrent layers and by losses and metrics."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from symgraph.graph.core import Tensor
from symgraph.graph.sources import EagerTensor

# symgraph tensors have fixed slots, so the masks are kept beside them by id, with a weak
# reference to check the id still names the same tensor (tensors compare symbolically, so
# a tensor cannot be a dict key).
_MASKS: dict[int, tuple[weakref.ref, Tensor]] = {}


def get_mask(t: Any) -> Tensor | None:
    """The mask attached to ``t``, or None."""
    if not isinstance(t, Tensor):
        return None
    entry = _MASKS.get(id(t))
    return entry[1] if entry is not None and entry[0]() is t else None


def set_mask(t: Tensor, mask: Tensor) -> None:
    """Attaches ``mask`` to ``t`` for as long as ``t`` lives."""
    key = id(t)
    _MASKS[key] = (weakref.ref(t, lambda _, key=key: _MASKS.pop(key, None)), mask)


def _keras_mask(t: Any) -> np.ndarray | None:
    """Keras' ``_keras_mask`` of an eager tensor: its mask's value, or None."""
    mask = get_mask(t)
    return None if mask is None else np.asarray(mask)


EagerTensor._keras_mask = property(_keras_mask)  # type: ignore[attr-defined]
