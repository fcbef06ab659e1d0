"""Losses: the per-sample value and its derivative, side by side.

Each loss computes, for a batch, per-sample values ``l`` (one per row; one per time step for
sequence outputs: the last axis is averaged) and the element-wise derivative dl/dŷ. The model
then reduces as Keras does (``sum_over_batch_size``):

    L = Σ wᵢ lᵢ / (number of entries of l)        dL/dŷ = dl/dŷ · wᵢ / (number of entries of l)

The categorical cross-entropies after a softmax layer, and the binary one after a sigmoid,
are computed from that layer's *logits* z, as Keras' TensorFlow backend does:
−Σ y·log_softmax(z), with no clipping, and the gradient is taken with respect to z
(``softmax(z)·Σy − y``). Every other output (and ``predict``'s probabilities) gets the
clipped formula on the outputs themselves. Keras also takes a shortcut for the mismatched
pairs (log_softmax of a sigmoid's logits, sigmoid cross-entropy of a softmax's), which is not
the cross-entropy of the model's outputs: minikeras does not (see parity_report.md).
"""

from __future__ import annotations

from typing import Any

from minikeras import activations, backend
from minikeras.no_autodiff import loss_function_error


def _xp() -> Any:
    return backend.xp


def _sparse_labels(y_true: Any, y_pred: Any, name: str) -> Any:
    """(N,) or (N, 1) integer labels -> an int array of shape y_pred.shape[:-1], checked."""
    xp = _xp()
    labels = y_true
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if tuple(labels.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"{name}: labels of shape {tuple(y_true.shape)} do not match predictions of shape "
            f"{tuple(y_pred.shape)} (expected integer labels of shape {tuple(y_pred.shape[:-1])})."
        )
    labels = labels.astype(xp.int64)
    classes = y_pred.shape[-1]
    if backend.is_gpu() or labels.size == 0:
        return labels  # the model checks label ranges on the host, once, before training
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= classes:
        raise ValueError(
            f"{name}: received a label value of {hi if hi >= classes else lo} which is outside "
            f"the valid range of [0, {classes - 1}]."
        )
    return labels


def _one_hot(labels: Any, classes: int, dtype: Any) -> Any:
    xp = _xp()
    return (labels[..., None] == xp.arange(classes)).astype(dtype)


class Loss:
    """Base: ``__call__`` gives the reduced value; ``compute`` gives what training needs."""

    name = "loss"
    #: the activation ("softmax", "sigmoid") after which ``compute`` takes that layer's logits
    logits_of: str | None = None

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size") -> None:
        if name is not None:
            self.name = name
        if reduction not in ("sum_over_batch_size", "sum", "none", "mean"):
            raise ValueError(f"Invalid reduction {reduction!r}.")
        self.reduction = reduction

    def values(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample loss values (unreduced)."""
        return self.compute(y_true, y_pred)[0]

    def compute(self, y_true: Any, y_pred: Any, logits: Any = None) -> tuple[Any, Any, bool]:
        """Return ``(l, dl/dinput, wrt_logits)``; ``input`` is ``logits`` if that flag is True."""
        raise NotImplementedError

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_pred = backend.to_device(y_pred)
        y_true = backend.to_device(y_true, y_pred.dtype if not self._sparse else None)
        values = self.values(y_true, y_pred)
        if sample_weight is not None:
            w = backend.to_device(sample_weight, values.dtype)
            values = values * w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
        if self.reduction == "none":
            return values
        if self.reduction == "sum":
            return values.sum()
        return values.sum() / values.size

    _sparse = False

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}


class MeanSquaredError(Loss):
    """l = mean((y − ŷ)²) over the last axis;  dl/dŷ = 2(ŷ − y) / D."""

    name = "mean_squared_error"

    def compute(self, y_true: Any, y_pred: Any, logits: Any = None) -> tuple[Any, Any, bool]:
        diff = y_pred - y_true                 # ŷ − y
        D = y_pred.shape[-1]
        l = (diff * diff).mean(axis=-1)
        dl_dy_pred = diff * (2 / D)
        return l, dl_dy_pred, False


class MeanAbsoluteError(Loss):
    """l = mean(|y − ŷ|) over the last axis;  dl/dŷ = sign(ŷ − y) / D."""

    name = "mean_absolute_error"

    def compute(self, y_true: Any, y_pred: Any, logits: Any = None) -> tuple[Any, Any, bool]:
        xp = _xp()
        diff = y_pred - y_true                 # ŷ − y
        D = y_pred.shape[-1]
        l = xp.abs(diff).mean(axis=-1)
        dl_dy_pred = xp.sign(diff) / D
        return l, dl_dy_pred, False


class _Crossentropy(Loss):
    """Cross-entropies take ``from_logits``; after a layer ending in ``logits_of`` the model
    passes that layer's logits to ``compute`` even when ``from_logits`` is False."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if label_smoothing:
            raise NotImplementedError("label_smoothing is not supported by minikeras yet.")
        self.from_logits = from_logits

    def _logits(self, y_pred: Any, logits: Any) -> tuple[Any, bool]:
        """The z the formula from logits reads, and whether dl/dz is the gradient of the layer's
        logits (True: the model's outputs were probabilities and ``logits`` came from their
        layer) rather than of ``y_pred`` itself (False: ``from_logits``, y_pred is z)."""
        if self.from_logits:
            return y_pred, False
        return logits, True

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits}


