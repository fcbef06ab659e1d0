"""The checks of the arguments every optimizer shares (learning rate, clipping, weight decay)
and of the gradients ``apply`` receives: Keras' rules, with clear messages, before anything
changes."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras.optimizers import schedules
from minikeras.utils import validation
from minikeras.variable import Variable


class LearningRateTypeError(TypeError, ValueError):
    """A learning rate that is not a number. A ``TypeError``, and a ``ValueError`` as well,
    because Keras raises ValueError for it: code written against either still catches it."""


def check_learning_rate(owner: str, learning_rate: Any) -> None:
    """Keras' rule for ``learning_rate`` (a Python float, a schedule or a callable), with a
    clear message, and a warning for the values Keras accepts silently but that cannot train
    (negative, NaN, infinite: ``utils.validation.check_learning_rate``)."""
    if isinstance(learning_rate, schedules.LearningRateSchedule):
        return
    if callable(learning_rate):
        _check_takes_no_arguments(owner, learning_rate)
        return
    if isinstance(learning_rate, bool) or not isinstance(
            learning_rate, int | float | np.integer | np.floating):
        raise LearningRateTypeError(
            f"{owner}: argument `learning_rate` should be a float, a LearningRateSchedule or a "
            f"callable taking no arguments; received {learning_rate!r} of type "
            f"{type(learning_rate).__name__}.")
    if isinstance(learning_rate, int | np.integer):
        raise ValueError(  # Keras 3 refuses integers: Adam(learning_rate=1) is an error there
            f"{owner}: argument `learning_rate` should be a float (Keras 3 refuses integers); "
            f"received {learning_rate!r}. Write {float(learning_rate)!r}.")
    validation.check_learning_rate(learning_rate, owner)


def _check_takes_no_arguments(owner: str, learning_rate: Callable[..., Any]) -> None:
    """Keras 3 calls a plain callable learning rate as ``learning_rate()`` at every step (only
    a ``LearningRateSchedule`` gets the step number): one that needs an argument would fail at
    the first step with Python's bare message, so it is refused here, saying what to write."""
    try:
        inspect.signature(learning_rate).bind()
    except TypeError:
        raise LearningRateTypeError(
            f"{owner}: argument `learning_rate`: a callable learning rate is called with no "
            f"arguments, as in Keras 3; received {learning_rate!r}, which needs "
            f"{inspect.signature(learning_rate)}. For a rate that depends on the step, "
            "subclass keras.optimizers.schedules.LearningRateSchedule (its __call__(step) "
            "gets the step number), or use one of its schedules.") from None
    except ValueError:   # no signature to read (some built-ins): Keras' own call will tell
        pass


def check_clipping_and_decay(owner: str, weight_decay: Any, clipnorm: Any, clipvalue: Any,
                             global_clipnorm: Any) -> None:
    """Numbers or None; one clipping at most (Keras' refusal); a clip value >= 0 (Keras accepts
    a negative one, which clips nothing; minikeras refuses it, as ``utils.validation`` does for
    every hyperparameter out of range); a warning for the values that do nothing useful (a
    clip value of 0, a negative decay)."""
    if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
        raise ValueError(
            "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
            f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
    for arg, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm),
                       ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, int | float | np.integer | np.floating)):
            raise TypeError(f"{owner}: argument `{arg}` should be a number or None; "
                            f"received {value!r} of type {type(value).__name__}.")
        if value is not None and arg != "weight_decay":
            validation.check_float_in(value, arg, owner, 0.0, math.inf, allow_none=True)
        if value is not None and arg == "weight_decay" and not value >= 0:
            warnings.warn(f"{owner}: weight_decay={value!r} is accepted, as Keras does, but "
                          "it makes the weights grow instead of decay.", UserWarning,
                          stacklevel=4)
        elif value is not None and arg != "weight_decay" and not value > 0:
            warnings.warn(f"{owner}: {arg}={value!r} is accepted, as Keras does, but "
                          "clips nothing (only a positive value clips).", UserWarning,
                          stacklevel=4)


def _check_gradients(owner: str, grads: list[Any], variables: list[Variable]) -> None:
    """One gradient per weight, of its shape: checked before any weight or state changes."""
    if len(grads) != len(variables):
        raise ValueError(f"{owner}.apply: {len(grads)} gradients for {len(variables)} "
                         "variables; expected one gradient per variable.")
    for g, var in zip(grads, variables, strict=True):
        if tuple(getattr(g, "shape", ())) != tuple(var.value.shape):
            raise ValueError(f"{owner}.apply: the gradient of '{var.name}' has shape "
                             f"{tuple(getattr(g, 'shape', ()))}; expected the variable's shape "
                             f"{tuple(var.value.shape)}.")
