"""``keras.layers.pooling`` (Keras 1/2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)

__all__ = ["AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "MaxPooling2D"]
