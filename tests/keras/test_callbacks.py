"""keras.callbacks driven by a small loop over a fake model (stop_training,
get_weights/set_weights, an optimizer with learning_rate): stopping epochs, restored
weights, learning-rate changes, CSV contents, checkpoint paths. The expected values were
checked against Keras 3.15's callbacks on the same sequences."""

from __future__ import annotations

import ast
import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest

from symgraph.keras import callbacks as cbs
from symgraph.keras import metrics
from symgraph.keras.utils import progbar as progbar_module


class FakeOptimizer:
    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate


class FakeModel:
    def __init__(self, metric_objects=()):
        self.stop_training = False
        self.weight = 0.0
        self.optimizer = FakeOptimizer(0.1)
        self.saved: list[tuple[str, str]] = []
        self.metrics = list(metric_objects)

    def get_weights(self):
        return [np.array(self.weight)]

    def set_weights(self, weights):
        self.weight = float(weights[0])

    def save_weights(self, path, overwrite=True):
        self.saved.append(("weights", path))

    def save(self, path, overwrite=True):
        self.saved.append(("model", path))


def fit(callbacks, values, key="val_loss", model=None):
    """Epochs as fit runs them: the weight is the epoch number, logs hold ``key``."""
    model = model or FakeModel()
    callback_list = cbs.CallbackList(callbacks, add_history=True, model=model, verbose=0, epochs=len(values), steps=1)
    callback_list.on_train_begin()
    last_epoch = -1
    for epoch, value in enumerate(values):
        callback_list.on_epoch_begin(epoch)
        callback_list.on_train_batch_begin(0)
        callback_list.on_train_batch_end(0, {"loss": value + 1.0})
        model.weight = float(epoch)
        callback_list.on_epoch_end(epoch, {"loss": value + 1.0, key: np.float32(value)})
        last_epoch = epoch
        if model.stop_training:
            break
    callback_list.on_train_end()
    return model, last_epoch


def test_early_stopping_patience_and_restore_best_weights(capsys):
    stopper = cbs.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model, last = fit([stopper], [1.0, 0.8, 0.85, 0.9, 0.7])
    assert last == 3 and stopper.stopped_epoch == 3
    assert model.weight == 1.0  # the best epoch's weights came back
    assert "Epoch 4: early stopping" in capsys.readouterr().out
    assert model.history.epoch == [0, 1, 2, 3]


def test_early_stopping_default_patience_never_stops_at_epoch_zero():
    _, last = fit([cbs.EarlyStopping()], [1.0, 0.8, 0.85, 0.9])
    assert last == 2


def test_early_stopping_min_delta_baseline_and_start_epoch():
    stopper = cbs.EarlyStopping(patience=2, min_delta=0.1, restore_best_weights=True)
    model, last = fit([stopper], [1.0, 0.95, 0.7, 0.65, 0.6, 0.1])
    assert last == 4 and model.weight == 2.0  # 0.95, 0.65 and 0.6 are not improvements by 0.1
    # Improvements that miss the baseline do not reset wait, so the first setback stops.
    model, last = fit(
        [cbs.EarlyStopping(patience=2, baseline=0.5, restore_best_weights=True)], [1.0, 0.8, 0.7, 0.75, 0.1]
    )
    assert last == 3 and model.weight == 2.0
    model, last = fit([cbs.EarlyStopping(patience=1, start_from_epoch=2)], [1.0, 2.0, 3.0, 4.0, 5.0])
    assert last == 3


def test_early_stopping_auto_mode_reads_the_metric_direction():
    model = FakeModel([metrics.BinaryAccuracy(name="acc")])
    _, last = fit(
        [cbs.EarlyStopping(monitor="val_acc", patience=1)], [0.5, 0.6, 0.55, 0.5, 0.7], key="val_acc", model=model
    )
    assert last == 2
    with pytest.raises(ValueError, match="maximized or minimized"):
        fit([cbs.EarlyStopping(monitor="val_custom")], [1.0, 2.0], key="val_custom")


def test_reduce_lr_on_plateau_with_cooldown_and_floor():
    model, _ = fit([cbs.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.02)], [1.0] * 5 + [0.5] * 3)
    assert model.history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.02, 0.02, 0.02, 0.02])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="factor"):
        cbs.ReduceLROnPlateau(factor=1.5)


def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    seen = []
    model, _ = fit(
        [
            cbs.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch > 0 else lr),
            cbs.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch)),
        ],
        [1.0, 0.9, 0.8],
    )
    assert model.history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert seen == [0, 1, 2]
    model, _ = fit([cbs.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], [1.0, 0.9])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="should be a float"):
        fit([cbs.LearningRateScheduler(lambda epoch, lr: "fast")], [1.0])


