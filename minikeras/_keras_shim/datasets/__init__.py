"""``keras.datasets``: MNIST loaders that keep old scripts running offline."""

from minikeras._keras_shim.datasets import mnist

__all__ = ["mnist"]
