"""``keras.layers.convolutional`` (Keras 1/2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import (
    AveragePooling2D,
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    Convolution1D,
    Convolution2D,
    Cropping1D,
    Cropping2D,
    MaxPooling2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)

__all__ = ["AveragePooling2D", "Conv1D", "Conv2D", "Conv2DTranspose", "Convolution1D",
           "Convolution2D", "Cropping1D", "Cropping2D", "MaxPooling2D", "UpSampling1D",
           "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]
