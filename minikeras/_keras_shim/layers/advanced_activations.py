"""``keras.layers.advanced_activations`` (Keras 2 module path): the classes of ``keras.layers``.

Keras 2 scripts import the activation layers from here, e.g.
``from keras.layers.advanced_activations import LeakyReLU``.
"""

from minikeras._keras_shim.layers import ELU, LeakyReLU, PReLU, ReLU, Softmax

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
