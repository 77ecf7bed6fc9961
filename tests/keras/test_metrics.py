"""keras.metrics: accumulators updated by a compiled step over several batches against
numpy over the concatenated data; reset, eager update_state/result, names, resolve."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.keras import losses, metrics

SIZES = (5, 7, 3)
C = 4


def batches(kind: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for n in SIZES:
        if kind == "binary":
            t, p = rng.integers(0, 2, (n, 1)).astype(np.float32), rng.uniform(size=(n, 1)).astype(np.float32)
        elif kind == "categorical":
            t, p = np.eye(C, dtype=np.float32)[rng.integers(0, C, n)], rng.uniform(size=(n, C)).astype(np.float32)
        elif kind == "sparse":
            t, p = rng.integers(0, C, n).astype(np.int32), rng.uniform(size=(n, C)).astype(np.float32)
        elif kind == "sparse_column":
            t, p = rng.integers(0, C, (n, 1)).astype(np.int32), rng.uniform(size=(n, C)).astype(np.float32)
        elif kind == "regression":
            t, p = rng.normal(size=(n, 2)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)
        else:
            raise AssertionError(kind)
        out.append((t, p, rng.uniform(0, 2, n).astype(np.float32)))
    return out


def top_k(t_ids, p, k):
    target = p[np.arange(len(p)), t_ids.astype(int)]
    return ((p > target[:, None]).sum(-1) < k).astype(np.float64)


PER_SAMPLE = {
    "binary_accuracy": (metrics.BinaryAccuracy, {}, "binary", lambda t, p: t[:, 0] == (p[:, 0] > 0.5)),
    "binary_accuracy_0.3": (
        metrics.BinaryAccuracy,
        {"threshold": 0.3},
        "binary",
        lambda t, p: t[:, 0] == (p[:, 0] > 0.3),
    ),
    "categorical_accuracy": (
        metrics.CategoricalAccuracy,
        {},
        "categorical",
        lambda t, p: t.argmax(-1) == p.argmax(-1),
    ),
    "sparse_categorical_accuracy": (
        metrics.SparseCategoricalAccuracy,
        {},
        "sparse",
        lambda t, p: t == p.argmax(-1),
    ),
    "sparse_categorical_accuracy_column": (
        metrics.SparseCategoricalAccuracy,
        {},
        "sparse_column",
        lambda t, p: t[:, 0] == p.argmax(-1),
    ),
    "top_2": (metrics.TopKCategoricalAccuracy, {"k": 2}, "categorical", lambda t, p: top_k(t.argmax(-1), p, 2)),
    "sparse_top_2": (metrics.SparseTopKCategoricalAccuracy, {"k": 2}, "sparse", lambda t, p: top_k(t, p, 2)),
    "mse": (metrics.MeanSquaredError, {}, "regression", lambda t, p: ((t - p) ** 2).mean(-1)),
    "mae": (metrics.MeanAbsoluteError, {}, "regression", lambda t, p: np.abs(t - p).mean(-1)),
    "categorical_crossentropy": (
        metrics.CategoricalCrossentropy,
        {},
        "categorical",
        lambda t, p: -(t * np.log(np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7))).sum(-1),
    ),
}


def compiled_updates(metric: metrics.Metric, example, weighted: bool):
    t0, p0, _ = example
    t = sg.placeholder((None, *t0.shape[1:]), t0.dtype, name="t")
    p = sg.placeholder((None, *p0.shape[1:]), p0.dtype, name="p")
    w = sg.placeholder((None,), name="w") if weighted else None
    states = metric.update_state_graph(t, p, sample_weight=w)
    assert len(states) == len(metric.variables)
    return sg.function(
        [t, p] + ([w] if weighted else []), metric.result_from(states), updates=list(zip(metric.variables, states))
    )


@pytest.mark.parametrize("name", list(PER_SAMPLE))
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_accumulates_over_batches(name, weighted):
    cls, kwargs, kind, per_sample = PER_SAMPLE[name]
    data = batches(kind)
    metric = cls(**kwargs)
    step = compiled_updates(metric, data[0], weighted)
    values, weights = [], []
    for t, p, w in data:
        got = step(t, p, *([w] if weighted else []))
        values.append(per_sample(t.astype(np.float64), p.astype(np.float64)).astype(np.float64))
        weights.append(w if weighted else np.ones(len(t)))
        v, ww = np.concatenate(values), np.concatenate(weights)
        np.testing.assert_allclose(got, (v * ww).sum() / ww.sum(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(metric.result(), got, rtol=1e-6)
    metric.reset_state()
    assert all(float(np.sum(v.get_value())) == 0.0 for v in metric.variables)
    assert float(metric.result()) == 0.0  # divide_no_nan on an empty state


def test_root_mean_squared_error_and_eager_updates():
    data = batches("regression", seed=3)
    metric = metrics.RootMeanSquaredError()
    for t, p, w in data:
        metric.update_state(t, p, sample_weight=w)
    t = np.concatenate([b[0] for b in data]).astype(np.float64)
    p = np.concatenate([b[1] for b in data]).astype(np.float64)
    w = np.concatenate([b[2] for b in data]).astype(np.float64)
    expected = np.sqrt(((t - p) ** 2).mean(-1).dot(w) / w.sum())
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    assert metric.name == "root_mean_squared_error"


def test_mean_and_sum_of_values():
    mean, total = metrics.Mean(), metrics.Sum()
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state(np.array([10.0]), sample_weight=np.array([2.0]))
    total.update_state([1.0, 2.0, 3.0])
    total.update_state(np.array([[1.0, 1.0]]))
    assert float(mean.result()) == pytest.approx((1 + 2 + 3 + 20) / 5)
    assert float(total.result()) == pytest.approx(8.0)


def test_precision_and_recall():
    t = np.array([[1], [0], [1], [1], [0], [0]], np.float32)
    p = np.array([[0.9], [0.8], [0.2], [0.7], [0.1], [0.6]], np.float32)
    precision, recall = metrics.Precision(), metrics.Recall()
    precision.update_state(t, p)
    recall.update_state(t, p)
    assert float(precision.result()) == pytest.approx(2 / 4)  # predicted 1: 0.9, 0.8, 0.7, 0.6
    assert float(recall.result()) == pytest.approx(2 / 3)


def test_names_get_and_directions():
    assert metrics.get("mse").name == "mean_squared_error"
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    assert isinstance(metrics.get("sparse_categorical_accuracy"), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get(metrics.categorical_accuracy), metrics.CategoricalAccuracy)
    assert metrics.BinaryAccuracy()._direction == "up" and metrics.MeanSquaredError()._direction == "down"
    custom = metrics.get(lambda y_true, y_pred: sg.abs(y_true - y_pred))
    assert isinstance(custom, metrics.MeanMetricWrapper)
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get("no_such_metric")


@pytest.mark.parametrize(
    ("identifier", "loss", "output_shape", "target_shape", "expected"),
    [
        ("accuracy", None, (None, 1), None, metrics.BinaryAccuracy),
        ("acc", None, (None, 10), (None,), metrics.SparseCategoricalAccuracy),
        ("accuracy", None, (None, 10), (None, 1), metrics.SparseCategoricalAccuracy),
        ("accuracy", None, (None, 10), (None, 10), metrics.CategoricalAccuracy),
        ("accuracy", losses.SparseCategoricalCrossentropy(), (None, 10), None, metrics.SparseCategoricalAccuracy),
        ("accuracy", "categorical_crossentropy", (None, 10), None, metrics.CategoricalAccuracy),
        ("crossentropy", None, (None, 1), None, metrics.BinaryCrossentropy),
        ("mse", None, (None, 1), None, metrics.MeanSquaredError),
    ],
)
def test_resolve_follows_the_shape_rule(identifier, loss, output_shape, target_shape, expected):
    metric = metrics.resolve(identifier, loss, output_shape, target_shape=target_shape)
    assert type(metric) is expected
    assert metric.name == identifier  # logged under the spelling given


def numpy_roc_auc(t, p, w, num_thresholds):
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([-1e-7, *inner, 1 + 1e-7], np.float32)
    positive = p.reshape(1, -1) > thresholds[:, None]
    actual = t.reshape(1, -1) != 0
    w = w.reshape(1, -1)
    tp, fp = (positive & actual) @ w.T, (positive & ~actual) @ w.T
    fn, tn = (~positive & actual) @ w.T, (~positive & ~actual) @ w.T
    tpr, fpr = tp[:, 0] / (tp + fn)[:, 0], fp[:, 0] / (fp + tn)[:, 0]
    return np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)


def test_auc_roc_accumulates_confusion_counts():
    data = batches("binary", seed=5)
    metric = metrics.AUC(num_thresholds=50)
    step = compiled_updates(metric, data[0], weighted=True)
    for t, p, w in data:
        got = step(t, p, w)
    t, p, w = (np.concatenate([b[i] for b in data]) for i in range(3))
    assert got == pytest.approx(numpy_roc_auc(t, p, w.astype(np.float64), 50), rel=1e-5)
    assert metric.name.startswith("auc") and len(metric.variables) == 4
    separable = metrics.AUC()
    separable.update_state(np.array([0, 0, 1, 1], np.float32), np.array([0.1, 0.2, 0.8, 0.9], np.float32))
    assert float(separable.result()) == pytest.approx(1.0)


class TruePositiveRate(metrics.Metric):
    """A Keras-style subclass: update_state with assign/assign_add, result from variables."""

    def __init__(self, name="true_positive_rate", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.positives = self.add_variable(shape=(), initializer="zeros", name="positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        actual = sg.cast(sg.equal(y_true, 1.0), "float32")
        self.hits.assign_add(sg.sum(actual * sg.cast(sg.greater(y_pred, 0.5), "float32")))
        self.positives.assign(self.positives + sg.sum(actual))

    def result(self):
        return self.hits / self.positives


def test_keras_style_subclass_runs_eagerly_and_compiled():
    t1, p1 = np.array([1, 0, 1, 1], np.float32), np.array([0.9, 0.8, 0.2, 0.7], np.float32)
    t2, p2 = np.array([1, 1], np.float32), np.array([0.1, 0.6], np.float32)
    eager = TruePositiveRate()
    eager.update_state(t1, p1)
    assert float(eager.result()) == pytest.approx(2 / 3)
    eager.update_state(t2, p2)
    assert float(eager.result()) == pytest.approx(3 / 5)
    compiled = TruePositiveRate()
    t, p = sg.placeholder((None,), name="t"), sg.placeholder((None,), name="p")
    states = compiled.update_state_graph(t, p)
    step = sg.function([t, p], compiled.result_from(states), updates=list(zip(compiled.variables, states)))
    assert float(step(t1, p1)) == pytest.approx(2 / 3)
    assert float(step(t2, p2)) == pytest.approx(3 / 5)
    assert float(compiled.result()) == pytest.approx(3 / 5)
    compiled.reset_state()
    assert compiled.hits.numpy() == 0.0
