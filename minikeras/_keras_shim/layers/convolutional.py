"""``keras.layers.convolutional`` (Keras 1/2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import (
    AveragePooling2D,
    Conv2D,
    Convolution2D,
    MaxPooling2D,
    UpSampling2D,
    ZeroPadding2D,
)

__all__ = ["AveragePooling2D", "Conv2D", "Convolution2D", "MaxPooling2D", "UpSampling2D",
           "ZeroPadding2D"]
