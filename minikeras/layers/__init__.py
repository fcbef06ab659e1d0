"""All layers, under their Keras names."""

from minikeras.layers.core import Activation, Dense, Dropout, Flatten, InputLayer, Reshape
from minikeras.layers.layer import InputSpec, Layer
from minikeras.models.graph import Input

# layer modules (one concept per file) are added below
# isort: split
from minikeras.layers.recurrent import GRU, LSTM, SimpleRNN
from minikeras.layers.wrappers import TimeDistributed

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "InputSpec",
           "Layer", "Reshape"]
__all__ += ["GRU", "LSTM", "SimpleRNN", "TimeDistributed"]
