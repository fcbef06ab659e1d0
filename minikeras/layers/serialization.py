"""Layer <-> config dict: ``{"class_name": "Dense", "config": {...}}``, as Keras writes it."""

from __future__ import annotations

from typing import Any


def serialize_layer(layer: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def deserialize_layer(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """Rebuild a layer (or a model) from its config; unknown class names are a clear error."""
    import minikeras.layers as layers
    import minikeras.models as models

    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or getattr(layers, name, None) or getattr(
        models, name, None)
    if cls is None:
        raise ValueError(f"Unknown layer class {name!r} in the saved config. Pass it in "
                         "`custom_objects={...}` if it is your own.")
    return cls.from_config(dict(config["config"]))
