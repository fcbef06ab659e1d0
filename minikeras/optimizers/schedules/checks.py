"""What the schedules share: float32 cos/log/pow rounded once, and argument checks.

``cos32``, ``log32``, ``pow32`` compute in float64 and round once to float32: the float32
value nearest the exact one. TensorFlow (so Keras) calls C's cosf/logf/powf there, which round
the same way but for about 1 value in 100 (their error is up to 0.56 unit in the last place);
NumPy's own float32 cos/pow differ from both more often.

The checks refuse what cannot be a schedule (an error naming the schedule, the argument, what
was expected and what came) and warn, at the user's line, about values Keras accepts silently
but that are likely mistakes.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from minikeras.utils import validation

f32 = np.float32


def cos32(x: Any) -> np.float32:
    """cos(x) rounded once to float32."""
    return f32(np.cos(np.float64(x)))


def log32(x: Any) -> np.float32:
    """log(x) rounded once to float32 (NaN below 0, -inf at 0, as in float32)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return f32(np.log(np.float64(x)))


def pow32(x: Any, y: Any) -> np.float32:
    """x ** y rounded once to float32."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return f32(np.power(np.float64(x), np.float64(y)))


def check_number(owner: str, arg: str, value: Any) -> None:
    """A real number (Python or NumPy, not a bool): Keras fails later, in TensorFlow."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: argument `{arg}` should be a number; received {value!r} "
                        f"of type {type(value).__name__}.")


def check_positive(owner: str, arg: str, value: Any) -> None:
    """A number of steps > 0 (Keras' check and message, with the schedule named)."""
    check_number(owner, arg, value)
    if not value > 0:
        raise ValueError(f"{owner}: argument `{arg}` must be > 0. Received: {arg}={value}")


def check_numbers(owner: str, arg: str, value: Any) -> None:
    """A list or tuple of numbers."""
    if not isinstance(value, list | tuple):
        raise TypeError(f"{owner}: argument `{arg}` should be a list of numbers; received "
                        f"{value!r} of type {type(value).__name__}.")
    for item in value:
        check_number(owner, f"{arg}", item)


def warn_if(condition: bool, owner: str, message: str) -> None:
    """Warn (at the user's line: ``utils.validation``'s rule) about a value Keras accepts
    silently but that is likely a mistake."""
    if condition:
        validation._warn(f"{owner}: {message}")
