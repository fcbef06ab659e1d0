"""Checks at the door: what a public call receives, checked before it changes anything.

Every public entry point (``fit``/``evaluate``/``predict``/``*_on_batch``, ``Input``, layer
constructors, ``compile``, optimizers, ``to_categorical``, loading) calls these helpers first,
so a bad argument fails here, with a message that names the argument, what was expected and
what came, and never halfway through a step (no weight, optimizer slot or RNN state moves).

Three kinds of answer, following Keras:

- Keras refuses it -> a ``ValueError``/``TypeError`` raised from this module (never a NumPy
  error from deep inside a layer);
- Keras silently accepts a likely mistake (a negative learning rate, ``epochs=0``,
  non-integer sparse labels) -> accepted, with a ``UserWarning`` naming the value;
- Keras is silent about NaN/inf in the data -> accepted, with a warning counting them.

Level 1 (see the architecture notes): imports only NumPy and the backend.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from typing import Any

import numpy as np

from minikeras import backend

# dtype kinds that are not numbers: str, bytes, object, complex, datetime, timedelta, void.
_BAD_KINDS = {"U": "string", "S": "bytes", "O": "object", "c": "complex",
              "M": "datetime", "m": "timedelta", "V": "structured/void"}


# NumPy < 1.24 only warns about ragged nested lists; made an error below.
_Ragged = getattr(np, "exceptions", np).VisibleDeprecationWarning


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside minikeras: the user's line that made the
    call is the one a warning points at, however deep inside the package it is raised."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=_user_stacklevel())


# --------------------------------------------------------------------------- arrays
def as_array(value: Any, arg: str, where: str) -> Any:
    """``value`` as an array (a CuPy array stays on the device), with a numeric dtype.

    A (nested) list of numbers becomes an array; a ragged or mixed list, a string, ``None``
    or a dtype that is not a number (string, object, complex, datetime) is refused, naming
    ``arg`` (e.g. ``"x"``, ``"y"``, ``"sample_weight"``) and the call ``where``.
    """
    if value is None:
        raise ValueError(f"{where}: `{arg}` is None; expected an array of numbers.")
    if isinstance(value, str | bytes):
        raise ValueError(f"{where}: Invalid dtype for `{arg}`: expected an array of numbers, "
                         f"received the string {value!r}.")
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        a = value   # already an array: only its dtype is left to check
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", _Ragged)
                a = np.asarray(value)
        except (ValueError, TypeError, _Ragged):
            a = None
        if a is None or (a.dtype.kind == "O" and isinstance(value, list | tuple)):
            raise ValueError(
                f"{where}: `{arg}` could not be made into an array of numbers: a nested list "
                "must be rectangular (every row the same length) and hold only numbers. "
                f"Received a {type(value).__name__}: {_short(value)}") from None
    kind = a.dtype.kind
    if kind in _BAD_KINDS:
        raise ValueError(
            f"{where}: Invalid dtype for `{arg}`: {a.dtype} ({_BAD_KINDS[kind]}). Expected "
            f"numbers (float, int, uint or bool); received an array of shape {tuple(a.shape)} "
            f"and dtype {a.dtype}.")
    return a


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def check_samples(n: int, arg: str, where: str) -> None:
    """0 samples: Keras has nothing to compute on; refuse rather than report a made-up loss."""
    if n == 0:
        raise ValueError(f"{where}: `{arg}` has 0 samples (expected at least 1); there is "
                         "nothing to compute on.")


def check_rank(a: Any, arg: str, where: str, min_ndim: int = 1) -> None:
    if a.ndim < min_ndim:
        raise ValueError(f"{where}: `{arg}` must have a batch axis: expected an array with at "
                         f"least {min_ndim} dimension(s), received shape {tuple(a.shape)} "
                         f"(a scalar).")


def warn_non_finite(a: Any, arg: str, where: str) -> None:
    """Count NaN/inf in a float array and warn (Keras is silent; the data are still used)."""
    if a.dtype.kind != "f" or a.size == 0:
        return
    xp = backend.xp if hasattr(a, "__cuda_array_interface__") else np
    if bool(xp.isfinite(a).all()):   # the common case: one pass, one value read
        return
    n_nan = int(xp.isnan(a).sum())
    n_inf = int(xp.isinf(a).sum())
    if n_nan or n_inf:
        _warn(f"{where}: `{arg}` contains {n_nan} NaN and {n_inf} inf value(s) out of "
              f"{a.size} (shape {tuple(a.shape)}); expected finite numbers. What is computed "
              "from them (loss, gradients, weights, outputs) will likely be NaN too.")


def adjust_rank(a: Any, expected: tuple | None, name: str, where: str) -> Any:
    """Keras 3's input rank rule for a model input of shape ``expected`` (batch axis first).

    Same rank: unchanged. One axis more, of size 1: squeezed (``(N, 3, 1)`` -> ``(N, 3)``).
    One axis less, where the input's last axis is 1: expanded (``(N,)`` -> ``(N, 1)``).
    Anything else: a ValueError naming the input, the expected and the received shape.
    """
    if expected is None:
        return a
    ref = tuple(expected)
    if a.ndim == len(ref):
        return a
    if a.ndim == len(ref) + 1 and a.shape[-1] == 1:
        return a[..., 0]
    if a.ndim == len(ref) - 1 and ref[-1] == 1:
        return a[..., None]
    raise ValueError(
        f"{where}: Invalid input shape for input '{name}': expected shape {ref} (batch axis "
        f"first), received an array of shape {tuple(a.shape)}. Only a missing or an extra "
        "trailing axis of size 1 is adjusted (as in Keras).")


def check_sparse_labels(y: Any, arg: str, where: str) -> None:
    """Float labels for a sparse loss are truncated to integers: warn when they aren't whole."""
    if y.dtype.kind != "f" or y.size == 0:
        return
    xp = backend.xp if hasattr(y, "__cuda_array_interface__") else np
    finite = y[xp.isfinite(y)]
    bad = finite[finite != xp.floor(finite)]
    if bad.size:
        _warn(f"{where}: `{arg}` holds {int(bad.size)} non-integer label(s) (e.g. "
              f"{float(bad.reshape(-1)[0])!r}) for a sparse loss, which expects integer class "
              "indices; they are truncated to integers.")


