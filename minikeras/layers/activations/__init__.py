"""Activation functions as layers, one per file as in Keras 3 (``keras/src/layers/activations``):
ReLU, LeakyReLU, ELU, Softmax, PReLU. Each has its own backward with its equations."""

from minikeras.layers.activations.elu import ELU
from minikeras.layers.activations.leaky_relu import LeakyReLU
from minikeras.layers.activations.prelu import PReLU
from minikeras.layers.activations.relu import ReLU
from minikeras.layers.activations.softmax import Softmax

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
