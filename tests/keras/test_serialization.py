"""Keras 3's serialized form of built-in losses, metrics, optimizers and schedules (one
helper writes it for all four), the named VarianceScaling presets, and the default names
of Precision and Recall."""

from __future__ import annotations

import math

import numpy as np
import pytest

from symgraph.keras import initializers, losses, metrics, optimizers
from symgraph.keras.optimizers import schedules


@pytest.mark.parametrize(
    "namespace, module_name, obj",
    [
        (losses, "keras.losses", losses.Huber(delta=2.0)),
        (metrics, "keras.metrics", metrics.Precision(thresholds=0.3, name="p")),
        (optimizers, "keras.optimizers", optimizers.Adamax(learning_rate=0.02, beta_2=0.99)),
        (schedules, "keras.optimizers.schedules", schedules.InverseTimeDecay(0.1, 4, 0.5, staircase=True)),
    ],
)
def test_builtin_serialized_form_round_trips(namespace, module_name, obj):
    config = obj.get_config()
    serialized = namespace.serialize(obj)
    assert serialized == {
        "module": module_name,
        "class_name": type(obj).__name__,
        "config": config,
        "registered_name": None,
    }
    clone = namespace.deserialize(serialized)
    assert type(clone) is type(obj)
    assert clone.get_config() == config


def test_ratio_decay_schedules_name_and_staircase():
    exponential = schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True)
    inverse = schedules.InverseTimeDecay(0.1, 3, 0.5)
    assert exponential.get_config()["name"] == "ExponentialDecay"
    assert inverse.get_config()["name"] == "InverseTimeDecay"
    assert schedules.ExponentialDecay(0.1, 3, 0.5, name="mine").name == "mine"
    # step 5: staircase floors 5/3 to 1; without it the ratio stays 5/3.
    assert np.isclose(exponential(5), 0.1 * 0.5)
    assert np.isclose(inverse(5), 0.1 / (1 + 0.5 * 5 / 3))
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.InverseTimeDecay(0.1, 0, 0.5)


@pytest.mark.parametrize(
    "cls, scale, mode, distribution",
    [
        (initializers.GlorotUniform, 1.0, "fan_avg", "uniform"),
        (initializers.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
        (initializers.HeNormal, 2.0, "fan_in", "truncated_normal"),
        (initializers.HeUniform, 2.0, "fan_in", "uniform"),
        (initializers.LecunNormal, 1.0, "fan_in", "truncated_normal"),
        (initializers.LecunUniform, 1.0, "fan_in", "uniform"),
    ],
)
def test_variance_scaling_presets(cls, scale, mode, distribution):
    preset = cls(seed=7)
    assert preset.get_config() == {"seed": 7}
    assert (preset.scale, preset.mode, preset.distribution) == (scale, mode, distribution)
    same = initializers.VarianceScaling(scale, mode, distribution, seed=7)
    np.testing.assert_array_equal(preset((40, 30)), same((40, 30)))
    if distribution == "uniform":
        fan = {"fan_in": 40, "fan_avg": 35}[mode]
        assert np.abs(cls(seed=1)((40, 30))).max() <= math.sqrt(3 * scale / fan)
    assert type(cls.from_config(preset.get_config())) is cls


def test_precision_and_recall_default_names_are_unique_snake_case():
    first, second = metrics.Precision(), metrics.Precision()
    assert first.name.startswith("precision") and second.name.startswith("precision")
    assert first.name != second.name
    assert metrics.Recall().name.startswith("recall")
    assert metrics.Recall(name="r").name == "r"
