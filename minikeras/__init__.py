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
    optimizers,
    utils,
)
from minikeras.models import Model, Sequential
from minikeras.models.graph import Input

__version__ = "0.1.0"
__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks",
           "initializers", "layers", "losses", "metrics", "models", "optimizers", "utils"]


def __getattr__(name: str):  # datasets import lazily: they are not needed to train
    if name == "datasets":
        import importlib

        return importlib.import_module("minikeras.datasets")
    raise AttributeError(f"module 'minikeras' has no attribute {name!r}")
