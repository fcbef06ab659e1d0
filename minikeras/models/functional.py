"""Functional: a model that is a graph of layer calls, ``Model(inputs, outputs)``.

Calling layers on ``Input`` tensors recorded nodes (``graph.py``). The model walks back
from its outputs to its inputs once, at construction, and keeps the nodes in topological
order. Then, per batch:

* forward: each node in order runs ``layer.forward`` on the values of its input tensors;
  the layer's ``cache`` is saved *per node* right after, because a layer called twice (a
  shared layer) overwrites its cache on the second call;
* backward: the nodes in reverse order, each on its own cache put back; a tensor that feeds
  several layers receives the sum of their gradients (the chain rule, and the loss'
  logits shortcut: ``Functional._backward``'s docstring).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from minikeras.graph import KerasTensor, Node
from minikeras.layers.layer import Layer
from minikeras.models.model import Model, layer_backward


def _flatten(struct: Any, what: str) -> tuple[list[KerasTensor], list[str] | None]:
    """A tensor, list/tuple or dict of tensors -> (list, dict keys or None)."""
    keys = None
    if isinstance(struct, Mapping):
        keys = list(struct)
        items = [struct[k] for k in keys]
    elif isinstance(struct, list | tuple):
        items = list(struct)
    else:
        items = [struct]
    if not items:
        raise ValueError(f"Model: `{what}` is empty.")
    for t in items:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"Model: every entry of `{what}` must be a symbolic tensor (from `Input(...)` "
                f"or a layer called on one); received {type(t).__name__}. Data such as NumPy "
                "arrays goes to fit/predict, not to Model(inputs, outputs)."
            )
    return items, keys


def build_map(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> tuple[list, list]:
    """Topological order of the nodes between ``inputs`` and ``outputs``, and Keras' layer order.

    A depth-first walk back from each output (Keras' ``_build_map``) lists every node after
    the nodes it depends on. Layers are then ordered as Keras orders ``model.layers``: by
    decreasing depth (distance to the outputs), ties broken by when the walk first met them.
    """
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    first_seen: dict[int, int] = {}

    def visit(t: KerasTensor) -> None:
        node = t.node
        if node is None or id(node) in finished:
            return
        if id(t) in input_ids and not node.is_input:
            finished.add(id(node))  # an intermediate tensor used as a model input: stop here
            return
        if id(node) in in_progress:
            raise ValueError(f"Tensor {t} from layer '{node.layer.name}' is part of a cycle.")
        first_seen.setdefault(id(node.layer), len(first_seen))
        in_progress.add(id(node))
        if not node.is_input:
            for parent in node.inputs:
                visit(parent)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for out in outputs:
        visit(out)
    # depth: outputs' nodes 0, a parent one more than its deepest child
    members = {id(n) for n in ordered}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers: dict[int, Layer] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        layers[id(node.layer)] = node.layer
        if not node.is_input:
            for parent in node.inputs:
                pn = parent.node
                if pn is not None and id(pn) in members:
                    node_depth[id(pn)] = max(depth + 1, node_depth.get(id(pn), 0))
    for t in inputs:  # unused inputs are still part of the model (Keras keeps them)
        if t.node is not None and t.node.is_input and id(t.node.layer) not in layers:
            layers[id(t.node.layer)] = t.node.layer
            layer_depth[id(t.node.layer)] = 0
            first_seen[id(t.node.layer)] = -1
    layer_order = sorted(layers.values(),
                         key=lambda la: (-layer_depth[id(la)], first_seen[id(la)]))
    return ordered, layer_order


class GradientSums:
    """dL/dt per tensor (or per node), keyed by identity: each gradient that arrives for a
    key is added to what is already there (``add(t, g)``: dL/dt <- dL/dt + g)."""

    def __init__(self) -> None:
        self._sums: dict[int, Any] = {}

    def add(self, key: Any, grad: Any) -> None:
        if grad is not None:
            k = id(key)
            self._sums[k] = grad if k not in self._sums else self._sums[k] + grad

    def get(self, key: Any) -> Any:
        return self._sums.get(id(key))

    def pop(self, key: Any) -> Any:
        """The sum for ``key`` (None if none arrived), dropped here to free it early."""
        return self._sums.pop(id(key), None)


def _add_per_input(total: list[Any], dx: Any, node: Node) -> None:
    """total[i] += dx[i] for each input i of ``node`` (dx is one array for a one-input node)."""
    parts = list(dx) if node.multi_input else [dx]
    for i, d in enumerate(parts):
        if d is not None:
            total[i] = d if total[i] is None else total[i] + d


class Functional(Model):
    """A model over the graph from ``inputs`` to ``outputs`` (tensors, lists or dicts)."""

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        for old, new in (("input", "inputs"), ("output", "outputs")):
            if old in kwargs:
                warnings.warn(f"Model(`{old}`=...) is Keras 1/2 spelling; use `{new}`=.",
                              DeprecationWarning, stacklevel=3)
                if new == "inputs":
                    inputs = kwargs.pop(old)
                else:
                    outputs = kwargs.pop(old)
        if inputs is None or outputs is None:
            raise ValueError("Model(inputs, outputs): both `inputs` and `outputs` are required.")
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._node_caches: dict[int, Any] = {}
        self._inputs, self._input_keys = _flatten(inputs, "inputs")
        self._outputs, self._output_keys = _flatten(outputs, "outputs")
        self._single_input = not isinstance(inputs, list | tuple | Mapping)
        self._single_output = not isinstance(outputs, list | tuple | Mapping)
        nodes, self._layers = build_map(self._inputs, self._outputs)
        self._nodes = [n for n in nodes if not n.is_input]
        self._check_connected()
        self._node_ids = {id(n) for n in nodes}
        self._input_ids = {id(t) for t in self._inputs}
        self.built = True
        self._input_shape = self._shapes_of(self._inputs, self._single_input)
        self._output_shape = self._shapes_of(self._outputs, self._single_output)

    @staticmethod
    def _shapes_of(tensors: list[KerasTensor], single: bool) -> Any:
        shapes = [tuple(t.shape) for t in tensors]
        return shapes[0] if single else shapes

    def _check_connected(self) -> None:
        """Every tensor a node reads must be computable from the model's inputs."""
        known = {id(t) for t in self._inputs}
        for node in self._nodes:
            for t in node.inputs:
                if id(t) not in known:
                    src = t.node.layer.name if t.node is not None else "?"
                    raise ValueError(
                        f"Graph disconnected: cannot obtain the value of tensor {t} (made by "
                        f"layer '{src}') feeding layer '{node.layer.name}' from the model's "
                        f"inputs {[i.name for i in self._inputs]}. The outputs must be "
                        "computed from the tensors passed as `inputs`."
                    )
            known.update(id(t) for t in node.outputs)
        for t in self._outputs:
            if id(t) not in known:
                raise ValueError(f"Output {t} is not connected to `inputs`: it does not depend "
                                 f"on the model's inputs {[i.name for i in self._inputs]}.")

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """All layers, InputLayers first (Keras' order: by depth, then by discovery).
        Operations (``x + y``) are not layers: Keras leaves them out here too."""
        return [la for la in self._layers if not getattr(la, "is_operation", False)]

    @property
    def operations(self) -> list[Layer]:
        """The layers and the operations (``x + y``), in the order of ``layers``."""
        return list(self._layers)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self) -> Any:
        return self._inputs[0] if self._single_input else list(self._inputs)

    @property
    def output(self) -> Any:
        return self._outputs[0] if self._single_output else list(self._outputs)

    def _input_names(self) -> list[str]:
        if self._input_keys is not None:
            return list(self._input_keys)
        return [t.node.layer.name if t.node is not None else f"input_{i}"
                for i, t in enumerate(self._inputs)]

    @property
    def output_names(self) -> list[str]:
        if self._output_keys is not None:
            return list(self._output_keys)
        names: list[str] = []
        for t in self._outputs:
            name = t.node.layer.name
            names.append(name if name not in names else f"{name}_{len(names)}")
        return names

    def _output_shapes(self) -> list[tuple]:
        return [tuple(t.shape) for t in self._outputs]

    def _expected_input_shapes(self) -> list[tuple]:
        return [tuple(t.shape) for t in self._inputs]

    @property
    def cache(self) -> dict[int, Any]:
        """The per-node caches of the last forward (this model used as a layer swaps them)."""
        return self._node_caches

    @cache.setter
    def cache(self, value: Any) -> None:
        self._node_caches = value if value is not None else {}

    # ------------------------------------------------------------------ shapes
    def _ensure_built(self, xs: list[Any]) -> None:
        if len(xs) != len(self._inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self._inputs)} input(s) "
                             f"{self._input_names()}, but received {len(xs)}.")
        for i, x in enumerate(xs):
            self.check_input_shape(tuple(x.shape), i)

    def check_input_shape(self, shape: Any, index: int = 0) -> None:
        if isinstance(shape, list):
            for i, s in enumerate(shape):
                self.check_input_shape(tuple(s), i)
            return
        if index >= len(self._inputs):
            return
        expected = self._inputs[index].shape
        if len(expected) != len(shape) or any(
                e is not None and g is not None and e != g
                for e, g in zip(expected[1:], shape[1:], strict=True)):
            raise ValueError(
                f'Input {index} of model "{self.name}" ({self._input_names()[index]}) is '
                f"incompatible with the model: expected shape={expected}, found shape={shape}")

    def compute_output_shape(self, input_shape: Any) -> Any:
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        batch = first[0] if first else None
        shapes = [(batch, *t.shape[1:]) for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # ------------------------------------------------------------------ data flow
    def _forward(self, inputs: list[Any], training: bool) -> list[Any]:
        self._ensure_built(inputs)
        values = {id(t): x for t, x in zip(self._inputs, inputs, strict=True)}
        caches: dict[int, Any] = {}
        for node in self._nodes:
            args = [values[id(t)] for t in node.inputs]
            layer = node.layer
            # the model lets go of this node's last cache now, so that a layer that lets go
            # of its own before making the next (Conv2D: its patch matrix) frees it
            self._node_caches.pop(id(node), None)
            out = layer.forward(args if node.multi_input else args[0],
                                training=bool(node.kwargs.get("training", training)))
            caches[id(node)] = layer.cache        # this call's cache, kept for backward
            outs = out if node.multi_output else [out]
            for t, value in zip(node.outputs, outs, strict=True):
                values[id(t)] = value
        self._node_caches = caches
        return [values[id(t)] for t in self._outputs]

    def _output_logits(self) -> list[Any]:
        logits = []
        for t in self._outputs:
            node = t.node
            if node is None or node.is_input or node.multi_output:
                logits.append(None)
                continue
            node.layer.cache = self._node_caches.get(id(node))
            logits.append(node.layer.output_logits())
        return logits

    def _output_activations(self) -> list[str | None]:
        return [None if t.node is None or t.node.is_input or t.node.multi_output
                else t.node.layer.output_activation() for t in self._outputs]

    def _backward(self, grads: list[Any], wrt_logits: list[bool],
                  input_grads: bool = True) -> list[Any]:
        """The chain rule over the graph, nodes in reverse topological order.

        With dL/dt the gradient of the loss with respect to a tensor t, and each node
        computing its outputs y from its inputs x (y = layer(x)):

            dL/dt = Σ over the nodes n that read t of  dL/dt|n     (the multivariate chain rule)
            dL/dx|n = layer.backward(dL/dy)                          (and its weight gradients)

        Reverse topological order runs every node that reads t before the node that makes
        t, so dL/dt is complete when its maker runs. A shared layer's weights get one
        ``add_grad`` per call: the sum again.

        The loss' shortcut: where output i's ``wrt_logits`` is True (softmax/sigmoid followed
        by cross-entropy) its gradient is dL/dz, z the logits of the layer that made it, and
        that node runs ``layer.backward_from_logits(dL/dz)`` instead (plus ``backward`` if the
        output also feeds another node; the two dL/dx are summed). ``input_grads=False``
        (training): a node that reads only the model's inputs (data) skips dL/d(its inputs).
        """
        dL_dt = GradientSums()   # tensor -> dL/dt, summed over the nodes that read t
        dL_dz = GradientSums()   # output node -> dL/d(its logits), from a cross-entropy loss
        for t, grad, of_logits in zip(self._outputs, grads, wrt_logits, strict=True):
            if of_logits:
                dL_dz.add(t.node, grad)
            else:
                dL_dt.add(t, grad)
        for node in reversed(self._nodes):
            dL_dy = [dL_dt.pop(t) for t in node.outputs]
            dz = dL_dz.pop(node)
            if dz is None and all(dy is None for dy in dL_dy):
                continue                  # no loss depends on this node
            dL_dx = self._node_backward(node, dL_dy, dz, input_grads)
            for t, dx in zip(node.inputs, dL_dx, strict=True):
                dL_dt.add(t, dx)
        return [dL_dt.get(t) for t in self._inputs]

    def _node_backward(self, node: Node, dL_dy: list[Any], dz: Any,
                       input_grads: bool) -> list[Any]:
        """dL/dx for each input x of one node (None where it does not depend on the loss):
        its layer's backward on this call's cache, from dL/dz (``backward_from_logits``)
        and from dL/dy (``backward``), the two summed."""
        layer = node.layer
        layer.cache = self._node_caches[id(node)]   # this call's (a shared layer has several)
        reads_only_data = all(id(t) in self._input_ids for t in node.inputs)
        input_grad_needed = input_grads or not reads_only_data
        dL_dx: list[Any] = [None] * len(node.inputs)
        if dz is not None:
            _add_per_input(dL_dx, layer_backward(layer, dz, True, input_grad_needed), node)
        if any(dy is not None for dy in dL_dy):
            dy = dL_dy if node.multi_output else dL_dy[0]
            _add_per_input(dL_dx, layer_backward(layer, dy, False, input_grad_needed), node)
        return dL_dx

    # ------------------------------------------------------------------ outputs as dicts
    def predict(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        out = super().predict(x, *args, **kwargs)
        if self._output_keys is not None:
            outs = out if isinstance(out, list) else [out]
            return dict(zip(self._output_keys, outs, strict=True))
        return out

    def _connected_to(self) -> dict[int, str] | None:
        """For ``summary()``: each layer's inputs as ``name[node][tensor]``, or ``None`` when
        the graph is a plain chain (Keras then prints the Sequential layout)."""
        consumers: dict[int, int] = {}
        for node in self._nodes:
            for t in node.inputs:
                consumers[id(t)] = consumers.get(id(t), 0) + 1
        layer_calls = [id(n.layer) for n in self._nodes]
        chain = (len(self._inputs) == 1 and len(self._outputs) == 1
                 and all(len(n.inputs) <= 1 for n in self._nodes)
                 and all(c == 1 for c in consumers.values())
                 and len(set(layer_calls)) == len(layer_calls))
        if chain:
            return None
        text: dict[int, str] = {}
        for layer in self._layers:
            refs = [f"{t.node.layer.name}[{t.node.layer._inbound_nodes.index(t.node)}]"
                    f"[{t.index}]"
                    for n in layer._inbound_nodes if id(n) in self._node_ids
                    for t in n.inputs]
            text[id(layer)] = ", ".join(refs) or "-"
        return text

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from minikeras.saving.config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Any:
        from minikeras.saving.config import functional_from_config

        return functional_from_config(config, custom_objects)

    def __repr__(self) -> str:
        return (f"<Functional name={self.name}, inputs={self._input_names()}, "
                f"outputs={self.output_names}>")

