"""``keras.ops`` (Keras 3): refused, every function, with the reason (no autodiff in minikeras)
and what to write instead."""

from typing import Any

from minikeras.no_autodiff import backend_function_error


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise backend_function_error("keras.ops", name)
