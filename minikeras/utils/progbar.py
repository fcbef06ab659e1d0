"""The Keras progress bar: ``3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 59ms/step - loss: 1.8296``.

verbose=1 redraws one line in place on a terminal (and prints only the final line when the
output is a file or a pipe); verbose=2 prints one line when the epoch ends; 0 prints nothing.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np


def format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_time_per_step(seconds: float, unit: str = "step") -> str:
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """Progress of ``target`` steps. ``update(current, values)`` shows the given values as-is
    (the model passes running epoch means, as Keras' logs are)."""

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, unit_name: str = "step", stream: Any = None) -> None:
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stream = stream or sys.stdout
        self.dynamic = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._start = time.time()
        self._last_update = 0.0
        self._prev_width = 0
        self._first_step_time: float | None = None

    def _time_per_step(self, current: int, now: float) -> float:
        if current <= 0:
            return 0.0
        # Keras excludes the first step (compilation/warm-up) once there are others.
        if self._first_step_time is not None and current > 1:
            return (now - self._first_step_time) / (current - 1)
        return (now - self._start) / current

    def update(self, current: int, values: Any = None, finalize: bool | None = None) -> None:
        """``values``: (name, value) pairs or a mapping, read only if this update draws
        (on a GPU each read is a device-to-host copy)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        if current == 1 and self._first_step_time is None:
            self._first_step_time = now
        per_step = self._time_per_step(current, now)
        if self.verbose == 1 and not finalize and (
                not self.dynamic or now - self._last_update < self.interval):
            return
        if self.verbose == 2 and not finalize:
            return
        items = values.items() if isinstance(values, Mapping) else (values or [])
        # an array-valued metric (several thresholds) shows its mean, as Keras' bar does
        metrics = "".join(f" - {k}: {format_value(float(np.mean(v)))}" for k, v in items)
        if self.verbose == 1:
            self._last_update = now
            if self.target:
                digits = int(math.log10(self.target)) + 1
                done = int(self.width * current / self.target)
                count = f"{current:{digits}d}/{self.target}"
                if self.dynamic:
                    bar = (f"\x1b[1m{count}\x1b[0m \x1b[32m{'━' * done}\x1b[0m"
                           f"\x1b[37m{'━' * (self.width - done)}\x1b[0m")
                    visible_bar = len(count) + 1 + self.width
                else:
                    bar = f"{count} {'━' * self.width}"
                    visible_bar = len(bar)
            else:
                bar = f"{current:7d}/Unknown"
                visible_bar = len(bar)
            if finalize or not self.target:
                when = f"{now - self._start:.0f}s"
            else:
                eta = per_step * (self.target - current)
                when = (f"{eta // 3600:.0f}:{eta % 3600 // 60:02.0f}:{eta % 60:02.0f}"
                        if eta > 3600 else f"{eta // 60:.0f}:{eta % 60:02.0f}" if eta > 60
                        else f"{eta:.0f}s")
            info = (f" \x1b[1m{when}\x1b[0m" if self.dynamic else f" {when}")
            info += format_time_per_step(per_step, self.unit_name) + metrics
            width = visible_bar + len(info) - (8 if self.dynamic else 0)
            line = ("\r" if self.dynamic else "") + bar + info
            if self._prev_width > width:
                line += " " * (self._prev_width - width)
            self._prev_width = width
            self.stream.write(line + ("\n" if finalize else ""))
            self.stream.flush()
        elif self.verbose == 2 and finalize:
            digits = int(math.log10(self.target)) + 1 if self.target else 1
            count = f"{current:{digits}d}/{self.target}"
            self.stream.write(f"{count} - {now - self._start:.0f}s -"
                              f"{format_time_per_step(per_step, self.unit_name)}{metrics}\n")
            self.stream.flush()
