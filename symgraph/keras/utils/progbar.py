"""``keras.utils.Progbar``: the progress bar of ``fit``/``evaluate``/``predict`` in Keras 3's
text format (it draws; ``callbacks.ProgbarLogger`` is the callback that drives it).

```
Epoch 1/2
15/15 ━━━━━━━━━━━━━━━━━━━━ 4s 161ms/step - accuracy: 0.1033 - loss: 2.3187
```
verbose=2 prints one line per epoch: ``16/16 - 2s - 98ms/step - loss: 2.2924``.

Keras redraws the line with backspaces and ``\\r`` even into log files; here the line
is redrawn in place (with colours) only when the stream is a terminal. Elsewhere whole
lines are printed: the final line of each epoch, plus an intermediate line at most every
``log_interval`` seconds (30 s), so a log file stays readable.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

import numpy as np

from symgraph.keras import distribution as distribution_module


def _format_value(value: Any, verbose: int) -> str:
    """Keras' number format: %.4f, or %.4e for magnitudes at or below 1e-3."""
    if isinstance(value, (list, tuple, np.ndarray)):
        value = float(np.mean(value))
    if not isinstance(value, (int, float, np.floating, np.integer)):
        return f" {value}"
    value = float(value)
    small = abs(value) <= 1e-3 if verbose == 1 else value <= 1e-3  # verbose=2 compares signed, as Keras does
    return f" {value:.4e}" if small else f" {value:.4f}"


def _format_time(time_per_unit: float, unit_name: str) -> str:
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1000.0:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1000000.0:.0f}us/{unit_name}"


class Progbar:
    """A progress bar over ``target`` steps (None: unknown); values shown as given.

    ``update(current, values, finalize)`` with ``values`` a list of (name, value).
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        unit_name: str = "step",
        stream: TextIO | None = None,
        log_interval: float = 30.0,
    ):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream
        self.log_interval = log_interval
        out = self._stream()
        self._dynamic_display = bool(getattr(out, "isatty", None) and out.isatty())
        self._values: dict[str, Any] = {}
        self._values_order: list[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._last_logged = self._start
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def _stream(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _write(self, text: str) -> None:
        if not distribution_module.is_chief():  # under DataParallel only rank 0 draws
            return
        out = self._stream()
        out.write(text)
        out.flush()

    def update(self, current: int, values: list[tuple[str, Any]] | None = None, finalize: bool | None = None) -> None:
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            if name not in self._values_order:
                self._values_order.append(name)
            self._values[name] = value
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if not self._dynamic_display and not finalize and now - self._last_logged < self.log_interval:
                return
            self._draw(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"{current:{digits}d}/{self.target}"
            info += f" - {now - self._start:.0f}s -{_format_time(time_per_unit, self.unit_name)}"
            for name in self._values_order:
                info += f" - {name}:" + _format_value(self._values[name], 2)
            self._write(info + "\n")
        self._last_update = now

    def _draw(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        color = self._dynamic_display
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            filled = int(self.width * float(current) / self.target)
            if color:
                bar = f"\x1b[1m{count}\x1b[0m "
                if filled > 0:
                    bar += f"\x1b[32m{'━' * filled}\x1b[0m"
                bar += f"\x1b[37m{'━' * (self.width - filled)}\x1b[0m"
            else:
                bar = (
                    f"{count} " + "━" * self.width
                    if finalize
                    else f"{count} " + "━" * filled + "─" * (self.width - filled)
                )
        else:
            bar = f"{current:7d}/Unknown"
        plain_bar_len = len(
            bar.replace("\x1b[1m", "").replace("\x1b[0m", "").replace("\x1b[32m", "").replace("\x1b[37m", "")
        )
        if self.target is not None and self.target > 0 and not finalize:
            eta = time_per_unit * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
        else:
            eta_text = f"{now - self._start:.0f}s"
        info = f" \x1b[1m{eta_text}\x1b[0m" if color else f" {eta_text}"
        plain_info_len = len(eta_text) + 1
        tail = _format_time(time_per_unit, self.unit_name)
        for name in self._values_order:
            tail += f" - {name}:" + _format_value(self._values[name], 1)
        info += tail
        plain_info_len += len(tail)
        total_width = plain_bar_len + plain_info_len
        if color:
            message = "\b" * self._prev_total_width + "\r" + bar + info
            if self._prev_total_width > total_width:
                message += " " * (self._prev_total_width - total_width)
            if finalize:
                message += "\n"
        else:
            message = bar + info + "\n"
            self._last_logged = now
        self._write(message)
        self._prev_total_width = total_width

    def add(self, n: int, values: list[tuple[str, Any]] | None = None) -> None:
        self.update(self._seen + n, values)

    @property
    def _seen(self) -> int:
        return getattr(self, "_seen_so_far", 0)

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step, leaving the first (compiling) step out once there are more."""
        self._seen_so_far = current
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
