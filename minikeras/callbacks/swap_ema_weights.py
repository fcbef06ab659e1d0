"""SwapEMAWeights: evaluate and predict with the optimizer's moving averages of the weights.

With ``use_ema=True`` the optimizer keeps a moving average a of every weight w
(``optimizers/ema.py``). This callback swaps w and a in place around evaluation:

    on_test_begin / on_predict_begin:   w, a = a, w     the model now holds the averages
    on_test_end / on_predict_end:       w, a = a, w     back to the trained weights

so validation during ``fit``, ``evaluate`` and ``predict`` see the averaged model, and training
goes on from its own weights. With ``swap_on_epoch=True`` it also swaps at each epoch's end
(so that callbacks placed after it, e.g. ModelCheckpoint, see the averages) and back at the
next epoch's start; after the last epoch it sets a = w (the averages, now in the model), since
``fit`` then ends with ``finalize_variable_values`` (w = a).

Two differences from Keras 3.15.1, where Keras is wrong (``parity_report.md``): Keras'
``on_predict_end`` never swaps back, so after ``predict(callbacks=[SwapEMAWeights()])`` the
model keeps the averages as its weights; and its TensorFlow swap goes through additions
(w = w + a, a = w - a, w = w - a), which rounds (weights 6e-8 off after one evaluate). Here
the swap copies, so it is exact both ways.
"""

from __future__ import annotations

from typing import Any

from minikeras.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Evaluate and predict with the EMA weights (``use_ema=True``); see the module docstring."""

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self) -> list[tuple[Any, Any]]:
        """(w, a) for every weight the optimizer averages (none before its first step)."""
        optimizer = self.model.optimizer
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the "
                             f"optimizer. Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        averages = getattr(optimizer, "_model_variables_moving_average", [])
        return [(variable.value, a) for variable, a in zip(
            optimizer._trainable_variables, averages, strict=False)]

    def _swap(self) -> None:
        """w, a = a, w for each weight, in place, through a copy of w (exact)."""
        for w, a in self._pairs():
            w_before = w.copy()
            w[...] = a
            a[...] = w_before
        self._ema_weights_in_model = not self._ema_weights_in_model

    def _finalize_ema_values(self) -> None:
        """a = w: the averages are in the model; keep them for ``finalize_variable_values``."""
        for w, a in self._pairs():
            a[...] = w

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._ema_weights_in_model:
            self._swap()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._ema_weights_in_model:
            self._swap()

    def on_predict_begin(self, logs: dict | None = None) -> None:
        if not self._ema_weights_in_model:
            self._swap()

    def on_predict_end(self, logs: dict | None = None) -> None:
        if self._ema_weights_in_model:   # Keras tests `not` here, and never swaps back
            self._swap()
