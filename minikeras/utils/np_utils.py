"""Keras 1/2's ``keras.utils.np_utils``, kept for old tutorials."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras.utils.numerical_utils import to_categorical as _to_categorical

__all__ = ["to_categorical"]


def to_categorical(y: Any, num_classes: int | None = None, nb_classes: int | None = None,
                   **kwargs: Any) -> np.ndarray:
    """``to_categorical(y, nb_classes)`` as Keras 1 spelled it; same result as the modern one."""
    if kwargs:
        raise TypeError(f"to_categorical() got unexpected keyword arguments {sorted(kwargs)}.")
    if nb_classes is not None:
        if num_classes is not None:
            raise TypeError("to_categorical() received both `nb_classes` (Keras 1) and "
                            "`num_classes`. Keep the latter.")
        warnings.warn(f"to_categorical: `nb_classes={nb_classes}` is Keras 1/2 spelling; use "
                      f"`num_classes={nb_classes}`.", DeprecationWarning, stacklevel=2)
        num_classes = nb_classes
    return _to_categorical(y, num_classes)
