"""``keras.layers.core`` (Keras 1/2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    Lambda,
    Permute,
    RepeatVector,
    Reshape,
    SpatialDropout1D,
    SpatialDropout2D,
)

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Lambda", "Permute", "RepeatVector",
           "Reshape", "SpatialDropout1D", "SpatialDropout2D"]
