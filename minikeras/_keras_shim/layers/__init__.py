"""``keras.layers``: minikeras' layers, with Keras 1/2's ``Convolution2D``.

In Keras 1/2 ``Convolution2D(32, 5, 5)`` and ``Conv2D(32, 5, 5)`` meant 32 filters of 5x5;
in Keras 3 the third positional argument is ``strides``. Old code means the former, so both
names are ``minikeras.legacy.Convolution2D`` here. Keyword spellings (``output_dim=``,
``border_mode=``...) are converted for every layer by ``minikeras.legacy``.
"""

from typing import Any

import minikeras.layers as _layers
from minikeras.layers import *  # noqa: F403  (the whole Keras 3 layer namespace)
from minikeras.layers.legacy_convolution import Convolution2D

Conv2D = Convolution2D
Input = _layers.Input


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"keras.layers.{name} is not provided by minikeras (served by minikeras.as_keras); "
        f"available layers: {sorted(n for n in _layers.__all__ if n[0].isupper())}."
    )
