"""``keras.layers.wrappers`` (Keras 1/2 module path): the same classes as ``keras.layers``."""

from minikeras._keras_shim.layers import Bidirectional, TimeDistributed

__all__ = ["Bidirectional", "TimeDistributed"]
