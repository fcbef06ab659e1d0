"""Operations on tensors, as ``keras.ops``: on symbolic tensors each call is a node of the
functional graph (``x + y`` calls ``add(x, y)``); on data it computes the value at once."""

from __future__ import annotations

from typing import Any

from minikeras.ops.numpy import (
    Absolute,
    Add,
    GetItem,
    Matmul,
    Multiply,
    Negative,
    Power,
    Subtract,
    TrueDivide,
)
from minikeras.ops.operation import Operation


def add(x1: Any, x2: Any) -> Any:
    return Add()(x1, x2)


def subtract(x1: Any, x2: Any) -> Any:
    return Subtract()(x1, x2)


def multiply(x1: Any, x2: Any) -> Any:
    return Multiply()(x1, x2)


def true_divide(x1: Any, x2: Any) -> Any:
    return TrueDivide()(x1, x2)


def negative(x: Any) -> Any:
    return Negative()(x)


def power(x1: Any, x2: Any) -> Any:
    return Power()(x1, x2)


def absolute(x: Any) -> Any:
    return Absolute()(x)


def matmul(x1: Any, x2: Any) -> Any:
    return Matmul()(x1, x2)


__all__ = ["Absolute", "Add", "GetItem", "Matmul", "Multiply", "Negative", "Operation", "Power",
           "Subtract", "TrueDivide", "absolute", "add", "matmul", "multiply", "negative", "power",
           "subtract", "true_divide"]
