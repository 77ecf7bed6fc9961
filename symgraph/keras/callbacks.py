"""``keras.callbacks``: hooks the training loop calls, with Keras 3.15's semantics.

Callback (the hooks), CallbackList (what ``fit`` drives; adds History and the progress
bar), History, ProgbarLogger (the callback; ``utils.Progbar`` draws the bar),
ModelCheckpoint, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, CSVLogger,
LambdaCallback, TerminateOnNaN, TensorBoard (needs the optional ``tensorboard`` package),
BackupAndRestore.

Monitoring callbacks compare ``current - min_delta`` with the best value so far (min
mode: improvement when it is smaller; max mode: larger). ``mode="auto"`` minimises
losses and reads a metric's direction from the model's metric objects (accuracies,
precision, recall... are maximised), as Keras 3 does.
"""

from __future__ import annotations

import collections
import csv
import json
import math
import os
import shutil
import struct
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from symgraph.errors import user_stacklevel
from symgraph.keras import distribution as distribution_module
from symgraph.keras.layers.core import Embedding
from symgraph.keras.serialization import SavedFileError
from symgraph.keras.utils.progbar import Progbar


def _print(message: str) -> None:
    if distribution_module.is_chief():  # under DataParallel only rank 0 speaks (every rank has the same logs)
        print(message, flush=True)


def _pythonify_logs(logs: dict | None) -> dict:
    """A new dict, keys sorted, values made Python floats where they convert (Keras'
    ``pythonify_logs``; nested dicts are flattened)."""
    result: dict = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(_pythonify_logs(value))
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


class Callback:
    """Base class of callbacks: override the hooks you need. ``self.model`` is the model
    being trained, ``self.params`` the loop's settings (verbose, epochs, steps)."""

    def __init__(self) -> None:
        self.params: dict | None = None
        self._model: Any = None

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model = model

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A training batch begins (alias of on_train_batch_begin, kept by Keras)."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A training batch ended (alias of on_train_batch_end)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """An epoch (0-based) begins."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """An epoch ended; ``logs`` holds its training and validation results."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """An evaluation batch begins."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """An evaluation batch ended."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A prediction batch begins."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A prediction batch ended."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """fit begins."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """fit ended."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """evaluate (or fit's validation) begins."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """evaluate (or fit's validation) ended."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """predict begins."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """predict ended."""


class History(Callback):
    """Records every epoch's logs: ``history.history[key]`` is the list of values per
    epoch, ``history.epoch`` the epoch numbers; fit returns it and sets model.history."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """The callback ``fit(verbose=1|2)`` adds: "Epoch i/N" (when N > 1) and the bar."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__()
        self.seen = 0
        self.progbar: Progbar | None = None
        self.target: int | None = None
        self.verbose = 1
        self.epochs = 1
        self.stream = stream
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._called_in_fit = True

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            out = self.stream if self.stream is not None else sys.stdout
            out.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            out.flush()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._finalize_progbar(logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._finalize_progbar(logs)

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self) -> None:
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step", stream=self.stream)

    def _update_progbar(self, batch: int, logs: dict | None = None) -> None:
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs: dict | None) -> None:
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


class CallbackList(Callback):
    """The callbacks of one fit/evaluate/predict call, driven as one: each hook calls
    every callback's hook in order, with the logs made Python floats and sorted by key.
    ``add_history`` appends a History (also set as ``model.history``) and
    ``add_progbar`` a ProgbarLogger, unless the list holds one already; ``**params``
    (verbose, epochs, steps) reach every callback's ``set_params``."""

    def __init__(
        self,
        callbacks: Any = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ):
        super().__init__()
        self.callbacks: list[Callback] = _flatten(callbacks)
        self._history: History | None = None
        self._progbar: Any = None
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict) -> None:
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model: Any) -> None:
        if not model:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self._active():
            callback.set_model(model)

    def _active(self) -> list[Callback]:
        """The callbacks this process runs: all of them, except that under DataParallel
        only rank 0 runs those that print or write files (the progress bar, checkpoints,
        backups, TensorBoard and CSV logs); the others compute only from the logs and
        weights, which every process shares."""
        if distribution_module.is_chief():
            return self.callbacks
        return [c for c in self.callbacks if not isinstance(c, _CHIEF_ONLY)]

    def _call(self, hook: str, *args: Any, logs: dict | None = None) -> None:
        logs = _pythonify_logs(logs)
        for callback in self._active():
            getattr(callback, hook)(*args, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call("on_predict_end", logs=logs)

    def __iter__(self) -> Any:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)


