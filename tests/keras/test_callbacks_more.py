"""The callbacks users reach for, in real ``fit`` runs: CSVLogger's file, TensorBoard's
event files read back with TensorBoard's own reader, ReduceLROnPlateau and
LearningRateScheduler changing the rate the compiled step uses (checked against numpy),
TerminateOnNaN, and BackupAndRestore resuming an interrupted fit to the weights of an
uninterrupted one."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest

from symgraph import keras
from symgraph.keras import callbacks, optimizers

L = keras.layers
RNG = np.random.default_rng(11)
X = RNG.standard_normal((16, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.25).astype("float32")


def _linear(learning_rate=0.05, optimizer=None, metrics=None):
    model = keras.Sequential([keras.Input((3,)), L.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer or optimizers.SGD(learning_rate=learning_rate), "mse", metrics=metrics)
    return model


# --- CSVLogger ---------------------------------------------------------------------------


def test_csv_logger_writes_keras_columns_and_appends(tmp_path):
    path = tmp_path / "training.log"
    model = _linear(metrics=["mae"])
    history = model.fit(
        X, Y, batch_size=8, epochs=2, validation_data=(X, Y), verbose=0, callbacks=[callbacks.CSVLogger(path)]
    )
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    for epoch, row in enumerate(rows[1:]):
        assert int(row[0]) == epoch
        for key, text in zip(rows[0][1:], row[1:]):
            assert float(text) == pytest.approx(history.history[key][epoch], rel=1e-6)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;") and lines[3].endswith(";NA;NA")  # no second header


# --- TensorBoard -------------------------------------------------------------------------

# tensorboard is an optional extra (symgraph[tensorboard]): only these tests need it.


def _events(logdir):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    accumulator = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def _values(accumulator, tag):
    tensor_util = pytest.importorskip("tensorboard.util.tensor_util")
    return [(event.step, tensor_util.make_ndarray(event.tensor_proto)) for event in accumulator.Tensors(tag)]


def test_tensorboard_writes_epoch_scalars_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboard")
    model = _linear()
    board = callbacks.TensorBoard(log_dir=tmp_path / "logs")
    history = model.fit(X, Y, batch_size=8, epochs=3, validation_data=(X[:8], Y[:8]), verbose=0, callbacks=[board])
    train, validation = _events(tmp_path / "logs" / "train"), _events(tmp_path / "logs" / "validation")
    assert [(step, float(v)) for step, v in _values(train, "epoch_loss")] == [
        (epoch, pytest.approx(loss, rel=1e-6)) for epoch, loss in enumerate(history.history["loss"])
    ]
    assert [(step, float(v)) for step, v in _values(validation, "epoch_loss")] == [
        (epoch, pytest.approx(loss, rel=1e-6)) for epoch, loss in enumerate(history.history["val_loss"])
    ]
    assert [float(v) for _, v in _values(train, "epoch_learning_rate")] == pytest.approx([0.05] * 3)
    # each validation pass, at the optimizer's step count (2 batches an epoch)
    assert [step for step, _ in _values(validation, "evaluation_loss_vs_iterations")] == [2, 4, 6]
    assert "batch_loss" not in train.Tags()["tensors"]  # update_freq="epoch"
    assert all(event.tensor_proto.dtype == 1 for event in train.Tensors("epoch_loss"))  # float32, as tf.summary
    (graph,) = train.Tensors("keras")  # the Keras conceptual graph: the model's JSON
    assert json.loads(graph.tensor_proto.string_val[0])["class_name"] == "Sequential"


def test_tensorboard_batch_scalars_histograms_and_images(tmp_path):
    pytest.importorskip("tensorboard")
    image_module = pytest.importorskip("PIL.Image")
    model = keras.Sequential([keras.Input((3,)), L.Dense(4, kernel_initializer="ones"), L.Dense(1)])
    model.compile(optimizers.SGD(learning_rate=0.01), "mse")
    board = callbacks.TensorBoard(tmp_path, histogram_freq=2, write_images=True, update_freq=3, write_graph=False)
    model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[board])  # 4 batches an epoch, 12 in all
    train = _events(tmp_path / "train")
    assert [step for step, _ in _values(train, "batch_loss")] == [3, 6, 9, 12]
    kernel = model.layers[0].kernel.path
    histograms = _values(train, f"{kernel}/histogram")
    assert [step for step, _ in histograms] == [0, 2]  # every second epoch
    assert histograms[0][1][:, 2].sum() == 12  # the 3x4 kernel's values counted once each
    (_, strings), _ = _values(train, f"{kernel}/image")
    width, height = int(strings[0]), int(strings[1])
    picture = np.asarray(image_module.open(io.BytesIO(strings[2])))
    assert (height, width) == (3, 4) and picture.shape == (3, 4)
    assert "keras" not in train.Tags()["tensors"]
    with pytest.raises(ValueError, match="profile_batch must be 0"):
        callbacks.TensorBoard(tmp_path, profile_batch=2)


def test_tensorboard_without_the_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(ImportError, match=r"pip install symgraph\[tensorboard\]"):
        callbacks.TensorBoard()


# --- the learning rate ---------------------------------------------------------------------


def test_reduce_lr_on_plateau_lowers_the_rate_after_patience_epochs():
    model = _linear(learning_rate=1e-7)  # the loss barely moves: a plateau
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=1e-4)
    history = model.fit(X, Y, batch_size=16, epochs=6, verbose=0, callbacks=[reduce])
    # epoch 0 sets the best; epochs 1-2 do not improve by min_delta -> halve; again at 4
    assert history.history["learning_rate"] == pytest.approx([1e-7, 1e-7, 1e-7, 5e-8, 5e-8, 2.5e-8], rel=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(2.5e-8, rel=1e-6)
    assert float(model.optimizer.learning_rate_variable.get_value()) == pytest.approx(2.5e-8, rel=1e-6)


def test_learning_rate_scheduler_sets_each_epochs_rate_in_the_compiled_step():
    model = _linear()
    seen = []
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    watch = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[schedule, watch])
    assert seen == pytest.approx([0.1, 0.05, 0.025]) == history.history["learning_rate"]
    w, b = np.zeros((3, 1)), np.zeros(1)  # full-batch gradient descent at those rates, in numpy
    for rate in (0.1, 0.05, 0.025):
        err = X @ w + b - Y
        w, b = w - rate * 2 * X.T @ err / len(X), b - rate * 2 * err.mean(0)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


# --- TerminateOnNaN ------------------------------------------------------------------------


def test_terminate_on_nan_stops_at_the_batch_whose_loss_is_nan(capsys):
    y = Y.copy()
    y[5] = np.nan  # in the second batch of four
    model = _linear()
    batches = []
    count = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = model.fit(
        X, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[callbacks.TerminateOnNaN(), count]
    )
    assert batches == [0, 1] and int(model.optimizer.iterations.numpy()) == 2
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


# --- BackupAndRestore ----------------------------------------------------------------------


class Interrupt(callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError(f"killed at epoch {epoch}")


def _mlp(input_shape=True):
    layers = [
        L.Dense(4, activation="tanh", kernel_initializer=keras.initializers.Constant(0.3)),
        L.Dense(1, kernel_initializer=keras.initializers.Constant(-0.2)),
    ]
    model = keras.Sequential([keras.Input((3,)), *layers] if input_shape else layers)
    model.compile(optimizers.Adam(learning_rate=0.02), "mse")  # Adam: its moments must come back too
    return model


FIT = {"batch_size": 8, "epochs": 5, "shuffle": False, "verbose": 0}


@pytest.mark.parametrize("input_shape", [True, False], ids=["built", "unbuilt"])
def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path, input_shape):
    reference = _mlp()
    reference.fit(X, Y, **FIT)
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="killed at epoch 2"):
        _mlp(input_shape).fit(X, Y, **FIT, callbacks=[callbacks.BackupAndRestore(backup), Interrupt(2)])
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 2, "batch": 0}
    resumed = _mlp(input_shape)  # a new process: a fresh model, the same backup directory
    history = resumed.fit(X, Y, **FIT, callbacks=[callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3, 4]
    assert not backup.exists()  # delete_checkpoint: a completed fit removes its backup
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations.numpy()) == int(reference.optimizer.iterations.numpy()) == 10
    assert resumed.fit(X, Y, epochs=1, verbose=0).epoch == [0]  # the restored epoch is not kept for later fits


def test_backup_and_restore_falls_back_to_the_previous_backup(tmp_path):
    reference = _mlp()
    reference.fit(X, Y, **FIT)
    backup = tmp_path / "backup"
    keep = callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False)
    with pytest.raises(RuntimeError):
        _mlp().fit(X, Y, **FIT, callbacks=[keep, Interrupt(3)])
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 3
    assert json.loads((backup / "training_metadata.json.bkp").read_text())["epoch"] == 2
    (backup / "latest.weights.h5").write_bytes(b"killed while writing")
    resumed = _mlp()
    history = resumed.fit(X, Y, **FIT, callbacks=[callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    assert history.epoch == [2, 3, 4]  # from the previous backup, the end of epoch 1
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert backup.exists()


def test_backup_every_n_batches_records_the_epoch_in_progress(tmp_path):
    backup = tmp_path / "backup"
    every_3 = callbacks.BackupAndRestore(backup, save_freq=3, delete_checkpoint=False)
    with pytest.raises(RuntimeError):  # 2 batches an epoch: saved after batch 0 of epoch 1 and 1 of epoch 2
        _mlp().fit(X, Y, **FIT, callbacks=[every_3, Interrupt(3)])
    # Keras' rule: a backup made inside an epoch names that epoch, which a resumed fit reruns
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 2, "batch": 1}
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore(backup, save_freq="batch")
    with pytest.raises(ValueError, match="backup_dir"):
        callbacks.BackupAndRestore("")
