"""Model <-> config dict, in Keras 3's format (``config.json`` of a ``.keras`` file, ``to_json``).

A functional model's config lists its layers, each with the calls (``inbound_nodes``) that
connect it: every argument tensor is written as ``{"class_name": "__keras_tensor__",
"config": {"shape", "dtype", "keras_history": [layer name, node index, tensor index]}}``.
Rebuilding replays those calls in order. Configs written by real Keras also load: the
Keras-only arguments minikeras does not have (``quantization_config``, ``sparse``...) are
dropped when they hold their default, and DTypePolicy dicts become plain dtype names.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from minikeras import graph, registry
from minikeras.layers.serialization import find_class, serialize_layer

_LAYER_BASE_ARGS = {"name", "trainable", "dtype", "input_shape", "input_dim",
                    "batch_input_shape", "batch_size"}
#: Keras-only arguments that are harmless at these values
_IGNORABLE = {"quantization_config": None, "sparse": False, "ragged": False, "optional": False,
              "zero_output_for_mask": False, "activity_regularizer": None,
              "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None, "recurrent_regularizer": None,
              "recurrent_constraint": None, "implementation": 2, "reset_after": True,
              "lora_rank": None, "lora_alpha": None, "groups": 1}


_MODEL_MODULES = {"Functional": "keras.src.models.functional", "Sequential": "keras"}


def _tensor_config(t: Any, node_index: dict[int, int]) -> dict[str, Any]:
    node = t.node
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(t.shape), "dtype": t.dtype,
                       "keras_history": [node.layer.name, node_index[id(node)], t.index]}}


def functional_config(model: Any) -> dict[str, Any]:
    """``model.get_config()`` of a Functional model, as Keras writes it."""
    node_index: dict[int, int] = {}
    for layer in model.operations:   # a node's index counts only this model's calls
        mine = [n for n in layer._inbound_nodes if id(n) in model._node_ids]
        for i, n in enumerate(mine):
            node_index[id(n)] = i
    layers = []
    for layer in model.operations:
        operation = getattr(layer, "is_operation", False)
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        if type(layer).__name__ in _MODEL_MODULES:   # a nested model: Keras needs its module
            entry["module"] = _MODEL_MODULES[type(layer).__name__]
            entry["registered_name"] = "Functional" if entry["module"] != "keras" else None
        if operation:   # x + y: Keras writes the op's module and class, and no build_config
            entry["module"] = layer.keras_module
            entry["registered_name"] = type(layer).__name__
        elif layer.built and type(layer).__name__ != "InputLayer":
            entry["build_config"] = {"input_shape": _jsonable(layer._input_shape)}
        nodes = []
        for n in layer._inbound_nodes:
            if id(n) not in model._node_ids or n.is_input:
                continue
            args = [_tensor_config(t, node_index) for t in n.inputs]
            if operation:   # the op's own argument list: tensors and constants in place
                args = layer.arguments_with(args, layer.constant_config)
            nodes.append({"args": [args] if n.multi_input and not operation else args,
                          "kwargs": _jsonable(n.kwargs)})
        entry["inbound_nodes"] = nodes
        layers.append(entry)

    def refs(tensors: list[Any], keys: list[str] | None, single: bool) -> Any:
        items = [[t.node.layer.name, node_index[id(t.node)], t.index] for t in tensors]
        if keys is not None:
            return dict(zip(keys, items, strict=True))
        return items[0] if single else items

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": refs(model._inputs, model._input_keys, model._single_input),
            "output_layers": refs(model._outputs, model._output_keys, model._single_output)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def functional_from_config(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """Rebuild a Functional model: create every layer, then replay its calls in order."""
    created: dict[str, Any] = {}
    pending: list[tuple[str, int, dict]] = []
    outputs: dict[tuple[str, int], list[Any]] = {}
    for entry in config["layers"]:
        layer = deserialize(entry, custom_objects)
        name = entry.get("name", layer.name)
        created[name] = layer
        if type(layer).__name__ == "InputLayer":
            outputs[(name, 0)] = [graph.input_tensor(layer)]
        for i, node in enumerate(entry.get("inbound_nodes", [])):
            pending.append((name, i, node))

    def resolve(arg: Any) -> Any:
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            lname, ni, ti = arg["config"]["keras_history"]
            return outputs[(lname, ni)][ti]
        if isinstance(arg, dict) and arg.get("class_name") == "__numpy__":  # an op's constant
            return np.asarray(arg["config"]["value"], dtype=arg["config"]["dtype"])
        if isinstance(arg, list):
            return [resolve(a) for a in arg]
        return arg

    def ready(arg: Any) -> bool:
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            lname, ni, _ = arg["config"]["keras_history"]
            return (lname, ni) in outputs
        if isinstance(arg, list):
            return all(ready(a) for a in arg)
        return True

    while pending:   # shared layers may need a later layer's output first: loop until done
        progress = False
        for item in list(pending):
            name, i, node = item
            if not ready(node["args"]) or not ready(list(node.get("kwargs", {}).values())):
                continue
            args = resolve(node["args"])
            kwargs = {k: resolve(v) for k, v in node.get("kwargs", {}).items()}
            if getattr(created[name], "is_operation", False):   # JSON wrote x[1:3, 0]'s
                args = [tuple(a) if isinstance(a, list) else a for a in args]   # key as a list
            out = created[name](*args, **kwargs)
            outputs[(name, i)] = out if isinstance(out, list) else [out]
            pending.remove(item)
            progress = True
        if not progress:
            raise ValueError("Saved model config is inconsistent: some layer calls refer to "
                             f"tensors that are never produced ({[p[0] for p in pending]}).")

    def pick(ref: Any) -> Any:
        if isinstance(ref, dict):
            return {k: pick(v) for k, v in ref.items()}
        if ref and isinstance(ref[0], list):
            return [pick(r) for r in ref]
        lname, ni, ti = ref
        return outputs[(lname, ni)][ti]

    functional = registry.get("Functional")
    return functional(pick(config["input_layers"]), pick(config["output_layers"]),
                      name=config.get("name"), trainable=config.get("trainable", True))


# --------------------------------------------------------------------------- layers
def _clean_layer_config(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """Make a (possibly Keras-written) layer config acceptable to the minikeras class."""
    config = dict(config)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        config["dtype"] = dtype.get("config", {}).get("name", "float32")
    init = cls.__init__
    params = inspect.signature(init).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        allowed = set(params) | _LAYER_BASE_ARGS
        if cls.__name__ == "InputLayer":
            allowed |= {"batch_shape", "shape", "batch_input_shape", "input_shape"}
    else:
        allowed = set(params)
    for key, value in list(config.items()):
        if key.endswith("_initializer") and isinstance(value, dict):
            config[key] = _clean_initializer(value)
    for key in [k for k in config if k not in allowed]:
        if key in _IGNORABLE and config[key] == _IGNORABLE[key]:
            del config[key]
        elif key in ("module", "registered_name", "build_config", "shared_object_id"):
            del config[key]
    return config


def _clean_initializer(value: dict[str, Any]) -> dict[str, Any]:
    """Keep only the arguments the minikeras initializer takes (Keras adds input_axes...)."""
    from minikeras import initializers

    cls = initializers._CLASSES.get(value.get("class_name", ""))
    if cls is None:
        return value
    params = inspect.signature(cls).parameters
    config = {k: v for k, v in value.get("config", {}).items() if k in params}
    return {"class_name": value["class_name"], "config": config}


def deserialize(entry: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """A layer or model from ``{"class_name", "config", ...}`` (Keras' or ours)."""
    name = entry["class_name"]
    operation = str(entry.get("module", "")).startswith("keras.src.ops")   # x + y's Add
    cls = find_class(f"ops.{name}" if operation else name, custom_objects)
    config = dict(entry.get("config", {}))
    if name == "Functional":
        return functional_from_config(config, custom_objects)
    if name == "Sequential":
        return sequential_from_config(config, custom_objects)
    for key in ("layer", "backward_layer"):   # TimeDistributed's and Bidirectional's layers
        if name in ("TimeDistributed", "Bidirectional") and isinstance(config.get(key), dict):
            config[key] = deserialize(config[key], custom_objects)
    config = _clean_layer_config(cls, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        layer = cls(**config)
    build = entry.get("build_config")
    if build and build.get("input_shape") is not None and not layer.built:
        shape = build["input_shape"]
        layer.build_for([tuple(s) for s in shape] if shape and isinstance(shape[0], list)
                        else tuple(shape))
    return layer


def sequential_from_config(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    sequential = registry.get("Sequential")
    model = sequential(name=config.get("name"), trainable=config.get("trainable", True))
    for entry in config["layers"]:
        layer = deserialize(entry, custom_objects)
        model.add(layer)
    shape = config.get("build_input_shape")
    if shape is not None and not model.built:
        model.build(tuple(shape))
    return model


# --------------------------------------------------------------------------- whole model
def model_to_dict(model: Any) -> dict[str, Any]:
    """Keras' top-level structure: module, class_name, config, build/compile config."""
    cls = type(model).__name__
    module = _MODEL_MODULES.get(cls, "keras.layers")
    config = model.get_config()
    if cls == "Sequential" and model.built and model._input_shape is not None:
        config["build_input_shape"] = _jsonable(model._input_shape)
    return {"module": module, "class_name": cls, "config": config,
            "registered_name": cls if cls == "Functional" else None,
            "build_config": {"input_shape": _jsonable(getattr(model, "_input_shape", None))
                             if cls == "Sequential" else None},
            "compile_config": compile_config(model)}


def compile_config(model: Any) -> dict[str, Any] | None:
    cfg = model.get_compile_config() if getattr(model, "compiled", False) else None
    if not cfg:
        return None
    from minikeras import optimizers

    opt = optimizers.serialize(model.optimizer)
    opt = {"module": "keras.optimizers", **opt, "registered_name": None}
    return {"optimizer": opt, "loss": _serialize_obj(cfg["loss"]),
            "loss_weights": _jsonable(cfg["loss_weights"]),
            "metrics": _serialize_obj(cfg["metrics"]), "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def _serialize_obj(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_serialize_obj(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_obj(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return {"module": "keras.losses", "class_name": type(value).__name__,
                "config": _jsonable(value.get_config()), "registered_name": None}
    return getattr(value, "__name__", str(value))


def _deserialize_obj(value: Any, kind: str) -> Any:
    if isinstance(value, list):
        return [_deserialize_obj(v, kind) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        import minikeras.losses as losses
        import minikeras.metrics as metrics

        module = losses if kind == "loss" else metrics
        cls = getattr(module, value["class_name"], None)
        if cls is None:
            return value["config"].get("name", value["class_name"])
        return cls(**{k: v for k, v in value.get("config", {}).items()
                      if k in inspect.signature(cls).parameters})
    if isinstance(value, dict):
        return {k: _deserialize_obj(v, kind) for k, v in value.items()}
    return value


_OPTIMIZER_KERAS_ONLY = {"weight_decay": None, "loss_scale_factor": None,
                         "gradient_accumulation_steps": None}


def compile_from_config(model: Any, cfg: dict[str, Any] | None) -> None:
    """Compile ``model`` as described by a (Keras or minikeras) compile config."""
    if not cfg:
        return
    from minikeras import optimizers

    opt_cfg = dict(cfg["optimizer"]) if isinstance(cfg["optimizer"], dict) else cfg["optimizer"]
    if isinstance(opt_cfg, dict):
        inner = dict(opt_cfg.get("config", {}))
        for key, default in _OPTIMIZER_KERAS_ONLY.items():
            if key in inner and inner[key] == default:
                del inner[key]
        opt_cfg = {"class_name": opt_cfg["class_name"], "config": inner}
    model.compile(optimizer=optimizers.get(opt_cfg), loss=_deserialize_obj(cfg["loss"], "loss"),
                  loss_weights=cfg.get("loss_weights"),
                  metrics=_deserialize_obj(cfg.get("metrics"), "metric"))


def model_from_dict(data: dict[str, Any], custom_objects: dict | None = None,
                    compile: bool = True) -> Any:
    model = deserialize(data, custom_objects)
    build = data.get("build_config") or {}
    if type(model).__name__ == "Sequential" and not model.built and build.get("input_shape"):
        model.build(tuple(build["input_shape"]))
    if compile:
        compile_from_config(model, data.get("compile_config"))
    return model