def _flatten(callbacks: Any) -> list:
    if not callbacks:
        return []
    if isinstance(callbacks, CallbackList):
        return list(callbacks.callbacks)
    if isinstance(callbacks, (list, tuple)):
        return [cb for item in callbacks for cb in _flatten(item)]
    return [callbacks]


# --- monitoring -------------------------------------------------------------------------

_MAXIMISED = ("acc", "accuracy", "auc", "precision", "recall", "f1_score", "fbeta_score", "iou", "r2_score")


def _less(a: float, b: float) -> bool:
    return bool(np.less(a, b))


def _greater(a: float, b: float) -> bool:
    return bool(np.greater(a, b))


class MonitorCallback(Callback):
    """Base of callbacks that watch one logged quantity for improvement."""

    def __init__(
        self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None, min_delta: float = 0
    ):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[float, float], bool] | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            metric_name = self.monitor.removeprefix("val_")
            if metric_name == "loss":
                self.monitor_op = _less
            for metric in _model_metrics(self.model):
                if getattr(metric, "name", None) == metric_name and getattr(metric, "_direction", None):
                    self.monitor_op = _greater if metric._direction == "up" else _less
            if self.monitor_op is None and metric_name in _MAXIMISED:
                # Metric objects the model does not expose: Keras' built-in directions.
                self.monitor_op = _greater
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received "
                    f"monitor={self.monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass "
                    "`mode='min'` in order to use the lowest value."
                )
        if self.monitor_op is _less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value: float, reference_value: float | None) -> bool:
        if reference_value is None:
            return True
        return self.monitor_op(monitor_value - self.min_delta, reference_value)


def _model_metrics(model: Any) -> list:
    """The model's metric objects (flattening containers that hold ``.metrics``)."""
    found = []
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # noqa: BLE001 - a model not compiled yet may refuse
        return []
    for m in metrics:
        inner = getattr(m, "metrics", None)
        found.extend(inner if isinstance(inner, (list, tuple)) else [m])
    return found


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` stops improving: after each epoch (from
    ``start_from_epoch`` on) ``wait`` grows by one and resets on an improvement
    (``current - min_delta`` better than the best, and than ``baseline`` if set);
    training stops when wait >= patience (never at epoch 0). With
    ``restore_best_weights`` the best epoch's weights come back at the end."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights: list | None = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # The first epoch counted is the reference, even when it does not beat the baseline.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict | None) -> float | None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value


# Keras 2's weights paths, which ModelCheckpoint(save_weights_only=True) accepts with a
# warning (saving.LEGACY_WEIGHTS_SUFFIXES; that module imports this one's importers).
_LEGACY_WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".ckpt")


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``, path ending in .keras or .h5) or its weights
    (``model.save_weights``, path ending in .weights.h5) after every epoch, or every
    ``save_freq`` batches. ``filepath`` may hold ``{epoch:02d}`` (1-based) and any logged
    key (``{val_loss:.2f}``). With ``save_best_only`` only improvements of ``monitor``
    are saved."""

    def __init__(
        self,
        filepath: Any,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: Any = "epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values")
        self._legacy_weights_path = False
        if save_weights_only:
            if self.filepath.endswith(_LEGACY_WEIGHTS_SUFFIXES) and not self.filepath.endswith(".weights.h5"):
                warnings.warn(
                    f"ModelCheckpoint({self.filepath!r}, save_weights_only=True): Keras 3 requires paths ending "
                    "in `.weights.h5`; the files are written in the `.weights.h5` layout and `load_weights` reads "
                    "them back (accepted here, rejected by Keras 3): name them `*.weights.h5`",
                    DeprecationWarning,
                    stacklevel=user_stacklevel(),
                )
                self._legacy_weights_path = True
            elif not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`"
                    ", the filepath provided must end in `.weights.h5` "
                    f"(Keras weights format). Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                f"The filepath provided must end in `.keras` (Keras model format). Received: filepath={self.filepath}"
            )

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        return _batch_save_due(self, batch)

    def _should_save_model(self, epoch: int, logs: dict | None, filepath: str) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                "Falling back to `save_best_only=False`.",
                stacklevel=2,
            )
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                    f"saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        if not self._should_save_model(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname and not os.path.exists(dirname):
            os.makedirs(dirname, exist_ok=True)
        if self._legacy_weights_path:
            # Cycle: saving imports the models, whose trainer imports this module.
            from symgraph.keras.saving import write_weights_file

            write_weights_file(self.model, filepath)
        elif self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from e


