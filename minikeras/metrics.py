"""Metrics: running, sample-weighted means kept on the device.

A metric turns each batch into per-sample values (1.0/0.0 for accuracies, squared errors
for mse...) and adds their sum and count to running totals. The totals stay on the device
(NumPy or CuPy); only ``result()`` is read back, once per progress-bar update.

``"accuracy"``/``"acc"`` is resolved from the shapes of targets and predictions, as Keras 3
does: predictions with a last axis of 1 -> binary accuracy (ŷ > 0.5); integer-label targets
(lower rank, or a last axis of 1 against several classes) -> sparse categorical accuracy;
otherwise categorical accuracy (argmax y == argmax ŷ).
"""

from __future__ import annotations

from typing import Any

from minikeras import backend


class Metric:
    """A running mean of per-sample values: total / count."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self.total: Any = 0.0
        self.count = 0

    def values(self, y_true: Any, y_pred: Any) -> Any:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """total += Σ wᵢvᵢ and count += Σ wᵢ (wᵢ = 1 without weights): a weighted mean."""
        v = self.values(y_true, y_pred)
        if sample_weight is None:
            self.total = self.total + v.sum(dtype=y_pred.dtype)
            self.count += int(v.size)
            return
        w = backend.to_device(sample_weight, y_pred.dtype)
        w = backend.xp.broadcast_to(w.reshape(w.shape + (1,) * (v.ndim - w.ndim)), v.shape)
        self.total = self.total + (v * w).sum(dtype=y_pred.dtype)
        self.count += float(backend.to_float(w.sum()))

    def result(self) -> Any:
        return self.total / self.count if self.count else self.total * 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Mean(Metric):
    """Weighted mean of scalars (the loss tracker: each batch's loss weighted by its size)."""

    def update_state(self, value: Any, weight: float = 1.0) -> None:  # type: ignore[override]
        self.total = self.total + value * weight
        self.count += weight


class BinaryAccuracy(Metric):
    def values(self, y_true: Any, y_pred: Any) -> Any:
        pred = (y_pred > 0.5).astype(y_pred.dtype)
        return (y_true.reshape(y_pred.shape) == pred).astype(y_pred.dtype).mean(axis=-1)


class CategoricalAccuracy(Metric):
    def values(self, y_true: Any, y_pred: Any) -> Any:
        xp = backend.xp
        return (xp.argmax(y_true, axis=-1) == xp.argmax(y_pred, axis=-1)).astype(y_pred.dtype)


class SparseCategoricalAccuracy(Metric):
    def values(self, y_true: Any, y_pred: Any) -> Any:
        xp = backend.xp
        labels = y_true
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels.reshape(labels.shape[:-1])
        return (labels.astype(xp.int64) == xp.argmax(y_pred, axis=-1)).astype(y_pred.dtype)


class MeanSquaredError(Metric):
    def values(self, y_true: Any, y_pred: Any) -> Any:
        d = y_pred - y_true.reshape(y_pred.shape)
        return (d * d).mean(axis=-1)


class MeanAbsoluteError(Metric):
    def values(self, y_true: Any, y_pred: Any) -> Any:
        return backend.xp.abs(y_pred - y_true.reshape(y_pred.shape)).mean(axis=-1)


_NAMED: dict[str, type] = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
}


def get(identifier: Any, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """A metric for ``identifier`` (its log name is the string given), resolved from shapes."""
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    key = identifier.lower()
    if key in ("accuracy", "acc"):
        if y_pred_shape[-1] == 1:
            return BinaryAccuracy(identifier)
        if len(y_true_shape) < len(y_pred_shape) or (
                y_true_shape[-1] == 1 and y_pred_shape[-1] != 1):
            return SparseCategoricalAccuracy(identifier)
        return CategoricalAccuracy(identifier)
    if key in _NAMED:
        return _NAMED[key](identifier)
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}. Valid names: "
        f"{sorted(['accuracy', 'acc', *_NAMED])}."
    )
