"""``keras.layers.noise`` (Keras 2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import GaussianDropout, GaussianNoise

__all__ = ["GaussianDropout", "GaussianNoise"]