class LearningRateScheduler(Callback):
    """At each epoch's start, ``optimizer.learning_rate = schedule(epoch, lr)`` (or
    ``schedule(epoch)`` for a one-argument function); the rate is logged as
    "learning_rate" at the epoch's end."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, float(np.asarray(optimizer.learning_rate)))
        except TypeError:  # the Keras 1 one-argument schedule(epoch)
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` (not below ``min_lr``) when ``monitor``
    has not improved by ``min_delta`` for ``patience`` epochs, then wait ``cooldown``
    epochs before counting again. Logs the rate as "learning_rate"."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ):
        if "epsilon" in kwargs:  # the Keras 2.1 name of min_delta
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated; use `min_delta` instead.", stacklevel=2)
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(np.asarray(optimizer.learning_rate))
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class CSVLogger(Callback):
    """Write each epoch's logs as a CSV row: an "epoch" column (0-based) then the log keys
    sorted (val_ columns added up front when the first epoch has none, filled "NA"),
    ``separator`` between fields; ``append`` continues an existing file."""

    def __init__(self, filename: Any, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")  # noqa: SIM115 - open across epochs
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}

        def handle_value(k: Any) -> Any:
            is_zero_dim_ndarray = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim_ndarray:
                return f'"[{", ".join(map(str, k))}]"'
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if not any(key.startswith("val_") for key in self.keys) and self.keys:
                self.keys.extend([f"val_{k}" for k in self.keys])
        if not self.writer:
            sep = self.sep

            class CustomDialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin/on_epoch_end(epoch, logs),
    on_train_begin/on_train_end(logs), on_train_batch_begin/on_train_batch_end(batch,
    logs); other hooks by keyword (e.g. ``on_batch_end=``)."""

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
        **kwargs: Any,
    ):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stop training (or raise, with ``raise_error``) when a batch's loss is NaN or inf."""

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately."
                )
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


# --- TensorBoard -------------------------------------------------------------------------