class CategoricalCrossentropy(_Crossentropy):
    """One-hot (or soft) targets y.

    From logits z:        l = −Σ y·log_softmax(z);       dl/dz = softmax(z)·Σy − y
                          (softmax(z) = exp(log_softmax(z)), the log_softmax just computed)
    From probabilities p: q = p / Σp, qc = clip(q, ε, 1−ε), l = −Σ y·log qc;
                          dl/dq = −y/qc where q is inside the clip range (0 where clipped),
                          dl/dp = (dl/dq − Σ dl/dq·q) / Σp      (the renormalisation's Jacobian)
    """

    name = "categorical_crossentropy"
    logits_of = "softmax"

    def _check(self, y_true: Any, y_pred: Any) -> None:
        if tuple(y_true.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"{self.name}: targets of shape {tuple(y_true.shape)} do not match predictions of "
                f"shape {tuple(y_pred.shape)}. Categorical cross-entropy needs one-hot targets "
                "(use `to_categorical`) or use sparse_categorical_crossentropy for integer labels."
            )

    def compute(self, y_true: Any, y_pred: Any, logits: Any = None) -> tuple[Any, Any, bool]:
        self._check(y_true, y_pred)
        xp = _xp()
        if self.from_logits or logits is not None:
            z, wrt_logits = self._logits(y_pred, logits)
            log_softmax_z = activations.log_softmax(z)
            softmax_z = xp.exp(log_softmax_z)
            l = -(y_true * log_softmax_z).sum(axis=-1)
            dl_dz = softmax_z * y_true.sum(axis=-1, keepdims=True) - y_true
            return l, dl_dz, wrt_logits
        eps = backend.epsilon()
        sum_p = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / sum_p
        qc = xp.clip(q, eps, 1 - eps)
        l = -(y_true * xp.log(qc)).sum(axis=-1)
        inside = (q >= eps) & (q <= 1 - eps)
        dl_dq = -y_true / qc * inside
        dl_dp = (dl_dq - (dl_dq * q).sum(axis=-1, keepdims=True)) / sum_p
        return l, dl_dp, False


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Integer labels k.

    From logits z:        l = −log_softmax(z)_k;     dl/dz = softmax(z) − onehot(k)
                          (softmax(z) = exp(log_softmax(z)); −log_softmax(z)_k is computed
                          as −Σ onehot(k)·log_softmax(z))
    From probabilities p: pc = clip(p, ε, 1−ε) *first*, total = Σ pc, picked = pc_k,
                          l = −(log picked − log total);
                          dl/dp_j = (1/total − [j = k]/picked) where p_j is inside the clip range
    """

    name = "sparse_categorical_crossentropy"
    _sparse = True

    def compute(self, y_true: Any, y_pred: Any, logits: Any = None) -> tuple[Any, Any, bool]:
        xp = _xp()
        k = _sparse_labels(y_true, y_pred, self.name)
        onehot_k = _one_hot(k, y_pred.shape[-1], y_pred.dtype)
        if self.from_logits or logits is not None:
            z, wrt_logits = self._logits(y_pred, logits)
            log_softmax_z = activations.log_softmax(z)
            softmax_z = xp.exp(log_softmax_z)
            l = -(onehot_k * log_softmax_z).sum(axis=-1)
            dl_dz = softmax_z - onehot_k
            return l, dl_dz, wrt_logits
        eps = backend.epsilon()
        pc = xp.clip(y_pred, eps, 1 - eps)
        total = pc.sum(axis=-1, keepdims=True)
        picked = (pc * onehot_k).sum(axis=-1, keepdims=True)
        l = -(xp.log(picked) - xp.log(total))[..., 0]
        inside = (y_pred >= eps) & (y_pred <= 1 - eps)
        dl_dp = (1 / total - onehot_k / picked) * inside
        return l, dl_dp, False


class BinaryCrossentropy(_Crossentropy):
    """Targets y in [0, 1], averaged over the last axis (D entries).

    From logits z:        l = mean(max(z,0) − z·y + log(1 + e^−|z|));  dl/dz = (σ(z) − y) / D
    From probabilities p: pc = clip(p, ε, 1−ε), l = −mean(y·log pc + (1−y)·log(1−pc));
                          dl/dp = (pc − y) / (pc(1−pc)) / D  inside the clip range, else 0
    """

    name = "binary_crossentropy"
    logits_of = "sigmoid"

    def compute(self, y_true: Any, y_pred: Any, logits: Any = None) -> tuple[Any, Any, bool]:
        xp = _xp()
        if tuple(y_true.shape) != tuple(y_pred.shape):
            if y_true.size != y_pred.size:
                raise ValueError(
                    f"{self.name}: targets of shape {tuple(y_true.shape)} do not match "
                    f"predictions of shape {tuple(y_pred.shape)}."
                )
            y_true = y_true.reshape(y_pred.shape)
        D = y_pred.shape[-1]
        if self.from_logits or logits is not None:
            z, wrt_logits = self._logits(y_pred, logits)
            l_entries = xp.maximum(z, 0) - z * y_true + xp.log1p(xp.exp(-xp.abs(z)))
            l = l_entries.mean(axis=-1)
            dl_dz = (activations.sigmoid(z) - y_true) / D
            return l, dl_dz, wrt_logits
        eps = backend.epsilon()
        pc = xp.clip(y_pred, eps, 1 - eps)
        l_entries = -(y_true * xp.log(pc) + (1 - y_true) * xp.log(1 - pc))
        l = l_entries.mean(axis=-1)
        inside = (y_pred >= eps) & (y_pred <= 1 - eps)
        dl_dp = (pc - y_true) / (pc * (1 - pc)) / D * inside
        return l, dl_dp, False


_ALIASES: dict[str, type] = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_CLASSES = {c.__name__: c for c in _ALIASES.values()}


def get(identifier: Any) -> Loss:
    """A name (``"mse"``, ``"categorical_crossentropy"``...), a class, or a Loss instance."""
    if isinstance(identifier, Loss):
        if type(identifier).compute is Loss.compute:   # a Keras-style Loss with only `call`
            raise loss_function_error(identifier)
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. Valid names: "
                f"{sorted(_ALIASES)}."
            )
        return cls()
    if callable(identifier) and getattr(identifier, "__name__", None) in _ALIASES:
        return _ALIASES[identifier.__name__]()
    if callable(identifier):
        raise loss_function_error(identifier)
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. minikeras needs a named loss (or "
        "a Loss subclass with `compute`) because it must know the loss' derivative."
    )


def _function(cls: type) -> Any:
    def fn(y_true: Any, y_pred: Any) -> Any:
        y_pred = backend.to_device(y_pred)
        y_true = backend.to_device(y_true)
        return cls().values(y_true.astype(y_pred.dtype) if cls is not
                            SparseCategoricalCrossentropy else y_true, y_pred)

    fn.__name__ = cls.name
    fn.__doc__ = f"Per-sample {cls.name} (no reduction), as ``keras.losses.{cls.name}``."
    return fn


mean_squared_error = mse = _function(MeanSquaredError)
mean_absolute_error = mae = _function(MeanAbsoluteError)
binary_crossentropy = _function(BinaryCrossentropy)
categorical_crossentropy = _function(CategoricalCrossentropy)
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy)


def serialize(loss: Loss) -> str:
    return loss.name
