"""minikeras: the core of Keras in NumPy (and CuPy), with every backward pass written out."""

from minikeras import activations, backend, datasets, initializers, layers, utils
from minikeras.models.graph import Input

__version__ = "0.1.0"
__all__ = ["Input", "activations", "backend", "datasets", "initializers", "layers", "utils"]