# --------------------------------------------------------------------------- scalars
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(value: Any, arg: str, where: str, allow_none: bool = True) -> None:
    """``batch_size``, ``steps``, ``units``...: None (when allowed) or an int >= 1."""
    if value is None and allow_none:
        return
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{where}: `{arg}` must be a positive integer; received "
                         f"{arg}={value!r}.")


def check_non_negative_int(value: Any, arg: str, where: str) -> None:
    if not _is_int(value) or value < 0:
        raise ValueError(f"{where}: `{arg}` must be an integer >= 0; received {arg}={value!r}.")


def check_fraction(value: Any, arg: str, where: str) -> None:
    """``validation_split``: a float in [0, 1)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not (
            0.0 <= float(value) < 1.0):
        raise ValueError(f"{where}: `{arg}` must be a float in [0, 1); received "
                         f"{arg}={value!r}.")


def check_rate(value: Any, arg: str, where: str) -> None:
    """``Dropout(rate)`` and similar: a number in [0, 1]."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not (
            0.0 <= float(value) <= 1.0):
        raise ValueError(f"{where}: `{arg}` must be a float in [0, 1]; received "
                         f"{arg}={value!r}.")


def check_epochs(epochs: Any, initial_epoch: Any, where: str = "fit()") -> None:
    """Keras runs ``range(initial_epoch, epochs)``: silently nothing when it is empty. Warn."""
    if not _is_int(initial_epoch):
        raise ValueError(f"{where}: `initial_epoch` must be an integer; received "
                         f"initial_epoch={initial_epoch!r}.")
    if not _is_int(epochs):
        raise ValueError(f"{where}: `epochs` must be an integer; received epochs={epochs!r}.")
    if epochs < 0:
        _warn(f"{where}: epochs={epochs} is negative (expected epochs >= 1): no training "
              "happens.")
    elif initial_epoch >= epochs:
        _warn(f"{where}: initial_epoch={initial_epoch} >= epochs={epochs} (expected "
              "initial_epoch < epochs; `epochs` is the index of the last epoch, not a count "
              "of epochs to add): no training happens.")