class TensorBoard(Callback):
    """Event files TensorBoard reads (``tensorboard --logdir=log_dir``), as Keras 3 writes
    them: ``log_dir/train`` and ``log_dir/validation``, each created when it is first
    written. Every epoch writes ``epoch_<key>`` scalars at step ``epoch`` (training logs
    and the learning rate to train/, the ``val_`` logs without the prefix to
    validation/); every evaluation writes ``evaluation_<key>_vs_iterations`` to
    validation/ at the optimizer's step count. With an integer ``update_freq`` (or
    "batch", 1) training batches write ``batch_<key>`` every ``update_freq`` batches, at
    the count of batches since fit began. ``write_graph`` writes the model's config (the
    Keras conceptual graph, Sequential and functional models); ``histogram_freq``
    writes every weight's histogram every that many epochs (``write_images`` also the
    weights as images); ``write_steps_per_second`` logs the training speed;
    ``embeddings_freq`` writes the projector config and saves the weights.
    ``profile_batch`` must be 0: there is no TensorFlow profiler to run.

    The scalars are the summaries ``tf.summary.scalar`` writes (float32 tensors with the
    "scalars" plugin), so TensorBoard, ``EventAccumulator.Tensors`` and tools written for
    TensorFlow 2's event files read them."""

    def __init__(
        self,
        log_dir: Any = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: Any = "epoch",
        profile_batch: Any = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ):
        super().__init__()
        # tensorboard is an optional dependency (pip install symgraph[tensorboard]): only
        # this callback writes event files, so it is imported when one is made rather than
        # with keras.callbacks, which every model imports.
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
            from tensorboard.plugins.histogram import summary_v2 as histogram_summary
            from tensorboard.plugins.scalar import summary_v2 as scalar_summary
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError as exc:
            raise ImportError(
                "keras.callbacks.TensorBoard writes its event files with the `tensorboard` package, which is "
                "not installed: pip install symgraph[tensorboard] (or pip install tensorboard)"
            ) from exc
        self._proto = _TensorBoardProtos(
            event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2, histogram_summary, scalar_summary
        )
        self._event_file_writer = EventFileWriter
        if profile_batch not in (0, "0", None, (0, 0), [0, 0]):
            raise ValueError(
                "Profiling is not available in symgraph.keras (there is no TensorFlow profiler to run): "
                f"profile_batch must be 0. Received: profile_batch={profile_batch} (sg.function's "
                "`profile` times a compiled step's kernels)"
            )
        update_freq = 1 if update_freq == "batch" else update_freq
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive integer. Received: {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._previous_epoch_iterations = 0.0
        self._epoch_start_time = 0.0
        self._batch_start_time = 0.0
        self._writers: dict[str, Any] = {}
        # Keras' default-writer stack: (writer key, whether this step is recorded) for
        # the batch summaries, which go to the writer fit or evaluate pushed last.
        self._default_writers: list[tuple[str, bool]] = []
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")

    # -- writers
    def _writer(self, key: str) -> Any:
        writer = self._writers.get(key)
        if writer is None:
            logdir = self._train_dir if key == "train" else self._val_dir
            os.makedirs(logdir, exist_ok=True)
            writer = self._event_file_writer(logdir, filename_suffix=".v2")
            self._writers[key] = writer
        return writer

    def _write(self, key: str, summary: Any, step: int) -> None:
        event = self._proto.event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        self._writer(key).add_event(event)

    def _scalar(self, key: str, tag: str, value: Any, step: int) -> None:
        try:
            number = np.float32(value)
        except (TypeError, ValueError):
            return  # a log that is not a number (Keras' tf.summary.scalar would raise; nothing to plot)
        self._write(key, self._proto.scalar_summary.scalar_pb(tag, number), step)

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _push_writer(self, key: str, step: int) -> None:
        if self.update_freq == "epoch":
            return
        self._default_writers.append((key, step % self.update_freq == 0))

    def _pop_writer(self) -> None:
        if self.update_freq == "epoch" or not self._default_writers:
            return
        self._default_writers.pop()

    def _default_scalar(self, tag: str, value: Any, step: int) -> None:
        """A summary written to the default writer, as ``tf.summary.scalar`` without an
        explicit writer: nothing unless a writer is pushed and this step is recorded."""
        if self._default_writers and self._default_writers[-1][1]:
            self._scalar(self._default_writers[-1][0], tag, value, step)

    # -- the model
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()
        if self.write_graph:
            self._write_keras_model_summary()
        if self.embeddings_freq:
            self._configure_embeddings()

    def _write_keras_model_summary(self) -> None:
        """The model's JSON as the "graph_keras_model" summary TensorBoard's graph
        dashboard draws (Keras writes it for Sequential and functional models)."""
        if type(self.model).__name__ not in ("Functional", "Sequential") or not hasattr(self.model, "to_json"):
            return
        try:
            json_string = self.model.to_json()
        except Exception as exc:  # noqa: BLE001 - as in Keras, a model that cannot be described is not an error
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {exc}", stacklevel=2)
            return
        proto = self._proto
        metadata = proto.summary_pb2.SummaryMetadata(
            plugin_data=proto.summary_pb2.SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1")
        )
        tensor = proto.tensor_pb2.TensorProto(
            dtype=proto.types_pb2.DT_STRING,
            tensor_shape=proto.tensor_shape_pb2.TensorShapeProto(),
            string_val=[json_string.encode("utf-8")],
        )
        summary = proto.summary_pb2.Summary(
            value=[proto.summary_pb2.Summary.Value(tag="keras", metadata=metadata, tensor=tensor)]
        )
        self._write("train", summary, 0)

    def _configure_embeddings(self) -> None:
        # The projector's protos ship with the optional tensorboard package (see __init__).
        from google.protobuf import text_format
        from tensorboard.plugins.projector import projector_config_pb2

        config = projector_config_pb2.ProjectorConfig()
        metadata = self.embeddings_metadata
        remaining = dict(metadata) if isinstance(metadata, dict) else None
        for layer in self.model.layers:
            if isinstance(layer, Embedding):
                embedding = config.embeddings.add()
                embedding.tensor_name = "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"
                if isinstance(metadata, str):
                    embedding.metadata_path = metadata
                elif remaining is not None and layer.name in remaining:
                    embedding.metadata_path = remaining.pop(layer.name)
        if remaining:
            raise ValueError(
                "Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                f"`embeddings_metadata` argument: {remaining.keys()}"
            )
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as f:
            f.write(text_format.MessageToString(config))

    # -- hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0.0
        self._push_writer("train", self._global_train_batch)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._pop_writer()
        self._close_writers()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._push_writer("val", self._global_test_batch)

    def on_test_end(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations"):
            step = int(np.asarray(optimizer.iterations.get_value()))
            for name, value in (logs or {}).items():
                self._scalar("val", f"evaluation_{name}_vs_iterations", value, step)
        self._pop_writer()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        if self.update_freq != "epoch":
            self._pop_writer()
            self._push_writer("train", self._global_train_batch)
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._batch_start_time, 1e-9)
            self._default_scalar("batch_steps_per_second", 1.0 / elapsed, self._global_train_batch)
        if isinstance(logs, dict):
            for name, value in logs.items():
                self._default_scalar(f"batch_{name}", value, self._global_train_batch)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_test_batch += 1
        if self.update_freq != "epoch":
            self._pop_writer()
            self._push_writer("val", self._global_test_batch)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.write_steps_per_second:
            self._previous_epoch_iterations = float(np.asarray(self.model.optimizer.iterations.get_value()))
            self._epoch_start_time = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log_epoch_metrics(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(os.path.join(self._train_dir, f"keras_embedding.ckpt-{epoch}.weights.h5"))

    def _log_epoch_metrics(self, epoch: int, logs: dict | None) -> None:
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train_logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        if self.write_steps_per_second:
            iterations = float(np.asarray(self.model.optimizer.iterations.get_value()))
            elapsed = max(time.time() - self._epoch_start_time, 1e-9)
            train_logs["steps_per_second"] = (iterations - self._previous_epoch_iterations) / elapsed
        for name, value in train_logs.items():
            self._scalar("train", f"epoch_{name}", value, epoch)
        for name, value in val_logs.items():
            self._scalar("val", f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        for layer in self.model.layers:
            for weight in layer.weights:
                name = str(getattr(weight, "path", weight.name)).replace(":", "_")
                value = np.asarray(weight.get_value())
                summary = self._proto.histogram_summary.histogram_pb(f"{name}/histogram", value)
                self._write("train", summary, epoch)
                if self.write_images:
                    self._log_weight_as_image(value, f"{name}/image", epoch)
        self._writer("train").flush()

    def _log_weight_as_image(self, weight: np.ndarray, tag: str, epoch: int) -> None:
        """Keras' picture of a weight: a bias as one row, a kernel as a matrix (wider than
        tall), a 3-D kernel as one image per output channel; written as
        ``tf.summary.image`` writes (floats clipped to [0, 1] and scaled by 255.5 to 8
        bits, at most 3 images as PNG, after their width and height)."""
        image = np.squeeze(weight)
        if image.ndim == 1:
            image = image.reshape(1, image.shape[0], 1, 1)
        elif image.ndim == 2:
            if image.shape[0] > image.shape[1]:
                image = image.T
            image = image.reshape(1, image.shape[0], image.shape[1], 1)
        elif image.ndim == 3:
            image = np.transpose(image, (2, 0, 1))[..., None]  # channels first: one image per kernel
        else:
            return
        pixels = (np.clip(image.astype(np.float64), 0.0, 1.0) * 255.5).astype(np.uint8)
        proto = self._proto
        strings = [str(pixels.shape[2]).encode(), str(pixels.shape[1]).encode()]
        strings += [_png_grayscale(picture[..., 0]) for picture in pixels[:3]]
        tensor = proto.tensor_pb2.TensorProto(
            dtype=proto.types_pb2.DT_STRING,
            tensor_shape=proto.tensor_shape_pb2.TensorShapeProto(
                dim=[proto.tensor_shape_pb2.TensorShapeProto.Dim(size=len(strings))]
            ),
            string_val=strings,
        )
        metadata = proto.summary_pb2.SummaryMetadata(
            plugin_data=proto.summary_pb2.SummaryMetadata.PluginData(plugin_name="images")
        )
        summary = proto.summary_pb2.Summary(
            value=[proto.summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
        )
        self._write("train", summary, epoch)


class _TensorBoardProtos:
    """The tensorboard modules a TensorBoard callback writes with (imported when it is made)."""

    def __init__(
        self,
        event_pb2: Any,
        summary_pb2: Any,
        tensor_pb2: Any,
        tensor_shape_pb2: Any,
        types_pb2: Any,
        histogram_summary: Any,
        scalar_summary: Any,
    ):
        self.event_pb2 = event_pb2
        self.summary_pb2 = summary_pb2
        self.tensor_pb2 = tensor_pb2
        self.tensor_shape_pb2 = tensor_shape_pb2
        self.types_pb2 = types_pb2
        self.histogram_summary = histogram_summary
        self.scalar_summary = scalar_summary


def _png_grayscale(pixels: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a 2-D uint8 array (each row unfiltered, one zlib stream)."""
    height, width = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# --- BackupAndRestore --------------------------------------------------------------------


class BackupAndRestore(Callback):
    """Resume a ``fit`` that was interrupted: at the end of every epoch (or every
    ``save_freq`` batches) the weights and the optimizer's state go to
    ``backup_dir/latest.weights.h5`` and the next epoch's number to
    ``backup_dir/training_metadata.json``; a later ``fit`` with this callback loads them
    at its start and runs from that epoch. ``double_checkpoint`` keeps the previous
    backup too (``*.bkp``), used when the latest cannot be read; ``delete_checkpoint``
    removes ``backup_dir`` when a fit completes. A model not built yet gets the weights
    when it is built (``load_weights`` defers), where Keras requires a built model."""

    def __init__(
        self,
        backup_dir: Any,
        save_freq: Any = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(
                "Invalid value for argument `save_freq`. "
                f"Received: save_freq={save_freq}. "
                "Expected either 'epoch' or an integer value."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"

    def on_train_begin(self, logs: dict | None = None) -> None:
        try:
            self._load_model()
        except (OSError, SavedFileError):
            # The latest backup cannot be read (killed while writing it?): the previous one.
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        if os.path.exists(self._weights_path):
            optimizer = getattr(self.model, "optimizer", None)
            if self.model.built and optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_weights)  # its slots must exist to be loaded
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path) as f:
                try:
                    metadata = json.loads(f.read())
                except ValueError as exc:
                    raise SavedFileError(f"{self._training_metadata_path}: not valid JSON ({exc})") from None
            epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise SavedFileError(f"{self._training_metadata_path}: no epoch number (a count >= 0) in {metadata!r}")
            self.model._initial_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model()

    def _save_model(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._prev_weights_path)
        if self.double_checkpoint and os.path.exists(self._training_metadata_path):
            shutil.copyfile(self._training_metadata_path, self._prev_training_metadata_path)
        self.model.save_weights(self._weights_path, overwrite=True)
        with open(self._training_metadata_path, "w") as f:
            f.write(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))

    def _should_save_on_batch(self, batch: int) -> bool:
        return _batch_save_due(self, batch)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "MonitorCallback",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "CSVLogger",
    "LambdaCallback",
    "TerminateOnNaN",
    "TensorBoard",
    "BackupAndRestore",
]


# What only rank 0 runs under DataParallel (CallbackList._active). A resumed fit restores on
# rank 0, and the trainer broadcasts the weights and the epoch to the others.
_CHIEF_ONLY = (ProgbarLogger, ModelCheckpoint, BackupAndRestore, TensorBoard, CSVLogger)


def _batch_save_due(callback: Any, batch: int) -> bool:
    """Whether ``save_freq`` batches have passed since ``callback`` last saved
    (ModelCheckpoint's and BackupAndRestore's integer ``save_freq``), counting ``batch``."""
    if callback.save_freq == "epoch":
        return False
    last = callback._last_batch_seen
    # batches count from 0, and restart each epoch
    added = batch + 1 if last is None or batch <= last else batch - last
    callback._batches_seen_since_last_saving += added
    callback._last_batch_seen = batch
    if callback._batches_seen_since_last_saving >= callback.save_freq:
        callback._batches_seen_since_last_saving = 0
        return True
    return False
