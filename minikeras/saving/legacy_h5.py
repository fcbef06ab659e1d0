"""The legacy whole-model ``.h5`` file (``model.save("m.h5")`` in Keras 2 tutorials).

Layout (as Keras 3.15 still writes it)::

    attrs: model_config (JSON), training_config (JSON), keras_version, backend
    model_weights/                       attrs: layer_names
        <layer name>/                    attrs: weight_names, e.g. ["dense/kernel", ...]
            <weight name path>           one dataset per weight, e.g. dense/kernel
        top_level_model_weights/         (empty)
    optimizer_weights/                   attrs: weight_names (iteration, learning_rate, slots)

Loading matches the layers *that have weights*, in order, as Keras' legacy loader does.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from minikeras.layers.layer import snake_case
from minikeras.saving import config as config_lib
from minikeras.saving import weights_h5


def _weight_paths(model: Any, layer: Any) -> list[tuple[str, Any]]:
    """(dataset path, variable) for each weight of ``layer`` in Keras' legacy naming."""
    from minikeras.layers.rnn_base import RNNBase

    prefix = f"{model.name}/" if type(model).__name__ == "Sequential" else ""
    out = []
    for var in layer.weights:
        parts = var.name.split("/")
        short = parts[-1]
        owner = parts[0] if len(parts) > 1 else layer.name
        if isinstance(layer, RNNBase):
            path = f"{prefix}{layer.name}/{snake_case(type(layer).__name__)}_cell/{short}"
        elif owner != layer.name:
            path = f"{prefix}{layer.name}/{owner}/{short}"
        else:
            path = f"{prefix}{layer.name}/{short}"
        out.append((path, var))
    return out


def _names(values: list[str]) -> np.ndarray:
    return np.array([v.encode("utf8") for v in values], dtype=object) if values else \
        np.array([], dtype=np.float64)


def save_model(model: Any, path: str, keras_version: str) -> None:
    import h5py

    data = config_lib.model_to_dict(model)
    compile_cfg = data.pop("compile_config")
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = keras_version
        f.attrs["model_config"] = json.dumps({"class_name": data["class_name"],
                                              "config": data["config"]})
        if compile_cfg:
            training = {k: v for k, v in compile_cfg.items() if k != "optimizer"}
            training["optimizer_config"] = {k: compile_cfg["optimizer"][k]
                                            for k in ("class_name", "config")}
            f.attrs["training_config"] = json.dumps(training)
        group = f.create_group("model_weights")
        group.attrs["backend"] = "tensorflow"
        group.attrs["keras_version"] = keras_version
        group.attrs["layer_names"] = _names([la.name for la in model.layers])
        for layer in model.layers:
            g = group.create_group(layer.name)
            paths = _weight_paths(model, layer)
            g.attrs["weight_names"] = _names([p for p, _ in paths])
            for p, var in paths:
                g.create_dataset(p, data=var.numpy())
        group.create_group("top_level_model_weights").attrs["weight_names"] = _names([])
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer._tracked:
            og = f.create_group("optimizer_weights")
            name = weights_h5._optimizer_name(optimizer)
            names = []
            for var, slot in weights_h5.optimizer_state(optimizer):
                slot_name = "iteration" if slot == "iterations" else slot
                names.append(f"{name}/{slot_name}" if var is None
                             else f"{name}/{var.name.replace('/', '_')}_{slot}")
            og.attrs["weight_names"] = _names(names)
            for n, value in zip(names, optimizer.variables, strict=True):
                og.create_dataset(n, data=weights_h5._host(value))


def _decode(values: Any) -> list[str]:
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def read_weights(model: Any, f: Any, source: str) -> None:
    """Legacy loading: the file's layers with weights, in order, onto the model's."""
    group = f["model_weights"] if "model_weights" in f else f
    names = _decode(group.attrs.get("layer_names", []))
    stored = [(n, _decode(group[n].attrs.get("weight_names", []))) for n in names]
    stored = [(n, w) for n, w in stored if w]
    layers = [la for la in model.layers if la.weights]
    if len(stored) != len(layers):
        raise ValueError(
            f"Cannot load weights from {source}: the file holds weights for {len(stored)} "
            f"layers ({[n for n, _ in stored]}), but the model has {len(layers)} layers with "
            f"weights ({[la.name for la in layers]}).")
    plan = []
    for (name, wnames), layer in zip(stored, layers, strict=True):
        variables = layer.weights
        if len(wnames) != len(variables):
            raise ValueError(f"Cannot load weights from {source}: layer '{name}' in the file has "
                             f"{len(wnames)} weights, model layer '{layer.name}' has "
                             f"{len(variables)}.")
        for wn, var in zip(wnames, variables, strict=True):
            data = np.asarray(group[name][wn])
            if tuple(data.shape) != var.shape:
                raise ValueError(f"Cannot load weights from {source}: '{wn}' has shape "
                                 f"{tuple(data.shape)}, but '{var.name}' has shape {var.shape}.")
            plan.append((var, data))
    for var, data in plan:
        var.assign(data)


def load_model(f: Any, source: str, custom_objects: dict | None, compile: bool) -> Any:
    if "model_config" not in f.attrs:
        raise ValueError(f"{source} holds no model config: it is a weights-only file. Build "
                         "the model in code and call `model.load_weights(...)`.")
    raw = f.attrs["model_config"]
    model = config_lib.model_from_dict(json.loads(raw if isinstance(raw, str) else raw.decode()),
                                       custom_objects, compile=False)
    read_weights(model, f, source)
    raw_training = f.attrs.get("training_config")
    if compile and raw_training is not None:
        training = json.loads(raw_training if isinstance(raw_training, str)
                              else raw_training.decode())
        training["optimizer"] = training.pop("optimizer_config")
        config_lib.compile_from_config(model, training)
        if "optimizer_weights" in f:
            og = f["optimizer_weights"]
            names = _decode(og.attrs.get("weight_names", []))
            values = [np.asarray(og[n]) for n in names]
            optimizer = model.optimizer
            expected = (len(optimizer._scalar_variable_names())
                        + sum(len(g) for g in optimizer._slot_groups())
                        * len(model.trainable_weights) + len(optimizer._extra_variables()))
            if len(values) == expected:
                plan = (model.trainable_weights, values)
                weights_h5.check_optimizer(model, plan)
                weights_h5.apply_optimizer(model, plan)
    return model
