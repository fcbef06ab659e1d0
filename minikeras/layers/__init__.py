"""All layers, under their Keras names."""

from minikeras.graph import Input
from minikeras.layers.core import Activation, Dense, Dropout, Flatten, InputLayer, Reshape
from minikeras.layers.layer import InputSpec, Layer
from minikeras.layers.serialization import deserialize_layer, serialize_layer

# layer modules (one concept per file) are added below
# isort: split
from minikeras.layers.bidirectional import Bidirectional
from minikeras.layers.convolutional import Conv2D, UpSampling2D, ZeroPadding2D
from minikeras.layers.legacy_convolution import Convolution2D  # Keras 1/2's (filters, rows, cols)
from minikeras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from minikeras.layers.pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from minikeras.layers.recurrent import GRU, LSTM, SimpleRNN
from minikeras.layers.wrappers import TimeDistributed

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "InputSpec",
           "Layer", "Reshape", "deserialize_layer", "serialize_layer"]
__all__ += ["GRU", "LSTM", "SimpleRNN", "TimeDistributed"]
__all__ += ["Bidirectional"]
__all__ += ["AveragePooling2D", "AvgPool2D", "Conv2D", "Convolution2D", "GlobalAveragePooling2D",
            "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D", "MaxPool2D",
            "MaxPooling2D", "UpSampling2D", "ZeroPadding2D"]
__all__ += ["Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
            "add", "concatenate"]

# activation layers, RepeatVector, Permute (issue 16)
# isort: split
from minikeras.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax  # noqa: E402
from minikeras.layers.lambda_layer import Lambda  # noqa: E402
from minikeras.layers.permute import Permute  # noqa: E402
from minikeras.layers.repeat_vector import RepeatVector  # noqa: E402

__all__ += ["ELU", "Lambda", "LeakyReLU", "PReLU", "Permute", "ReLU", "RepeatVector", "Softmax"]

# normalization, Embedding, Conv1D, 1-D pooling, Conv2DTranspose, Cropping2D (issue 16)
# isort: split
from minikeras.layers.batch_normalization import BatchNormalization  # noqa: E402
from minikeras.layers.conv1d import Conv1D, Convolution1D  # noqa: E402
from minikeras.layers.conv_transpose import (  # noqa: E402
    Conv2DTranspose,
    Convolution2DTranspose,
)
from minikeras.layers.cropping import Cropping2D  # noqa: E402
from minikeras.layers.embedding import Embedding  # noqa: E402
from minikeras.layers.layer_normalization import LayerNormalization  # noqa: E402
from minikeras.layers.pooling1d import (  # noqa: E402
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)

__all__ += ["AveragePooling1D", "AvgPool1D", "BatchNormalization", "Conv1D", "Conv2DTranspose",
            "Convolution1D", "Convolution2DTranspose",
            "Cropping2D", "Embedding", "GlobalAveragePooling1D", "GlobalAvgPool1D",
            "GlobalMaxPool1D", "GlobalMaxPooling1D", "LayerNormalization", "MaxPool1D",
            "MaxPooling1D"]

# functional shortcuts of the merging layers, like add/concatenate above (Keras' lowercase names)
__all__ += ["average", "maximum", "minimum", "multiply", "subtract"]

# Dot, Rescaling, the noise layers, Identity, the 1-D reshaping layers
# isort: split
from minikeras.layers.dot import Dot, dot  # noqa: E402
from minikeras.layers.gaussian_noise import GaussianDropout, GaussianNoise  # noqa: E402
from minikeras.layers.identity import Identity  # noqa: E402
from minikeras.layers.rescaling import Rescaling  # noqa: E402
from minikeras.layers.reshaping1d import Cropping1D, UpSampling1D, ZeroPadding1D  # noqa: E402
from minikeras.layers.spatial_dropout import SpatialDropout1D, SpatialDropout2D  # noqa: E402

__all__ += ["Cropping1D", "Dot", "GaussianDropout", "GaussianNoise", "Identity", "Rescaling",
            "SpatialDropout1D", "SpatialDropout2D", "UpSampling1D", "ZeroPadding1D", "dot"]

# Normalization (Keras' preprocessing layer: adapt() to the data's mean and variance)
# isort: split
from minikeras.layers.normalization import Normalization  # noqa: E402

__all__ += ["Normalization"]
