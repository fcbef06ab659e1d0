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

    #: "up" when higher is better, "down" when lower is (callbacks' mode="auto" reads it).
    _direction: str | None = None

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
    _direction = "up"

    def values(self, y_true: Any, y_pred: Any) -> Any:
        pred = (y_pred > 0.5).astype(y_pred.dtype)
        return (y_true.reshape(y_pred.shape) == pred).astype(y_pred.dtype).mean(axis=-1)


class CategoricalAccuracy(Metric):
    _direction = "up"

    def values(self, y_true: Any, y_pred: Any) -> Any:
        xp = backend.xp
        return (xp.argmax(y_true, axis=-1) == xp.argmax(y_pred, axis=-1)).astype(y_pred.dtype)


class SparseCategoricalAccuracy(Metric):
    _direction = "up"

    def values(self, y_true: Any, y_pred: Any) -> Any:
        xp = backend.xp
        labels = y_true
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels.reshape(labels.shape[:-1])
        return (labels.astype(xp.int64) == xp.argmax(y_pred, axis=-1)).astype(y_pred.dtype)


class MeanSquaredError(Metric):
    _direction = "down"

    def values(self, y_true: Any, y_pred: Any) -> Any:
        d = y_pred - y_true.reshape(y_pred.shape)
        return (d * d).mean(axis=-1)


class MeanAbsoluteError(Metric):
    _direction = "down"

    def values(self, y_true: Any, y_pred: Any) -> Any:
        return backend.xp.abs(y_pred - y_true.reshape(y_pred.shape)).mean(axis=-1)


class _ConfusionMetric(Metric):
    """Weighted counts of a confusion matrix at one or more thresholds (Keras 3 semantics).

    Each entry of y_pred is a yes/no prediction ``ŷ > t`` for each threshold t (default 0.5;
    with ``top_k``, only the k largest entries of the last axis can be "yes", and t defaults
    to -inf); each entry of y_true is a positive label when nonzero. ``class_id`` keeps one
    column of the last axis. Counts add up over batches until ``reset_state`` (each epoch):

        TP[t] += Σ w·[label ∧ ŷ > t]    FP[t] += Σ w·[¬label ∧ ŷ > t]
        FN[t] += Σ w·[label ∧ ¬(ŷ > t)]
    """

    _direction = "up"

    def __init__(self, thresholds: Any = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        listed = None if thresholds is None else (
            list(thresholds) if isinstance(thresholds, list | tuple) else [thresholds])
        if listed is not None:
            invalid = [t for t in listed if t is None or t < 0 or t > 1]
            if invalid:
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else _NEG_INF
        self.thresholds = [float(t) for t in (listed if listed is not None else [default])]
        super().__init__(name or backend.unique_name(_snake(type(self).__name__)))

    def reset_state(self) -> None:
        xp = backend.xp
        zeros = xp.zeros(len(getattr(self, "thresholds", [0])), dtype=backend.floatx())
        self.true_positives, self.false_positives = zeros, zeros.copy()
        self.false_negatives = zeros.copy()

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        xp = backend.xp
        y_true = backend.to_device(y_true, backend.floatx())
        y_pred = backend.to_device(y_pred, backend.floatx())
        if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
            y_true = y_true[..., None]
        elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' compares y_true and y_pred entry by entry:"
                f" they need the same shape, got y_true {tuple(y_true.shape)} and y_pred "
                f"{tuple(y_pred.shape)}. For integer class labels use one-hot targets "
                "(to_categorical) with `class_id=` or `top_k=`.")
        if self.top_k is not None:
            y_pred = _keep_top_k(y_pred, self.top_k)
        w = xp.ones_like(y_pred)
        if sample_weight is not None:
            sw = backend.to_device(sample_weight, backend.floatx())
            try:
                w = xp.broadcast_to(sw.reshape(sw.shape + (1,) * (y_pred.ndim - sw.ndim)),
                                    y_pred.shape)
            except ValueError:
                raise ValueError(f"{type(self).__name__} '{self.name}': sample_weight of shape "
                                 f"{tuple(sw.shape)} does not fit y_pred of shape "
                                 f"{tuple(y_pred.shape)}.") from None
        if self.class_id is not None:
            if y_pred.ndim == 1:
                raise ValueError("When class_id is provided, y_pred must be a 2D array with "
                                 "shape (num_samples, num_classes), found shape: "
                                 f"{tuple(y_pred.shape)}")
            keep = slice(self.class_id, self.class_id + 1)
            y_true, y_pred, w = y_true[..., keep], y_pred[..., keep], w[..., keep]
        thresholds = xp.asarray(self.thresholds, dtype=y_pred.dtype)
        predicted = y_pred.reshape(1, -1) > thresholds[:, None]        # ŷ > t, per threshold
        label = (y_true != 0).reshape(1, -1)
        w = w.reshape(1, -1)
        self.true_positives = self.true_positives + (w * (label & predicted)).sum(axis=1)
        self.false_positives = self.false_positives + (w * (~label & predicted)).sum(axis=1)
        self.false_negatives = self.false_negatives + (w * (label & ~predicted)).sum(axis=1)

    def _ratio(self, numerator: Any, other: Any) -> Any:
        """numerator / (numerator + other), 0 where that is 0/0 (Keras' divide_no_nan)."""
        xp = backend.xp
        denominator = numerator + other
        ratio = xp.where(denominator > 0, numerator / xp.where(denominator > 0, denominator, 1),
                         0).astype(numerator.dtype)
        return ratio[0] if len(self.thresholds) == 1 else ratio

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": backend.floatx(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_ConfusionMetric):
    """Precision = TP / (TP + FP): of the entries predicted positive, the share that are."""

    def result(self) -> Any:
        return self._ratio(self.true_positives, self.false_positives)


class Recall(_ConfusionMetric):
    """Recall = TP / (TP + FN): of the positive entries, the share predicted positive."""

    def result(self) -> Any:
        return self._ratio(self.true_positives, self.false_negatives)


_NEG_INF = -1e10   # Keras' "minus infinity" for entries outside the top k


def _keep_top_k(y_pred: Any, k: int) -> Any:
    """y_pred where an entry is among the k largest of its last axis, else -1e10 (ties: the
    first entries win, as a stable sort orders them)."""
    xp = backend.xp
    rank = xp.argsort(xp.argsort(-y_pred, axis=-1, kind="stable"), axis=-1, kind="stable")
    return xp.where(rank < k, y_pred, y_pred.dtype.type(_NEG_INF))

def _snake(name: str) -> str:
    """``Precision`` -> ``precision`` (metric instances are named as Keras names them)."""
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


_NAMED: dict[str, type] = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "precision": Precision, "recall": Recall,
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
        return _NAMED[key](name=identifier)
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}. Valid names: "
        f"{sorted(['accuracy', 'acc', *_NAMED])}."
    )