def check_learning_rate(value: Any, where: str) -> None:
    """Keras accepts any float learning rate; a negative or NaN one is almost surely a bug."""
    if callable(value):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where}: `learning_rate` must be a float or a schedule (a "
                         f"callable of `iterations`); received learning_rate={value!r} of "
                         f"type {type(value).__name__}.")
    if math.isnan(value) or math.isinf(value):
        _warn(f"{where}: learning_rate={value!r} is not finite (expected a small positive "
              "float such as 0.001): every weight will become NaN at the first step.")
    elif value < 0:
        _warn(f"{where}: learning_rate={value!r} is negative (expected a positive float): "
              "the optimizer will climb the loss instead of descending it.")


def check_shape(shape: Any, arg: str, where: str) -> tuple:
    """A shape argument (``Input(shape=...)``, ``Reshape``): a tuple of ints >= 0 or None."""
    if _is_int(shape):
        shape = (shape,)
    if not isinstance(shape, tuple | list):
        raise ValueError(f"{where}: `{arg}` must be a tuple of integers (or None for a "
                         f"free size); received {arg}={shape!r}.")
    for d in shape:
        if d is not None and (not _is_int(d) or d < 0):
            raise ValueError(f"{where}: `{arg}` must hold non-negative integers or None; "
                             f"received {arg}={tuple(shape)!r} (dimension {d!r}).")
    return tuple(shape)


