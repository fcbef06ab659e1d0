"""Symbolic tensors and nodes: what ``Input(...)`` and calling a layer on it record.

``Input(shape)`` returns a ``KerasTensor``: no data, only a shape, a dtype and the node that
made it. Calling a layer on KerasTensors builds the layer from their shapes and records a
``Node`` (layer, input tensors, output tensors). A functional ``Model(inputs, outputs)`` walks
those nodes: forward in topological order, backward in reverse.

This module sits below the layers (``Layer.__call__`` records nodes here), so it never imports
them: the classes it creates (``InputLayer``) come from ``registry.py`` by name.
"""

from __future__ import annotations

from typing import Any

from minikeras import backend, registry


class KerasTensor:
    """A symbolic tensor: shape (batch axis first, ``None`` where unknown), dtype, history."""

    def __init__(self, shape: tuple, dtype: str, node: Node | None = None, index: int = 0,
                 name: str | None = None) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def _keras_history(self) -> tuple:
        return (self.node.layer if self.node else None, 0, self.index)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # Arithmetic records an operation (ops/numpy.py), found by name: the operations are
    # layers of the graph and sit above this module. ``x += y`` rebinds x to ``x + y``.
    def __add__(self, other: Any) -> KerasTensor:
        return _operation("Add", self, other)

    def __radd__(self, other: Any) -> KerasTensor:
        return _operation("Add", other, self)

    def __sub__(self, other: Any) -> KerasTensor:
        return _operation("Subtract", self, other)

    def __rsub__(self, other: Any) -> KerasTensor:
        return _operation("Subtract", other, self)

    def __mul__(self, other: Any) -> KerasTensor:
        return _operation("Multiply", self, other)

    def __rmul__(self, other: Any) -> KerasTensor:
        return _operation("Multiply", other, self)

    def __truediv__(self, other: Any) -> KerasTensor:
        return _operation("TrueDivide", self, other)

    def __rtruediv__(self, other: Any) -> KerasTensor:
        return _operation("TrueDivide", other, self)

    def __matmul__(self, other: Any) -> KerasTensor:
        return _operation("Matmul", self, other)

    def __rmatmul__(self, other: Any) -> KerasTensor:
        return _operation("Matmul", other, self)

    def __pow__(self, other: Any) -> KerasTensor:
        return _operation("Power", self, other)

    def __rpow__(self, other: Any) -> KerasTensor:
        return _operation("Power", other, self)

    def __neg__(self) -> KerasTensor:
        return _operation("Negative", self)

    def __abs__(self) -> KerasTensor:
        return _operation("Absolute", self)

    def __getitem__(self, key: Any) -> KerasTensor:
        return _operation("GetItem", self, key)

    #: ``np_array + tensor``: NumPy steps aside, so Python calls ``tensor.__radd__``
    __array_ufunc__ = None

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "A symbolic KerasTensor (from `Input` or a layer called on one) has no values; it "
            "can only be passed to layers and to `Model(inputs, outputs)`. To compute values, "
            "build a Model and call `model.predict(data)` or `model(data)`."
        )


def _operation(name: str, *args: Any) -> KerasTensor:
    """``x + y`` -> ``Add()(x, y)``: a new operation, recorded as a node of the graph."""
    return registry.get(f"ops.{name}")()(*args)


class Node:
    """One call of a layer on symbolic inputs: ``outputs = layer(inputs)``."""

    def __init__(self, layer: Any, inputs: list[KerasTensor], kwargs: dict | None = None,
                 multi_input: bool = False, multi_output: bool = False) -> None:
        self.layer = layer
        self.inputs = inputs
        self.kwargs = dict(kwargs or {})
        self.outputs: list[KerasTensor] = []
        #: the layer was called on a list (merge layers, ``initial_state``): forward gets a list
        self.multi_input = multi_input
        #: the layer returned a list (``return_state=True``, a multi-output model)
        self.multi_output = multi_output
        layer._inbound_nodes.append(self)

    @property
    def is_input(self) -> bool:
        """The node of an ``Input``: no inputs, the tensor is the model's data."""
        return not self.inputs and isinstance(self.layer, registry.get("InputLayer"))


def is_symbolic(value: Any) -> bool:
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, list | tuple) and value:
        return any(isinstance(v, KerasTensor) for v in value)
    return False


def Input(shape: Any = None, batch_size: int | None = None, dtype: str | None = None,
          sparse: bool | None = None, batch_shape: Any = None, name: str | None = None,
          tensor: Any = None, **kwargs: Any) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch axis), as ``keras.Input``."""
    input_layer = registry.get("InputLayer")
    layer = input_layer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                        name=name, **kwargs)
    return input_tensor(layer)


def input_tensor(layer: Any) -> KerasTensor:
    """The symbolic tensor of an InputLayer (a new node; used by ``Input`` and loading)."""
    node = Node(layer, [])
    out = KerasTensor(layer.batch_shape, layer.dtype, node, 0, name=layer.name)
    node.outputs = [out]
    return out


def call_layer(layer: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """Record ``layer(inputs)`` on symbolic tensors; return symbolic output(s)."""
    if args:
        raise TypeError(f"Layer {layer.name}: unexpected positional arguments {args}.")
    multi = isinstance(inputs, list | tuple)
    tensors = list(inputs) if multi else [inputs]
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"Layer {layer.name} was called on a mix of symbolic tensors and data "
                f"({type(t).__name__}). In a functional model every input must come from "
                "`Input(...)` or from another layer."
            )
    shapes: Any = [t.shape for t in tensors] if multi else tensors[0].shape
    layer.build_for(shapes)
    if multi:
        for i, s in enumerate(shapes):
            layer.check_input_shape(s, i)
    else:
        layer.check_input_shape(shapes)
    out_shape = layer.compute_output_shape(shapes)
    node = Node(layer, tensors, kwargs, multi_input=multi,
                multi_output=isinstance(out_shape, list))
    dtype = getattr(layer, "dtype", backend.floatx())
    if isinstance(out_shape, list):
        node.outputs = [KerasTensor(s, dtype, node, i) for i, s in enumerate(out_shape)]
        return list(node.outputs)
    node.outputs = [KerasTensor(out_shape, dtype, node, 0)]
    return node.outputs[0]
