"""``keras.layers.embeddings`` (Keras 2 module path): the same class as ``keras.layers``."""

from minikeras._keras_shim.layers import Embedding

__all__ = ["Embedding"]
