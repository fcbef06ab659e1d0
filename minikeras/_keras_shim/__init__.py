"""What ``import keras`` returns under ``minikeras.as_keras``: minikeras, in Keras 1/2 dress.

Each module of this package stands in for the ``keras`` module of the same name
(``keras.layers.core`` is ``layers/core.py`` here). They hold no computation: they re-export
minikeras' classes, except where a Keras 1/2 name meant something else than the Keras 3 one
(``Convolution2D(32, 5, 5)``, optimizers' positional arguments, ``mnist.load_data`` offline).
Modules that are minikeras modules unchanged (``keras.backend``, ``keras.callbacks``...) are
aliased directly by ``minikeras.as_keras``.
"""

from minikeras import activations, initializers, losses, metrics
from minikeras._keras_shim import (
    backend,
    callbacks,
    datasets,
    layers,
    models,
    ops,
    optimizers,
    utils,
)
from minikeras._keras_shim.models import Model, Sequential
from minikeras.graph import Input

__version__ = "2.0.0-minikeras"  # old scripts print or compare it; minikeras speaks Keras 2
__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks", "datasets",
           "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "utils"]
