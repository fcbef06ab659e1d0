"""Merge layers: several tensors in, one out (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate).

They own no weights; they are how a functional graph joins its branches. Each takes a list
of inputs and its ``backward`` returns a list of gradients, one per input:

    Add          y = x_1 + ... + x_k          dL/dx_i = dy
    Subtract     y = x_1 - x_2                dL/dx_1 = dy,  dL/dx_2 = -dy
    Multiply     y = x_1 * ... * x_k          dL/dx_i = dy * prod_{j != i} x_j
    Average      y = (x_1 + ... + x_k) / k    dL/dx_i = dy / k
    Maximum      y = max_i x_i                dL/dx_i = dy where x_i is the (first) max, else 0
    Minimum      y = min_i x_i                (the same, with min)
    Concatenate  y = [x_1 | ... | x_k]        dL/dx_i = the slice of dy that x_i filled

Inputs of equal rank may differ in size-1 axes (NumPy broadcasting, as Keras allows); the
gradient of a broadcast input is summed back over the axes it was stretched along.
"""

from __future__ import annotations

from typing import Any

import numpy as np  # host-side shape arithmetic only

from minikeras import backend
from minikeras.layers.layer import Layer, Shape
from minikeras.utils import validation


def _unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape, strict=True))
                 if s == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True)


class _Merge(Layer):
    """Shared checks for the element-wise merges: a list of >= 2 tensors of compatible shapes."""

    min_inputs = 2
    max_inputs: int | None = None

    def _check_list(self, input_shape: Any) -> list[Shape]:
        if not isinstance(input_shape, list) or (input_shape and not isinstance(
                input_shape[0], tuple | list)):
            raise ValueError(f"A merge layer ({self.name}) should be called on a list of "
                             f"inputs. Received: input_shape={input_shape}")
        n = len(input_shape)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.max_inputs}" if self.max_inputs == self.min_inputs
                    else f"at least {self.min_inputs}")
            raise ValueError(f"A `{type(self).__name__}` layer ({self.name}) should be called on "
                             f"{want} inputs. Received: {n} inputs.")
        return [tuple(s) for s in input_shape]

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._check_list(input_shape)
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"Layer {self.name} ({type(self).__name__}) needs inputs of equal "
                             f"rank. Received shapes {shapes}.")
        out = []
        for dims in zip(*shapes, strict=True):
            known = {d for d in dims if d is not None and d != 1}
            if len(known) > 1:
                raise ValueError(f"Inputs have incompatible shapes. Received shapes {shapes} "
                                 f"(layer {self.name}).")
            out.append(known.pop() if known else (None if None in dims else 1))
        return tuple(out)

    def check_input_shape(self, shape: Any, index: int = 0) -> None:
        if isinstance(shape, list):
            self.compute_output_shape(shape)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        xs = list(inputs)
        self._check_list([tuple(x.shape) for x in xs])
        return self._merge(xs)

    def _merge(self, xs: list[Any]) -> Any:
        raise NotImplementedError


class Add(_Merge):
    """``y = x_1 + x_2 + ...``; every input receives dy."""

    def _merge(self, xs: list[Any]) -> Any:
        self.cache = [tuple(x.shape) for x in xs]
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y

    def backward(self, grad_output: Any) -> list[Any]:
        """y = x_1 + ... + x_k, so dx_i = dy (summed over any axis x_i was broadcast along)."""
        return [_unbroadcast(grad_output, s) for s in self.cache]


class Subtract(_Merge):
    """``y = x_1 - x_2``; dL/dx_1 = dy, dL/dx_2 = -dy."""

    max_inputs = 2

    def _merge(self, xs: list[Any]) -> Any:
        self.cache = [tuple(x.shape) for x in xs]
        return xs[0] - xs[1]

    def backward(self, grad_output: Any) -> list[Any]:
        """y = x_1 - x_2, so dx_1 = dy and dx_2 = -dy (each summed over broadcast axes)."""
        s1, s2 = self.cache
        return [_unbroadcast(grad_output, s1), _unbroadcast(-grad_output, s2)]


class Average(_Merge):
    """``y = (x_1 + ... + x_k) / k``; every input receives dy / k."""

    def _merge(self, xs: list[Any]) -> Any:
        self.cache = [tuple(x.shape) for x in xs]
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y / y.dtype.type(len(xs))

    def backward(self, grad_output: Any) -> list[Any]:
        """y = (x_1 + ... + x_k) / k, so dx_i = dy / k (summed over broadcast axes)."""
        g = grad_output / grad_output.dtype.type(len(self.cache))
        return [_unbroadcast(g, s) for s in self.cache]


