"""Constructor argument checks shared by the layers: each error names the layer, the argument,
what was expected and what came (``Embedding: `input_dim` must be a positive integer.
Received: input_dim=0 (of type int).``)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any


def positive_int(layer: str, name: str, value: Any) -> int:
    """``value`` as an int > 0 (bools are refused: ``True`` is not a size)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: "
                         f"{name}={value!r} (of type {type(value).__name__}).")
    return int(value)


def non_negative_int(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{layer}: `{name}` must be a non-negative integer. Received: "
                         f"{name}={value!r} (of type {type(value).__name__}).")
    return int(value)


def real(layer: str, name: str, value: Any) -> float:
    """``value`` as a float (a number, not a string or a bool)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{layer}: `{name}` must be a number. Received: {name}={value!r} "
                        f"(of type {type(value).__name__}).")
    return float(value)


def boolean(layer: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: `{name}` must be True or False. Received: {name}={value!r} "
                        f"(of type {type(value).__name__}).")
    return value


def axis_index(layer: str, axis: int, ndim: int, shape: Any) -> int:
    """A possibly negative axis -> its index in an ``ndim``-D shape, or a clear ValueError."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{layer}: axis {axis} is out of bounds for an input of shape "
                         f"{tuple(shape)} (ndim={ndim}). Received: axis={axis}")
    return axis % ndim


def rate(layer: str, value: Any) -> float:
    """A dropout ``rate``: a number in [0, 1] (Keras' wording, with the layer's name)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f"{layer}: invalid value received for argument `rate`. Expected a "
                         f"float value between 0 and 1. Received: rate={value!r}")
    return float(value)
