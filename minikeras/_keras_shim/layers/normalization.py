"""``keras.layers.normalization`` (Keras 2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import BatchNormalization, LayerNormalization

__all__ = ["BatchNormalization", "LayerNormalization"]
