"""Layer <-> config dict: ``{"class_name": "Dense", "config": {...}}``, as Keras writes it."""

from __future__ import annotations

from typing import Any

from minikeras import registry


def serialize_layer(layer: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def find_class(name: str, custom_objects: dict | None = None) -> type:
    """The class a saved config names: the user's ``custom_objects`` first, then minikeras'
    layers and models (found in the registry: the models sit above this module)."""
    cls = (custom_objects or {}).get(name) or registry.find(name)
    if cls is None:
        raise ValueError(f"Unknown layer class {name!r} in the saved config. Pass it in "
                         "`custom_objects={...}` if it is your own.")
    return cls


def deserialize_layer(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """Rebuild a layer (or a model) from its config; unknown class names are a clear error."""
    cls = find_class(config["class_name"], custom_objects)
    return cls.from_config(dict(config["config"]))
