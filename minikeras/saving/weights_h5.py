"""``.weights.h5``: Keras 3's HDF5 weights layout, written and read with h5py.

The file mirrors the model's object tree (Keras' ``saving_lib``)::

    vars                         (attr name = model name; a model owns no variables itself)
    layers/<key>/vars/0, 1, ...  one group per layer of ``model.layers``
    layers/lstm/cell/vars/...    recurrent layers keep their weights in their cell
    layers/time_distributed/layer/vars/...   a wrapper's inner layer
    layers/bidirectional/forward_layer/..., backward_layer/...   Bidirectional's two layers
    layers/sequential/layers/... a nested model, recursively
    optimizer/vars/0, 1, ...     iterations, learning rate, then the optimizer state

``<key>`` is the snake_case class name with a counter *within its container* (``dense``,
``dense_1``, ...), not the layer's name, which is only an attribute of its ``vars`` group.
Matching is by position in this tree, so a Keras model and a minikeras model of the same
architecture read each other's files.

Loading reads and checks everything first and assigns only when the whole file fits, so a
failed load leaves the model as it was.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras import registry
from minikeras.layers.layer import snake_case

Entry = tuple[str, str, list[Any]]   # (group path, name attribute, variables)


def _own_variables(layer: Any) -> list[Any]:
    own = layer._own_weights
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


def layer_entries(obj: Any, prefix: str = "") -> list[Entry]:
    """The groups ``obj`` writes, in Keras' layout, with the variables of each."""
    from minikeras.layers.bidirectional import Bidirectional
    from minikeras.layers.rnn_base import RNNBase
    from minikeras.layers.wrappers import TimeDistributed

    if isinstance(obj, registry.get("Model")):   # models sit above saving: found by name
        out: list[Entry] = [(prefix + "vars", obj.name, [])]
        used: dict[str, int] = {}
        for layer in obj.layers:
            key = snake_case(type(layer).__name__)
            if key in used:
                used[key] += 1
                key = f"{key}_{used[key]}"
            else:
                used[key] = 0
            out += layer_entries(layer, f"{prefix}layers/{key}/")
        return out
    if isinstance(obj, RNNBase):
        return [(prefix + "vars", obj.name, []),
                (prefix + "cell/vars", snake_case(type(obj).__name__) + "_cell",
                 _own_variables(obj))]
    if isinstance(obj, TimeDistributed):
        return [(prefix + "vars", obj.name, [])] + layer_entries(obj.layer, prefix + "layer/")
    if isinstance(obj, Bidirectional):
        return [(prefix + "vars", obj.name, [])] + layer_entries(
            obj.forward_layer, prefix + "forward_layer/") + layer_entries(
            obj.backward_layer, prefix + "backward_layer/")
    return [(prefix + "vars", obj.name, _own_variables(obj))]


def optimizer_state(optimizer: Any) -> list[tuple[Any, str | None]]:
    """(variable, slot name) pairs in Keras' order; first iterations and the learning rate
    (not saved when it is a schedule, as in Keras)."""
    pairs: list[tuple[Any, str | None]] = [(None, name)
                                           for name in optimizer._scalar_variable_names()]
    for group in optimizer._slot_groups():
        for var in optimizer._tracked:
            pairs += [(var, s) for s in group]
    # scalar state saved after the slots (Nadam's u_product), as Keras orders it
    return pairs + [(None, name) for name in optimizer._extra_variables()]


def _optimizer_name(optimizer: Any) -> str:
    default = type(optimizer).__name__.lower()
    return snake_case(type(optimizer).__name__) if optimizer.name == default else optimizer.name


# --------------------------------------------------------------------------- writing
def write_weights(model: Any, h5: Any) -> None:
    """Write ``model`` (and its optimizer, if compiled) into an open h5py File/Group."""
    for path, name, variables in layer_entries(model):
        group = h5.require_group(path)
        group.attrs["name"] = name
        for i, var in enumerate(variables):
            group.create_dataset(str(i), data=var.numpy())
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        group = h5.require_group("optimizer/vars")
        group.attrs["name"] = _optimizer_name(optimizer)
        for i, value in enumerate(optimizer.variables):
            group.create_dataset(str(i), data=_host(value))


def _host(value: Any) -> np.ndarray:
    from minikeras import backend

    return np.asarray(backend.to_numpy(value))


# --------------------------------------------------------------------------- reading
def _fail(source: str, message: str) -> ValueError:
    return ValueError(f"Cannot load weights from {source}: {message}")