class Multiply(_Merge):
    """``y = x_1 * ... * x_k``; dL/dx_i = dy times the product of the other inputs."""

    def _merge(self, xs: list[Any]) -> Any:
        self.cache = xs
        y = xs[0]
        for x in xs[1:]:
            y = y * x
        return y

    def backward(self, grad_output: Any) -> list[Any]:
        """y = x_1 ⊙ ... ⊙ x_k, so dx_i = dy ⊙ Π_{j≠i} x_j
        (summed over broadcast axes)."""
        xs = self.cache
        grads = []
        for i, x in enumerate(xs):
            g = grad_output
            for j, other in enumerate(xs):
                if j != i:
                    g = g * other
            grads.append(_unbroadcast(g, tuple(x.shape)))
        return grads


class _Extremum(_Merge):
    """Element-wise max (or min); the gradient goes to the first input holding the extremum
    (ties go to the earlier input, as TensorFlow's maximum/minimum gradients do)."""

    def _pick(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def _merge(self, xs: list[Any]) -> Any:
        xp = backend.xp
        y = xs[0]
        winner = xp.zeros(np.broadcast_shapes(*[tuple(x.shape) for x in xs]), dtype="int32")
        for i, x in enumerate(xs[1:], start=1):
            better = self._pick(x, y)   # strictly better: ties keep the earlier input
            y = xp.where(better, x, y)
            winner = xp.where(better, i, winner)
        self.cache = ([tuple(x.shape) for x in xs], winner)
        return y

    def backward(self, grad_output: Any) -> list[Any]:
        """y = max_i x_i (or min): dx_i = dy where input i is the winner (the first one on
        ties), 0 elsewhere (summed over broadcast axes).
        """
        shapes, winner = self.cache
        zero = grad_output.dtype.type(0)
        return [_unbroadcast(backend.xp.where(winner == i, grad_output, zero), s)
                for i, s in enumerate(shapes)]


class Maximum(_Extremum):
    def _pick(self, a: Any, b: Any) -> Any:
        return a > b


class Minimum(_Extremum):
    def _pick(self, a: Any, b: Any) -> Any:
        return a < b


class Concatenate(_Merge):
    """``y = [x_1 | x_2 | ...]`` along ``axis``; backward cuts dy back into the pieces."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        validation.check_int(axis, "axis", "Concatenate")
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._check_list(input_shape)
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        for s in shapes:
            if len(s) != rank or any(a is not None and b is not None and a != b
                                     for k, (a, b) in enumerate(zip(s, shapes[0], strict=True))
                                     if k != axis):
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes except for the "
                    f"concatenation axis. Received: input_shape={shapes} (layer {self.name})")
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        for k in range(rank):
            if k != axis and out[k] is None:
                out[k] = next((s[k] for s in shapes if s[k] is not None), None)
        return tuple(out)

    def _merge(self, xs: list[Any]) -> Any:
        axis = self.axis % xs[0].ndim
        self.cache = (axis, [x.shape[axis] for x in xs])
        return backend.xp.concatenate(xs, axis=axis)

    def backward(self, grad_output: Any) -> list[Any]:
        """y = [x_1 | ... | x_k] along ``axis``, so dx_i is dy's slice along that axis:
        dx_i = dy[..., o_i : o_i + n_i, ...] with o_i = n_1 + ... + n_{i-1}.
        """
        axis, sizes = self.cache
        grads, start = [], 0
        for size in sizes:
            index = [slice(None)] * grad_output.ndim
            index[axis] = slice(start, start + size)
            grads.append(grad_output[tuple(index)])
            start += size
        return grads

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional shortcut: ``add([a, b])`` is ``Add()([a, b])``."""
    return Add(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional shortcut: ``concatenate([a, b])`` is ``Concatenate()([a, b])``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional shortcut: ``subtract([a, b])`` is ``Subtract()([a, b])``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional shortcut: ``multiply([a, b])`` is ``Multiply()([a, b])``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional shortcut: ``average([a, b])`` is ``Average()([a, b])``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional shortcut: ``maximum([a, b])`` is ``Maximum()([a, b])``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional shortcut: ``minimum([a, b])`` is ``Minimum()([a, b])``."""
    return Minimum(**kwargs)(inputs)
