"""Datasets with Keras' loaders and cache (`~/.keras/datasets`), plus offline MNIST fallbacks.

    from minikeras.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()          # full MNIST, as Keras
    (x_train, y_train), (x_test, y_test), info = mnist.load_data_or_fallback()  # offline-safe
"""

from minikeras.datasets import fashion_mnist, mnist
from minikeras.datasets.idx import read_idx

__all__ = ["fashion_mnist", "mnist", "read_idx"]