def plan_weights(model: Any, h5: Any, source: str) -> list[tuple[Any, np.ndarray]]:
    """Read every layer's arrays and check them against the model; assign nothing yet."""
    if "layers" not in h5 and "vars" not in h5:
        raise _fail(source, "it has no `layers` group; it is not a Keras 3 weights file "
                    f"(top-level keys: {sorted(h5.keys())}).")
    plan: list[tuple[Any, np.ndarray]] = []
    for path, _, variables in layer_entries(model):
        layer_path = path.rsplit("/vars", 1)[0] or "(model)"
        if path not in h5:
            if not variables:
                continue   # an empty group Keras would have written: nothing to load
            parent = path.rsplit("/", 2)[0]
            have = sorted(h5[parent].keys()) if parent in h5 else sorted(h5.keys())
            raise _fail(source, f"the model expects weights at '{layer_path}' (layer "
                        f"'{variables[0].name.split('/')[0]}'), which the file lacks. The file "
                        f"has {have} there: the architectures differ.")
        group = h5[path]
        stored = len([k for k in group.keys() if k.isdigit()])
        if stored != len(variables):
            raise _fail(source, f"layer at '{layer_path}' expects {len(variables)} arrays "
                        f"({[v.name for v in variables]}), but the file holds {stored}.")
        for i, var in enumerate(variables):
            data = np.asarray(group[str(i)])
            if tuple(data.shape) != var.shape:
                raise _fail(source, f"variable '{var.name}' has shape {var.shape}, but the "
                            f"file holds shape {tuple(data.shape)} at '{path}/{i}'.")
            plan.append((var, data))
    return plan


def plan_optimizer(model: Any, h5: Any, source: str, build: bool) -> Any:
    """The optimizer's saved state, checked; ``None`` when there is nothing to restore.

    ``build=True`` (whole-model loading) creates the optimizer state first, as Keras does;
    otherwise (``load_weights``) an optimizer that has not taken a step is skipped with a
    warning, as in Keras.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or "optimizer/vars" not in h5:
        return None
    group = h5["optimizer/vars"]
    stored = len([k for k in group.keys() if k.isdigit()])
    first = len(optimizer._scalar_variable_names())   # iterations (and learning rate)
    if stored < first:
        return None
    tracked = optimizer._tracked or (model.trainable_weights if build else [])
    expected = (first + sum(len(g) for g in optimizer._slot_groups()) * len(tracked)
                + len(optimizer._extra_variables()))
    if expected != stored:
        if not build and not optimizer._tracked:
            warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because "
                          f"it has {first} variables whereas the saved optimizer has {stored} "
                          "variables.", UserWarning, stacklevel=3)
            return None
        raise _fail(source, f"the optimizer state holds {stored} arrays, but this model's "
                    f"{type(optimizer).__name__} needs {expected}.")
    values = [np.asarray(group[str(i)]) for i in range(stored)]
    return tracked, values


def apply_optimizer(model: Any, plan: Any) -> None:
    from minikeras import backend

    tracked, values = plan
    optimizer = model.optimizer
    optimizer.build(list(tracked))
    pairs = optimizer_state(optimizer)
    for (var, slot), value in zip(pairs, values, strict=True):
        if slot == "iterations":
            optimizer.iterations = int(value)
        elif slot == "learning_rate":
            if not callable(optimizer._learning_rate):
                optimizer.learning_rate = float(value)
        elif var is None:   # scalar state such as Nadam's u_product
            getattr(optimizer, slot)[...] = value
        else:
            target = optimizer._slots[id(var)][slot]
            if tuple(target.shape) != tuple(value.shape):
                raise ValueError(f"Optimizer state for '{var.name}' has shape "
                                 f"{tuple(value.shape)}; expected {tuple(target.shape)}.")
            target[...] = backend.to_device(value, target.dtype)


def check_optimizer(model: Any, plan: Any) -> None:
    """Shape-check the optimizer state before anything is assigned."""
    tracked, values = plan
    i = len(model.optimizer._scalar_variable_names())
    for group in model.optimizer._slot_groups():
        for var in tracked:
            for _ in group:
                if tuple(values[i].shape) != var.shape:
                    raise ValueError(f"Optimizer state #{i} has shape {tuple(values[i].shape)}; "
                                     f"expected {var.shape} (for '{var.name}').")
                i += 1


def read_weights(model: Any, h5: Any, source: str, build_optimizer: bool = False) -> None:
    """Load a Keras 3 weights tree into ``model``: all checks first, then every assignment."""
    plan = plan_weights(model, h5, source)
    opt_plan = plan_optimizer(model, h5, source, build_optimizer)
    if opt_plan is not None:
        check_optimizer(model, opt_plan)
    for var, data in plan:
        var.assign(data)
    if opt_plan is not None:
        apply_optimizer(model, opt_plan)
