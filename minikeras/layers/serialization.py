"""Layer <-> config dict: ``{"class_name": "Dense", "config": {...}}``, as Keras writes it."""

from __future__ import annotations

from typing import Any

from minikeras import registry


def serialize_layer(layer: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def find_class(name: str, custom_objects: dict | None = None) -> type:
    """The class a saved config names: the user's ``custom_objects`` first, then minikeras'
    layers, operations and models (found in the registry: the models sit above this module),
    then the aliases of ``minikeras.layers`` (``MaxPool2D``...)."""
    import minikeras.layers as layers

    alias = getattr(layers, name, None)
    cls = ((custom_objects or {}).get(name) or registry.find(name)
           or (alias if isinstance(alias, type) else None))
    if cls is None:
        what = (f"operation {name[4:]!r} (keras.ops)" if name.startswith("ops.")
                else f"layer class {name!r}")
        raise ValueError(f"Unknown {what} in the saved config. minikeras' operations are "
                         "+, -, *, /, **, unary -, abs, @, [...]; pass your own layer classes in "
                         "`custom_objects={...}`.")
    return cls


def deserialize_layer(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """Rebuild a layer (or a model) from its config; unknown class names are a clear error."""
    cls = find_class(config["class_name"], custom_objects)
    return cls.from_config(dict(config["config"]))
