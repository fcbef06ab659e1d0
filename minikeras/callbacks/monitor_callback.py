"""MonitorCallback: the base of callbacks that watch one logged value (``monitor``).

"Better" means lower in mode 'min', higher in mode 'max'. Mode 'auto' decides as Keras 3
does, once the model's metrics exist (at the first epoch end): a loss ('loss', 'val_loss') is
better lower; a compiled metric is better in its own direction (accuracies, precision and
recall up; mse, mae down); any other name is an error asking for an explicit mode.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

from minikeras.callbacks.callback import Callback


class MonitorCallback(Callback):
    """An improvement is ``current - min_delta < best`` (mode min; ``>`` + min_delta for max)."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: Any = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor, self.mode = monitor, mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], bool] | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = operator.lt
            for group in getattr(self.model, "_metrics", None) or []:
                for metric in group:
                    direction = getattr(metric, "_direction", None)
                    if metric.name == name and direction is not None:
                        self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but Keras "
                    "isn't able to automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to monitor based on the "
                    "highest metric value, or pass `mode='min'` in order to use the lowest value.")
        if self.monitor_op is operator.lt:
            self.min_delta = -self.min_delta

    def _is_improvement(self, current: float, reference: float | None) -> bool:
        """True when there is no reference yet, or current beats it by more than min_delta."""
        if reference is None:
            return True
        return bool(self.monitor_op(current - self.min_delta, reference))
