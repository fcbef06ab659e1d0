"""minikeras: the core of Keras in NumPy (and CuPy), with every backward pass written out."""

from minikeras import (
    activations,
    backend,
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    utils,
)
from minikeras.graph import Input
from minikeras.models import Model, Sequential
from minikeras.utils import gradient_check as _gradient_check_module
from minikeras.utils import trace as _trace_module

# The model tools join minikeras.utils here, at the top level, above the models they inspect
# (minikeras/utils/__init__.py sits low and cannot import them).
utils.gradient_check = _gradient_check_module.gradient_check
utils.check_layer_gradients = _gradient_check_module.check_layer_gradients
utils.trace = _trace_module.trace
utils.Trace = _trace_module.Trace

__version__ = "0.1.0"
__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks",
           "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "utils"]


def __getattr__(name: str):  # datasets import lazily: they are not needed to train
    if name == "datasets":
        import importlib

        return importlib.import_module("minikeras.datasets")
    raise AttributeError(f"module 'minikeras' has no attribute {name!r}")