def check_callbacks(callbacks: Any, base: type, where: str = "fit()") -> list:
    """A list of callbacks, or one callback alone (Keras accepts both)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, base):
        return [callbacks]
    if not isinstance(callbacks, list | tuple):
        raise TypeError(f"{where}: `callbacks` must be a list of Callback instances; received "
                        f"{callbacks!r} of type {type(callbacks).__name__}.")
    for cb in callbacks:
        if not isinstance(cb, base):
            raise TypeError(f"{where}: every item of `callbacks` must be a Callback instance; "
                            f"received {cb!r} of type {type(cb).__name__}.")
    return list(callbacks)


# --------------------------------------------------------------------------- training loss
class NanLossWatch:
    """One warning per ``fit`` when the training loss turns NaN/inf.

    Fed only the loss values ``fit`` already reads from the device (the progress bar's
    updates and the epoch-end logs), so it adds no device->host copy per batch; the batch it
    names is the first one at which a read saw the NaN.
    """

    def __init__(self) -> None:
        self.warned = False

    def see(self, loss: float, epoch: int, batch: int | None) -> None:
        if self.warned or math.isfinite(loss):
            return
        self.warned = True
        at = f"batch {batch}" if batch is not None else "the end"
        warnings.warn(f"fit(): the training loss became {loss} (expected a finite number) at "
                      f"epoch {epoch}, {at} (first read). Check the data for NaN/inf, lower "
                      "the learning rate, or add callbacks.TerminateOnNaN().",
                      UserWarning, stacklevel=_user_stacklevel())


def check_validation_data(data: Any, where: str = "fit()") -> None:
    if not isinstance(data, list | tuple) or len(data) not in (2, 3):
        size = f" of length {len(data)}" if isinstance(data, list | tuple) else ""
        raise ValueError(f"{where}: `validation_data` must be a tuple (x_val, y_val) or (x_val, "
                         f"y_val, val_sample_weight); received a {type(data).__name__}{size}.")


def check_float_in(value: Any, arg: str, where: str, low: float, high: float,
                   allow_none: bool = False, float_only: bool = False) -> None:
    """An optimizer hyperparameter (momentum, rho, beta_1...): a float in [low, high]
    (``float_only``: an int is refused too, as Keras' SGD refuses ``momentum=0``)."""
    if value is None and allow_none:
        return
    number = (float, np.floating) if float_only else numbers.Real
    if not isinstance(value, number) or isinstance(value, bool) or not (
            low <= float(value) <= high):
        bounds = f">= {low:g}" if math.isinf(high) else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{where}: `{arg}` must be a float {bounds}; received {arg}={value!r}.")


def check_dtype_name(dtype: Any, arg: str, where: str) -> None:
    """``dtype=`` of a layer or Input: something NumPy knows as a numeric dtype."""
    if dtype is None:
        return
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = None
    if kind is None or kind in _BAD_KINDS:
        raise ValueError(f"{where}: Invalid dtype for `{arg}`: expected a numeric dtype such as "
                         f"'float32', 'float64' or 'int32'; received {arg}={dtype!r}.")


def check_layer_args(where: str, dtype: Any = None, input_shape: Any = None,
                     batch_input_shape: Any = None, input_dim: Any = None,
                     batch_size: Any = None) -> None:
    """The arguments every layer (and ``Input``) takes: dtype and the declared shapes."""
    check_dtype_name(dtype, "dtype", where)
    if input_shape is not None:
        check_shape(input_shape, "input_shape", where)
    if batch_input_shape is not None:
        check_shape(batch_input_shape, "batch_input_shape", where)
    check_positive_int(input_dim, "input_dim", where)
    check_positive_int(batch_size, "batch_size", where)


def check_input_args(shape: Any, batch_size: Any, dtype: Any, batch_shape: Any,
                     where: str = "Input") -> None:
    if shape is None and batch_shape is None:
        raise ValueError(f"{where}: needs a `shape` (e.g. shape=(28, 28), without the batch "
                         "axis) or a `batch_shape`; received shape=None and batch_shape=None.")
    if shape is not None:
        check_shape(shape, "shape", where)
    if batch_shape is not None:
        check_shape(batch_shape, "batch_shape", where)
    check_positive_int(batch_size, "batch_size", where)
    check_dtype_name(dtype, "dtype", where)


def check_target_shape(target_shape: Any, where: str) -> None:
    """``Reshape(target_shape)``: positive ints, and at most one -1 (a size to infer)."""
    shape = (target_shape,) if _is_int(target_shape) else target_shape
    if not isinstance(shape, tuple | list) or not all(
            _is_int(d) and (d > 0 or d == -1) for d in shape) or list(shape).count(-1) > 1:
        raise ValueError(f"{where}: `target_shape` must be a tuple of positive integers, with "
                         f"at most one -1 (a size to infer); received "
                         f"target_shape={target_shape!r}.")


def check_path(filepath: Any, where: str) -> None:
    if not isinstance(filepath, str | bytes | os.PathLike):
        raise ValueError(f"{where}: `filepath` must be a path (a str or os.PathLike); "
                         f"received filepath={filepath!r} of type {type(filepath).__name__}.")


def check_hyperparameters(where: str, **values: Any) -> None:
    """Optimizer decay rates (rho, momentum, beta_1, beta_2) in [0, 1]; epsilon >= 0."""
    for arg, value in values.items():
        high = float("inf") if arg == "epsilon" else 1.0
        check_float_in(value, arg, where, 0.0, high)


def check_int(value: Any, arg: str, where: str) -> None:
    if not _is_int(value):
        raise ValueError(f"{where}: `{arg}` must be an integer; received {arg}={value!r}.")


def check_verbose(verbose: Any) -> int:
    """``verbose``: "auto" (= 1), 0 (silent), 1 (progress bar) or 2 (one line per epoch)."""
    if verbose == "auto":
        return 1
    if not _is_int(verbose) and not isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2; received verbose={verbose!r}.")
    return int(verbose)


def check_loss_weights(loss_weights: Any, where: str = "compile()") -> None:
    """None, a number, or a list/dict of numbers (one per output)."""
    if loss_weights is None:
        return
    values = (list(loss_weights.values()) if isinstance(loss_weights, dict) else
              list(loss_weights) if isinstance(loss_weights, list | tuple) else [loss_weights])
    for w in values:
        if isinstance(w, bool) or not isinstance(w, numbers.Real):
            raise ValueError(f"{where}: `loss_weights` must be a number, or a list/dict of "
                             f"numbers (one per output); received loss_weights={loss_weights!r}.")


def check_sample_weight_shape(sample_weight: Any, y_shape: tuple, sparse: bool,
                              where: str) -> Any:
    """A weight per loss value: (N,), or a leading part of the per-sample loss shape (the
    targets' shape without their last axis; with sparse labels, the labels' shape). An extra
    trailing axis of size 1 is dropped, as Keras does ((N, 1) weights are (N,))."""
    loss_shape = tuple(y_shape) if sparse else tuple(y_shape[:-1])
    if sample_weight.ndim == len(loss_shape) + 1 and sample_weight.shape[-1] == 1:
        sample_weight = sample_weight[..., 0]
    sw_shape = tuple(sample_weight.shape)
    if not sw_shape or sw_shape != loss_shape[:len(sw_shape)] or len(sw_shape) > len(
            loss_shape):
        raise ValueError(f"{where}: `sample_weight` has shape {sw_shape}, which does not fit "
                         f"targets of shape {tuple(y_shape)}: expected ({y_shape[0]},), one "
                         f"weight per sample (or the loss shape {loss_shape}).")
    return sample_weight
