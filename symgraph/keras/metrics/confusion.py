"""Metrics from confusion counts at thresholds: Precision, Recall, AUC (Keras 3.15's
``confusion_metrics``)."""

from __future__ import annotations

from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor
from symgraph.keras.losses_utils import (
    squeeze_or_expand_to_same_rank,
    static_dim,
    to_tensor,
)
from symgraph.keras.metrics.base import Metric, _divide_no_nan


def _element_weights(sample_weight: Any, y_pred: Tensor) -> Tensor:
    """The weight of each element of ``y_pred``: 1, times ``sample_weight`` given trailing
    unit axes up to y_pred's rank (so per-sample weights cover every label)."""
    weights = sg.ones_like(y_pred)
    if sample_weight is not None:
        sw = to_tensor(sample_weight, "float32")
        while sw.ndim < y_pred.ndim:
            sw = sg.expand_dims(sw, -1)
        weights = weights * sw
    return weights


class _ThresholdCounts(Metric):
    """Precision and Recall at one threshold: true/false positive/negative counts of
    (y_pred > threshold) against y_true (nonzero = positive), weighted. The default
    name is the class name in snake case (Metric's), "precision" or "recall"."""

    _direction = "up"

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None:
            raise NotImplementedError(f"{type(self).__name__}(top_k=...) is not implemented in symgraph.keras")
        if thresholds is not None and np.ndim(thresholds) > 0:
            if len(thresholds) != 1:
                raise NotImplementedError(f"{type(self).__name__} takes one threshold in symgraph.keras")
            thresholds = float(thresholds[0])
        self.thresholds = 0.5 if thresholds is None else float(thresholds)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.true_positives = self.add_variable((1,), name="true_positives")
        self.false_positives = self.add_variable((1,), name="false_positives")
        self.false_negatives = self.add_variable((1,), name="false_negatives")

    def update_state_graph(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> list[Tensor]:
        y_pred = to_tensor(y_pred, "float32")
        y_true = to_tensor(y_true, "float32")
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        predicted = sg.cast(sg.greater(y_pred, self.thresholds), "float32")
        actual = sg.cast(sg.not_equal(y_true, 0.0), "float32")
        weights = _element_weights(sample_weight, y_pred)

        def count(x: Tensor) -> Tensor:
            return sg.reshape(sg.sum(x * weights), (1,))

        return [
            self.true_positives + count(predicted * actual),
            self.false_positives + count(predicted * (1.0 - actual)),
            self.false_negatives + count((1.0 - predicted) * actual),
        ]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        Metric.update_state(self, y_true, y_pred, sample_weight)

    def result(self) -> Any:
        if sg.tracing():
            return super().result()
        return np.float32(np.asarray(super().result()).reshape(()))

    def get_config(self) -> dict:
        return {
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
            "name": self.name,
            "dtype": self.dtype,
        }


class Precision(_ThresholdCounts):
    """tp / (tp + fp) at the threshold (0.5 by default); 0 with no positive prediction."""

    def result_from(self, states: list[Tensor]) -> Tensor:
        tp, fp, _ = states
        return sg.reshape(_divide_no_nan(tp, tp + fp), ())


class Recall(_ThresholdCounts):
    """tp / (tp + fn) at the threshold (0.5 by default); 0 with no positive label."""

    def result_from(self, states: list[Tensor]) -> Tensor:
        tp, _, fn = states
        return sg.reshape(_divide_no_nan(tp, tp + fn), ())


class AUC(Metric):
    """Area under the ROC or PR curve from confusion counts at ``num_thresholds``
    thresholds (0 - eps, i/(n-1) for i = 1..n-2, 1 + eps; a prediction is positive
    when > threshold). "interpolation" sums trapezoids (ROC) or Davis & Goadrich's
    interpolation (PR), "minoring"/"majoring" the lower/upper rectangles. Predictions
    of all labels are pooled unless ``multi_label`` (then the mean of per-label AUCs).
    Keras 3's AUC; ``label_weights`` is not implemented."""

    _direction = "up"

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: list[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ):
        super().__init__(name=name, dtype=dtype)
        if label_weights is not None:
            raise NotImplementedError("AUC(label_weights=...) is not implemented in symgraph.keras")
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        if self.curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: ROC, PR')
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                f'Invalid `summation_method` argument value "{summation_method}". '
                "Expected one of: interpolation, minoring, majoring"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        eps = 1e-7
        self._thresholds = np.array([0.0 - eps, *inner, 1.0 + eps], np.float32)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self._from_logits = from_logits
        self._built = False
        if not multi_label:
            self._build(None)
        elif num_labels:
            self._build(num_labels)

    @property
    def thresholds(self) -> list[float]:
        return [float(t) for t in self._thresholds]

    def _build(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, int(num_labels))
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.true_negatives = self.add_variable(shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self._built = True

    def update_state_graph(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> list[Tensor]:
        y_pred = to_tensor(y_pred, "float32")
        y_true = to_tensor(y_true, "float32")
        if self._from_logits:
            y_pred = sg.nn.sigmoid(y_pred)
        y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
        weights = _element_weights(sample_weight, y_pred)
        actual = sg.cast(sg.not_equal(y_true, 0.0), "float32")
        if self.multi_label:
            if y_pred.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {y_pred.ndim}.")
            if not self._built:
                labels = static_dim(y_pred.shape[1])
                if labels is None:
                    raise ValueError("AUC(multi_label=True) needs a static label count (or num_labels=)")
                self._build(labels)
            thresholds = sg.constant(self._thresholds.reshape(-1, 1, 1))
            preds, actual, weights = (sg.expand_dims(t, 0) for t in (y_pred, actual, weights))
            axis: Any = 1
        else:
            thresholds = sg.constant(self._thresholds.reshape(-1, 1))
            preds, actual, weights = (sg.reshape(t, (1, -1)) for t in (y_pred, actual, weights))
            axis = 1
        positive = sg.cast(sg.greater(preds, thresholds), "float32")
        negative = 1.0 - positive

        def count(x: Tensor) -> Tensor:
            return sg.sum(x * weights, axis=axis)

        return [
            self.true_positives + count(positive * actual),
            self.false_positives + count(positive * (1.0 - actual)),
            self.true_negatives + count(negative * (1.0 - actual)),
            self.false_negatives + count(negative * actual),
        ]

    def result_from(self, states: list[Tensor]) -> Tensor:
        tp, fp, tn, fn = states
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._label_mean(self._interpolate_pr_auc(tp, fp, fn))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = sg.minimum(y[:-1], y[1:])
        else:
            heights = sg.maximum(y[:-1], y[1:])
        return self._label_mean((x[:-1] - x[1:]) * heights)

    def _label_mean(self, terms: Tensor) -> Tensor:
        by_label = sg.sum(terms, axis=0)
        return sg.mean(by_label) if self.multi_label else by_label

    @staticmethod
    def _interpolate_pr_auc(tp: Tensor, fp: Tensor, fn: Tensor) -> Tensor:
        """Davis & Goadrich (2006): precision interpolated linearly in true positives
        between thresholds."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _divide_no_nan(dtp, sg.maximum(dp, 0.0))
        intercept = tp[1:] - prec_slope * p[1:]
        both_positive = sg.logical_and(sg.greater(p[:-1], 0.0), sg.greater(p[1:], 0.0))
        safe_p_ratio = sg.where(both_positive, _divide_no_nan(p[:-1], sg.maximum(p[1:], 0.0)), 1.0)
        return _divide_no_nan(prec_slope * (dtp + intercept * sg.log(safe_p_ratio)), sg.maximum(tp[1:] + fn[1:], 0.0))

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def result(self) -> Any:
        if not self._built:
            return np.float32(0.0)
        return super().result()

    def get_config(self) -> dict:
        config = {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "from_logits": self._from_logits,
            "name": self.name,
            "dtype": self.dtype,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