def test_model_checkpoint_formats_paths_and_saves_only_the_best(tmp_path):
    pattern = str(tmp_path / "m_{epoch:02d}_{val_loss:.2f}.weights.h5")
    model, _ = fit([cbs.ModelCheckpoint(pattern, save_best_only=True, save_weights_only=True)], [1.0, 0.8, 0.9, 0.5])
    assert model.saved == [
        ("weights", str(tmp_path / "m_01_1.00.weights.h5")),
        ("weights", str(tmp_path / "m_02_0.80.weights.h5")),
        ("weights", str(tmp_path / "m_04_0.50.weights.h5")),
    ]
    model, _ = fit([cbs.ModelCheckpoint(str(tmp_path / "model.keras"), monitor="loss")], [1.0, 0.8])
    assert model.saved == [("model", str(tmp_path / "model.keras"))] * 2
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        cbs.ModelCheckpoint(str(tmp_path / "w.keras"), save_weights_only=True)
    with pytest.warns(DeprecationWarning, match=r"\.weights\.h5"):  # Keras 2's suffix: accepted, warned
        cbs.ModelCheckpoint(str(tmp_path / "w.h5"), save_weights_only=True)


def test_csv_logger_rows_and_append(tmp_path):
    path = tmp_path / "log.csv"
    fit([cbs.CSVLogger(str(path))], [1.0, 0.5], key="val_loss")
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert rows[1] == ["0", "2.0", "1.0"] and rows[2] == ["1", "1.5", "0.5"]
    fit([cbs.CSVLogger(str(path), separator=";", append=True)], [0.25], key="val_loss")
    assert path.read_text().splitlines()[-1] == "0;1.25;0.25"  # no second header
    # Without validation, val_ columns are added and filled with NA (Keras does the same).
    fit([cbs.CSVLogger(str(path))], [1.0], key="mae")
    assert path.read_text().splitlines() == ["epoch,loss,mae,val_loss,val_mae", "0,2.0,1.0,NA,NA"]


def test_terminate_on_nan_stops_training(capsys):
    model = FakeModel()
    callback_list = cbs.CallbackList([cbs.TerminateOnNaN()], model=model)
    callback_list.on_train_batch_end(3, {"loss": math.nan})
    assert model.stop_training
    assert "Batch 3: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf"):
        cbs.CallbackList([cbs.TerminateOnNaN(raise_error=True)], model=FakeModel()).on_train_batch_end(
            0, {"loss": math.inf}
        )


def test_callback_list_params_history_and_batch_aliases():
    calls = []

    class Recorder(cbs.Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append((batch, logs))

    recorder = Recorder()
    model = FakeModel()
    callback_list = cbs.CallbackList([recorder], add_history=True, model=model, verbose=2, epochs=3, steps=5)
    assert recorder.params == {"verbose": 2, "epochs": 3, "steps": 5}
    assert recorder.model is model and isinstance(model.history, cbs.History)
    callback_list.on_train_batch_end(0, {"loss": np.float32(0.5), "acc": np.float64(1.0)})
    assert calls == [(0, {"acc": 1.0, "loss": 0.5})] and type(calls[0][1]["loss"]) is float
    callback_list.on_train_begin()
    callback_list.on_epoch_end(0, {"val_loss": 1.0, "loss": 2.0, "accuracy": 0.5})
    assert list(model.history.history) == ["accuracy", "loss", "val_loss"]  # Keras sorts the keys


def test_callback_list_adds_the_progress_bar_only_when_asked():
    with_bar = cbs.CallbackList(None, add_progbar=True, model=FakeModel(), verbose=1, epochs=1, steps=1)
    assert any(isinstance(cb, cbs.ProgbarLogger) for cb in with_bar.callbacks)
    without = cbs.CallbackList(None, add_history=True, model=FakeModel())
    assert [type(cb) for cb in without.callbacks] == [cbs.History]


def test_progbar_logger_is_a_callback_and_the_bar_draws_without_callbacks():
    assert issubclass(cbs.ProgbarLogger, cbs.Callback)
    source = Path(progbar_module.__file__).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not any("callbacks" in module for module in imported)
    stream = io.StringIO()
    logger = cbs.ProgbarLogger(stream=stream)
    logger.set_params({"verbose": 2, "epochs": 2, "steps": 3})
    logger.on_epoch_begin(0)
    for batch in range(3):
        logger.on_train_batch_end(batch, {"loss": 0.5})
    logger.on_epoch_end(0, {"loss": 0.25})
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("3/3 - ") and lines[1].endswith("loss: 0.2500")
