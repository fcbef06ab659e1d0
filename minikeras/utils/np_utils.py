"""Keras 1/2's ``keras.utils.np_utils``, kept for old tutorials."""

from minikeras.utils.numerical_utils import to_categorical

__all__ = ["to_categorical"]
