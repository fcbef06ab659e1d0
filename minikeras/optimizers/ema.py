"""The exponential moving average of the weights (Keras 3's ``use_ema``), for every optimizer.

With ``use_ema=True`` the optimizer keeps, beside each weight w, its running average a (the
``average`` slot), updated after every step's update of w, before ``iterations`` counts it.
With μ = ``ema_momentum`` and N = ``ema_overwrite_frequency``::

    not_first_step = 1 if iterations > 0 else 0   the first step copies the weight: a = w
    momentum = not_first_step * μ
    one_minus_momentum = 1 - momentum
    a = momentum * a + one_minus_momentum * w     w: the weight after this step's update
    if N and (iterations + 1) % N == 0:           every N-th step (iterations + 1 is the
        w = a                                     step being taken) the weight becomes a

``fit`` ends with ``optimizer.finalize_variable_values(model.trainable_weights)``: each weight
becomes its average (w = a), so the trained model is the averaged one. ``train_on_batch``
does not finalize (as in Keras): call ``finalize_variable_values`` yourself.

Every quantity is computed in the weight's dtype (float32), in this order, as Keras does:
``momentum`` is μ rounded to float32 and ``one_minus_momentum`` a float32 subtraction (for
μ = 0.99 it is 0.0099999905, not the rounded Python value 0.01), so that a run rounds exactly
like Keras' float32 run.

The averages are saved with the optimizer state, before every other slot (Keras' order:
iterations, learning rate, the average of each weight, then e.g. Adam's momentum and velocity).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from minikeras.utils import validation
from minikeras.variable import Variable

#: Keras 3's defaults for the three arguments
EMA_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None}


def check_ema_arguments(owner: str, use_ema: Any, ema_momentum: Any,
                        ema_overwrite_frequency: Any) -> None:
    """Keras' rule: with ``use_ema``, ``ema_momentum`` in [0, 1] and ``ema_overwrite_frequency``
    an integer >= 1 or None (falsy values such as 0 mean None); without it, both are ignored.
    The values Keras accepts silently but that are likely mistakes get a warning."""
    if not isinstance(use_ema, bool | np.bool_ | numbers.Integral) and use_ema is not None:
        try:
            truth = bool(use_ema)
        except (TypeError, ValueError):   # an array of several values has no single truth
            raise TypeError(f"{owner}: argument `use_ema` should be a bool; received "
                            f"{use_ema!r} of type {type(use_ema).__name__}.") from None
        validation._warn(f"{owner}: use_ema={use_ema!r} is not a bool; it is read as "
                         f"use_ema={truth} (Python truth, as Keras does).")
    if not use_ema:
        ignored = [f"{arg}={value!r}" for arg, value in (
            ("ema_momentum", ema_momentum), ("ema_overwrite_frequency", ema_overwrite_frequency))
            if not _is_default(value, EMA_DEFAULTS[arg])]
        if ignored:
            validation._warn(f"{owner}: {', '.join(ignored)} is ignored because use_ema is "
                             f"{use_ema!r}, as in Keras; pass use_ema=True to average weights.")
        return
    _check_momentum(owner, ema_momentum)
    _check_frequency(owner, ema_overwrite_frequency)


def _is_default(value: Any, default: Any) -> bool:
    """``value`` is Keras' default (0.99 given as 0.99, np.float64(0.99)...); an array or any
    other object is not, without comparing it (an array's ``==`` has no single truth)."""
    if value is default:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == default


def _check_momentum(owner: str, ema_momentum: Any) -> None:
    if isinstance(ema_momentum, bool) or not isinstance(ema_momentum, numbers.Real):
        raise TypeError(f"{owner}: argument `ema_momentum` should be a float in [0, 1]; "
                        f"received {ema_momentum!r} of type {type(ema_momentum).__name__}.")
    if math.isnan(ema_momentum):
        validation._warn(f"{owner}: ema_momentum=nan is accepted, as Keras does, but every "
                         "moving average becomes NaN (expected a float in [0, 1], e.g. 0.99).")
    elif not 0 <= ema_momentum <= 1:
        raise ValueError(f"{owner}: `ema_momentum` must be in the range [0, 1]. "
                         f"Received: ema_momentum={ema_momentum}")
    elif ema_momentum == 1:
        validation._warn(f"{owner}: ema_momentum=1 is accepted, as Keras does, but the average "
                         "never moves after the first step (it stays the weights of step 1).")


def _check_frequency(owner: str, frequency: Any) -> None:
    if frequency is None:
        return
    if isinstance(frequency, bool) or (isinstance(frequency, numbers.Integral)
                                       and frequency == 0):
        meaning = "1 (every step)" if frequency else "None (never overwrite)"
        validation._warn(f"{owner}: ema_overwrite_frequency={frequency!r} is accepted, as "
                         f"Keras does, and means {meaning}; expected an integer >= 1 or None.")
        return
    # numpy integers are accepted (Keras refuses them, though its message asks for an integer)
    if not isinstance(frequency, numbers.Integral) or frequency < 1:
        raise ValueError(f"{owner}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                         f"Received: ema_overwrite_frequency={frequency!r}")


class MovingAverageMixin:
    """The ``use_ema`` part of ``Optimizer``, with Keras' method names; the base class creates
    the ``average`` slots in ``build`` and calls ``_moving_average_step`` in ``apply``."""

    use_ema: Any
    ema_momentum: Any
    ema_overwrite_frequency: Any
    iterations: int
    _trainable_variables: list[Variable]
    _trainable_variables_indices: dict[int, int]
    _model_variables_moving_average: list[Any]

    def _moving_average_step(self) -> None:
        """After the step's updates, before ``iterations`` counts it: update every average,
        then, every ``ema_overwrite_frequency`` steps, copy the averages into the weights."""
        if not self.use_ema:
            return
        self._update_model_variables_moving_average(self._trainable_variables)
        frequency = self.ema_overwrite_frequency
        if frequency and (self.iterations + 1) % int(frequency) == 0:
            self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _update_model_variables_moving_average(self, trainable_variables: list[Variable]) -> None:
        """a = momentum * a + (1 - momentum) * w for each weight (the module's equations)."""
        for variable in trainable_variables:
            dtype = variable.dtype.type   # every quantity in the weight's dtype, as Keras
            index = self._trainable_variables_indices[id(variable)]
            a = self._model_variables_moving_average[index]
            w = variable.value
            not_first_step = dtype(self.iterations != 0)
            momentum = not_first_step * dtype(self.ema_momentum)
            one_minus_momentum = dtype(1) - momentum
            a[...] = momentum * a + one_minus_momentum * w

    def _overwrite_model_variables_with_average_value(
            self, trainable_variables: list[Variable]) -> None:
        """w = a for each weight this optimizer has an average of (a weight it never updated
        has no average: it is left as it is)."""
        for variable in trainable_variables:
            index = self._trainable_variables_indices.get(id(variable))
            if index is not None:
                variable.value[...] = self._model_variables_moving_average[index]

    def finalize_variable_values(self, var_list: list[Variable]) -> None:
        """The end of training (``fit`` calls it): with ``use_ema``, each weight of
        ``var_list`` becomes its moving average; without, nothing happens."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(list(var_list))
