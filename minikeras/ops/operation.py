"""Operation: a function of tensors that becomes a node of the functional graph.

In Keras 3, ``x + y`` on symbolic tensors records an *operation* (``keras.src.ops.numpy.Add``),
not a layer: it has no weights, ``model.layers`` leaves it out, yet ``summary()`` prints it and
the saved config lists it with its calls. Here an operation is a weightless ``Layer`` (so the
functional model runs it like any node: ``forward`` in order, ``backward`` in reverse) whose
arguments may mix symbolic tensors and constants (``x * 2.0``, ``1.0 - x``,
``x @ np.ones((4, 3))``). The constants are kept in ``arguments``, in their places; the
tensors are the node's inputs, and ``forward`` receives their values in the same order.

A subclass writes two methods on the full argument list ``(a, b)``:

* ``compute(a, b)``: the value y;
* ``operand_gradients(dy, a, b)``: dL/da and dL/db, the equations of its docstring.

``backward`` returns the gradients of the tensor arguments only (a constant needs none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend, graph
from minikeras.layers.layer import Layer

#: marks, in ``Operation.arguments``, the place of a symbolic tensor (the rest are constants)
TENSOR = "__keras_tensor__"


class Operation(Layer):
    """A weightless node of the graph: ``y = compute(*arguments)``."""

    _registry_prefix = "ops."     # "ops.Add": the merging layer Add keeps the name "Add"
    #: Functional.layers leaves operations out, as Keras' ``model.layers`` does
    is_operation = True
    #: where Keras defines the class: written as "module" in saved configs
    keras_module = "keras.src.ops.numpy"

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.arguments: list[Any] = []   # TENSOR where a tensor goes, else the constant
        self.built = True

    # ------------------------------------------------------------------ recording the call
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """On symbolic tensors: a node of the graph. On data: the value, at once."""
        if kwargs:
            raise TypeError(f"Operation {self.name} takes no keyword arguments; got "
                            f"{sorted(kwargs)}.")
        if not any(isinstance(a, graph.KerasTensor) for a in args):
            return backend.to_numpy(self.compute(*[self.constant(a) for a in args]))
        if self._inbound_nodes:
            raise ValueError(f"Operation {self.name} was already called; each `x + y` makes "
                             "its own operation.")
        tensors = [a for a in args if isinstance(a, graph.KerasTensor)]
        self.arguments = [TENSOR if isinstance(a, graph.KerasTensor) else self.constant(a)
                          for a in args]
        shapes = [tuple(getattr(a, "shape", ()))      # a number has shape ()
                  for a in self.arguments_with(tensors)]
        out_shape = self.compute_output_shape(shapes)
        self.dtype = result_dtype(self.arguments_with(tensors))
        self._input_shape = [tuple(t.shape) for t in tensors]
        self._output_shape = out_shape
        node = graph.Node(self, tensors, multi_input=True)
        node.outputs = [graph.KerasTensor(out_shape, self.dtype, node, 0)]
        return node.outputs[0]

    def arguments_with(self, values: list[Any], constant: Any = None) -> list[Any]:
        """The full argument list: ``values`` (one per tensor, in order) in the tensors'
        places, the constants (or ``constant(c)`` of each) in theirs."""
        it = iter(values)
        return [next(it) if a is TENSOR else (a if constant is None else constant(a))
                for a in self.arguments]

    # ------------------------------------------------------------------ forward / backward
    def forward(self, inputs: list[Any], training: bool = False) -> Any:
        operands = self.arguments_with(inputs)
        self.cache = operands
        return self.compute(*operands)

    def backward(self, grad_output: Any) -> list[Any]:
        if not self.input_grad_needed:
            return [None] * sum(a is TENSOR for a in self.arguments)
        grads = self.operand_gradients(grad_output, *self.cache)
        return [g for g, a in zip(grads, self.arguments, strict=True) if a is TENSOR]

    def constant(self, value: Any) -> Any:
        """A constant argument: Python numbers stay numbers (they take the tensor's dtype, as
        in Keras); arrays go to the device, keeping their dtype."""
        if isinstance(value, bool | int | float):
            return value
        array = backend.to_device(value) if not isinstance(value, str) else None
        if array is None or array.dtype.kind not in "biuf":
            raise TypeError(f"Operation {self.name}: an argument must be a symbolic tensor, a "
                            f"number or a numeric array; received {type(value).__name__} "
                            f"{value!r}.")
        return array

    def constant_config(self, value: Any) -> Any:
        """A constant argument as Keras writes it in a saved config: numbers as they are,
        arrays as ``{"class_name": "__numpy__", ...}``."""
        if isinstance(value, bool | int | float):
            return value
        array = backend.to_numpy(value)
        return {"class_name": "__numpy__",
                "config": {"value": array.tolist(), "dtype": str(array.dtype)}}

    def is_tensor(self, index: int) -> bool:
        """Whether argument ``index`` is a tensor (a constant needs no gradient)."""
        return self.arguments[index] is TENSOR

    def compute(self, *operands: Any) -> Any:
        raise NotImplementedError

    def operand_gradients(self, dy: Any, *operands: Any) -> list[Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}   # as Keras writes an operation: the rest is in its node


def result_dtype(operands: list[Any]) -> str:
    """The dtype of the result: NumPy's promotion, Python numbers weak (float32 * 2.0 is
    float32), as Keras promotes."""
    dtypes = [getattr(a, "dtype", None) for a in operands]
    arrays = [np.dtype(d) for d in dtypes if d is not None]
    if not arrays:
        return backend.floatx()
    result = np.result_type(*arrays)
    if result.kind in "iub" and any(isinstance(a, float) for a in operands):
        return backend.floatx()     # int tensor * 2.5: a float, Keras' floatx
    return str(result)


def broadcast_shape(a: tuple, b: tuple, where: str) -> tuple:
    """NumPy's broadcasting of two shapes; ``None`` (unknown) takes the other size unless
    that is 1."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for da, db in zip(a, b, strict=True):
        if da == 1:
            out.append(db)
        elif db == 1 or db is None or da == db:
            out.append(da)
        elif da is None:
            out.append(db)
        else:
            raise ValueError(f"{where}: cannot broadcast shapes {a} and {b} (sizes {da} and "
                             f"{db} on one axis).")
    return tuple(out)


def sum_to_shape(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so that it has
    ``shape``: the gradient of a broadcast ``b -> grad.shape`` is this sum.

        leading axes added by broadcasting: summed away;
        axes where ``shape`` has 1 (and ``grad`` more): summed, keeping the 1.
    """
    added = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(added))) if added > 0 else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad
