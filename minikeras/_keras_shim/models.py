"""``keras.models``: Sequential, Model (``Model(input=, output=)`` works), loading."""

from typing import Any

import minikeras.models as _models
from minikeras.models import Model, Sequential

__all__ = ["Model", "Sequential"]


def __getattr__(name: str) -> Any:
    # load_model, model_from_json...: wherever minikeras keeps them (models or saving).
    for module in ("minikeras.models", "minikeras.saving"):
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    raise AttributeError(f"keras.models (served by minikeras) has no {name!r}; minikeras "
                         f"provides {sorted(n for n in dir(_models) if not n.startswith('_'))}.")
