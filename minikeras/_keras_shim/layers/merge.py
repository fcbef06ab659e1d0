"""``keras.layers.merge`` (Keras 2 module path): the same classes and functions as ``keras.layers``.

Keras 1's ``merge([a, b], mode='mul')`` function is not here (Keras 2 removed it): write
``multiply([a, b])``, ``add``, ``concatenate``... instead.
"""

from minikeras._keras_shim.layers import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract",
           "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
