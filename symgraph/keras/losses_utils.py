"""Helpers shared by ``keras.losses`` and ``keras.metrics``: Keras' rank matching of
targets and predictions, its weighted reduction, and eager evaluation (a loss or metric
function called on numpy data runs its graph through the numpy reference interpreter
and returns numpy, as Keras returns a concrete tensor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor
from symgraph.keras import backend
from symgraph.keras.masking import get_mask


def epsilon() -> float:
    """Keras' fuzz factor (``keras.backend.epsilon()``, 1e-7 unless changed)."""
    return float(backend.epsilon())


def is_symbolic(*values: Any) -> bool:
    return any(isinstance(v, Tensor) for v in values)


def to_tensor(x: Any, dtype: Any = None) -> Tensor:
    """``x`` as a Tensor, cast to ``dtype`` when given."""
    t = sg.as_tensor(x if isinstance(x, Tensor) else np.asarray(x))
    if dtype is not None and t.dtype != np.dtype(dtype):
        t = sg.cast(t, dtype)
    return t


def static_dim(d: Any) -> int | None:
    """A dimension's int value, or None when it is known only at call time."""
    return int(d) if isinstance(d, (int, np.integer)) else None


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> tuple[Tensor, Tensor]:
    """Keras' rule: when the ranks differ by one and the longer one ends in a size-1
    axis, squeeze it, or expand a rank-1 partner instead (``expand_rank_1``)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and static_dim(x1.shape[-1]) == 1:
        if r2 == 1 and expand_rank_1:
            x2 = sg.expand_dims(x2, -1)
        else:
            x1 = sg.squeeze(x1, axis=-1)
    if r2 == r1 + 1 and static_dim(x2.shape[-1]) == 1:
        if r1 == 1 and expand_rank_1:
            x1 = sg.expand_dims(x1, -1)
        else:
            x2 = sg.squeeze(x2, axis=-1)
    return x1, x2


def expand_trailing(weights: Tensor, ndim: int) -> Tensor:
    """Per-sample weights (batch,) against values of a higher rank, e.g. a sequence's
    (batch, time) losses, as (batch, 1, ...): each sample's weight covers all its entries
    (Keras would try to broadcast (batch,) against the last axis instead)."""
    while weights.ndim < ndim:
        weights = sg.expand_dims(weights, -1)
    return weights


def element_count(x: Tensor) -> Tensor:
    """The number of elements of ``x`` as a float32 scalar tensor (symbolic sizes too)."""
    count: Any = 1
    for d in x.shape:
        count = count * d
    return sg.cast(sg.as_tensor(count), "float32")


def apply_mask(sample_weight: Any, mask: Tensor | None, reduction: str | None) -> Any:
    """Keras' ``apply_mask``: a (batch, time) mask of the predictions folded into the
    sample weights; with "sum_over_batch_size"/"mean" the valid entries weigh
    total/valid so the mean runs over them alone, otherwise 1 (and 0 when masked)."""
    if mask is None:
        return sample_weight
    fmask = sg.cast(mask, "float32")
    if reduction in ("mean", "sum_over_batch_size"):
        valid = sg.sum(fmask)
        ratio = sg.where(valid > 0, element_count(fmask) / sg.maximum(valid, 1.0), 0.0)
        fmask = fmask * ratio
    if sample_weight is None:
        return fmask
    sample_weight = to_tensor(sample_weight, "float32")
    fmask, sample_weight = squeeze_or_expand_to_same_rank(fmask, sample_weight)
    return expand_trailing(sample_weight, fmask.ndim) * fmask


def prediction_mask(y_pred: Any) -> Tensor | None:
    """The mask Keras attaches to a prediction (Embedding(mask_zero=True) passed on by
    the layers after it), or None."""
    return get_mask(y_pred)


def reduce_weighted_values(
    values: Tensor,
    sample_weight: Any = None,
    mask: Tensor | None = None,
    reduction: str | None = "sum_over_batch_size",
) -> Tensor:
    """Keras' ``reduce_weighted_values``: weight the per-sample losses (a mask becomes
    weights total/valid on the valid entries, so the mean runs over them alone), then
    reduce: "sum_over_batch_size"/"mean" = sum / element count, "sum", "none"/None,
    "mean_with_sample_weight" = sum / sum of weights."""
    values = sg.cast(values, "float32") if values.dtype != np.float32 else values
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, "float32")
    sample_weight = apply_mask(sample_weight, mask, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * expand_trailing(sample_weight, values.ndim)
    if reduction in (None, "none") or values.ndim == 0:
        return values
    total = sg.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = sg.sum(sg.broadcast_to(sample_weight, values.shape))
    else:
        divisor = element_count(values)
    # divide_no_nan: an empty batch (or all-zero weights) gives 0, not NaN.
    return sg.where(divisor == 0, 0.0, total / sg.where(divisor == 0, 1.0, divisor))


def evaluate(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` (which builds graph from Tensors) on concrete ``args`` through the
    numpy reference interpreter; returns numpy (a tuple/list for several outputs)."""
    arrays = [None if a is None else np.asarray(a) for a in args]
    inputs, tensors = [], []
    for i, a in enumerate(arrays):
        if a is None:
            tensors.append(None)
            continue
        if a.dtype == np.float64:
            a = a.astype(np.float32)
            arrays[i] = a
        p = sg.placeholder(a.shape, a.dtype, name=f"eager{i}")
        inputs.append(p)
        tensors.append(p)
    out = fn(*tensors, **kwargs)
    function = sg.function(inputs, out, mode="py")
    return function(*[a for a in arrays if a is not None])
