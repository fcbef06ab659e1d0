"""``keras.ops`` (Keras 3): the operations minikeras has (arithmetic on tensors, each with a
hand-written backward) are minikeras' own; every other function is refused with the reason
(no autodiff in minikeras) and what to write instead."""

from typing import Any

from minikeras.no_autodiff import backend_function_error
from minikeras.ops import (  # noqa: F401  (re-exported as keras.ops.*)
    absolute,
    add,
    matmul,
    multiply,
    negative,
    power,
    subtract,
    true_divide,
)

divide = true_divide  # Keras: ops.divide is ops.true_divide


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise backend_function_error("keras.ops", name)
