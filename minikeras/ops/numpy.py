"""The arithmetic of symbolic tensors: ``x + y``, ``x - y``, ``x * y``, ``x / y``, ``-x``,
``x ** y``, ``abs(x)``, ``x @ y``, ``x[key]``, as Keras 3's operations of
``keras.src.ops.numpy`` (same class names, same auto-names: ``add``, ``subtract``,
``multiply``, ``true_divide``, ``negative``, ``power``, ``absolute``, ``matmul``,
``get_item``).

Each argument may be a tensor or a constant (a Python number or an array); shapes broadcast
as in NumPy. Broadcasting copies an operand along the stretched axes, so its gradient sums
dL/dy back over them (``sum_to_shape``): with a of shape (1, 4) and y of shape (N, 4),
dL/da = Σ over the N rows of dL/dy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend
from minikeras.ops.operation import Operation, broadcast_shape, sum_to_shape


def _shape(value: Any) -> tuple:
    return tuple(np.shape(value))


class _Elementwise(Operation):
    """Two arguments, broadcast against each other."""

    def compute_output_shape(self, input_shape: Any) -> tuple:
        a, b = input_shape
        return broadcast_shape(a, b, f"Operation {self.name}")


class Add(_Elementwise):
    """y = a + b

    da = sum_to_shape(dy, shape of a)
    db = sum_to_shape(dy, shape of b)
    """

    def compute(self, a: Any, b: Any) -> Any:
        return a + b

    def operand_gradients(self, dy: Any, a: Any, b: Any) -> list[Any]:
        da = sum_to_shape(dy, _shape(a))
        db = sum_to_shape(dy, _shape(b))
        return [da, db]


class Subtract(_Elementwise):
    """y = a - b

    da = sum_to_shape(dy, shape of a)
    db = sum_to_shape(-dy, shape of b)
    """

    def compute(self, a: Any, b: Any) -> Any:
        return a - b

    def operand_gradients(self, dy: Any, a: Any, b: Any) -> list[Any]:
        da = sum_to_shape(dy, _shape(a))
        db = sum_to_shape(-dy, _shape(b))
        return [da, db]


class Multiply(_Elementwise):
    """y = a · b  (element-wise)

    da = sum_to_shape(dy · b, shape of a)
    db = sum_to_shape(dy · a, shape of b)
    """

    def compute(self, a: Any, b: Any) -> Any:
        return a * b

    def operand_gradients(self, dy: Any, a: Any, b: Any) -> list[Any]:
        da = sum_to_shape(dy * b, _shape(a))
        db = sum_to_shape(dy * a, _shape(b))
        return [da, db]


class TrueDivide(_Elementwise):
    """y = a / b  (element-wise; Keras' name for ``/``)

    da = sum_to_shape(dy / b, shape of a)
    db = sum_to_shape(-dy · a / b², shape of b)
    """

    def compute(self, a: Any, b: Any) -> Any:
        return a / b

    def operand_gradients(self, dy: Any, a: Any, b: Any) -> list[Any]:
        da = sum_to_shape(dy / b, _shape(a))
        db = sum_to_shape(-dy * a / b**2, _shape(b))
        return [da, db]


class Power(_Elementwise):
    """y = a ** b  (element-wise)

    da = sum_to_shape(dy · b · a^(b−1), shape of a)
    db = sum_to_shape(dy · a^b · log(a), shape of b)     (a^b is y, recomputed: the
                                                        operation keeps no output)

    Each only when that argument is a tensor: ``x ** 2`` needs no log(x), which a negative
    x would make NaN.
    """

    def compute(self, a: Any, b: Any) -> Any:
        return a**b

    def operand_gradients(self, dy: Any, a: Any, b: Any) -> list[Any]:
        da = sum_to_shape(dy * b * a ** (b - 1), _shape(a)) if self.is_tensor(0) else None
        db = (sum_to_shape(dy * a**b * backend.xp.log(a), _shape(b)) if self.is_tensor(1)
              else None)
        return [da, db]


class Absolute(Operation):
    """y = |a|

    da = dy · sign(a)      (0 at a = 0, as TensorFlow's gradient of abs)
    """

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def compute(self, a: Any) -> Any:
        return abs(a)

    def operand_gradients(self, dy: Any, a: Any) -> list[Any]:
        da = dy * backend.xp.sign(a)
        return [da]


class Negative(Operation):
    """y = -a

    da = -dy
    """

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def compute(self, a: Any) -> Any:
        return -a

    def operand_gradients(self, dy: Any, a: Any) -> list[Any]:
        da = -dy
        return [da]


class Matmul(Operation):
    """y = a @ b  (NumPy's matmul: the last two axes multiply, the others broadcast)

    With A = a as a matrix (a 1-D a is a row: (1, k)) and B = b as one (a 1-D b is a
    column: (k, 1)), and dY = dy with those axes put back:

    dA = dY @ Bᵀ,  da = sum_to_shape(dA, shape of A), reshaped to a's shape
    dB = Aᵀ @ dY,  db = sum_to_shape(dB, shape of B), reshaped to b's shape

    (ᵀ swaps the last two axes; the sums undo broadcasting over the leading axes.)
    """

    def compute_output_shape(self, input_shape: Any) -> tuple:
        a, b = (tuple(s) for s in input_shape)
        if not a or not b:
            raise ValueError(f"Operation {self.name}: matmul needs arrays of rank >= 1, got "
                             f"shapes {a} and {b}.")
        a2 = (1, *a) if len(a) == 1 else a
        b2 = (*b, 1) if len(b) == 1 else b
        if None not in (a2[-1], b2[-2]) and a2[-1] != b2[-2]:
            raise ValueError(f"Operation {self.name}: the inner dimensions of shapes {a} and "
                             f"{b} differ ({a2[-1]} != {b2[-2]}).")
        batch = broadcast_shape(a2[:-2], b2[:-2], f"Operation {self.name}")
        out = (*batch, a2[-2], b2[-1])
        if len(a) == 1:
            out = out[:-2] + out[-1:]
        if len(b) == 1:
            out = out[:-1]
        return out

    def compute(self, a: Any, b: Any) -> Any:
        return a @ b

    def operand_gradients(self, dy: Any, a: Any, b: Any) -> list[Any]:
        A = a[None, :] if a.ndim == 1 else a       # a as a matrix: a 1-D a is a row
        B = b[:, None] if b.ndim == 1 else b       # b as a matrix: a 1-D b is a column
        Y_shape = (*broadcast_shape(A.shape[:-2], B.shape[:-2], f"Operation {self.name}"),
                   A.shape[-2], B.shape[-1])       # the shape of A @ B
        dY = dy.reshape(Y_shape)                   # dy with the axes that a 1-D a or b
                                                   # dropped put back
        dA = dY @ B.swapaxes(-1, -2)
        dB = A.swapaxes(-1, -2) @ dY
        da = sum_to_shape(dA, A.shape).reshape(a.shape)
        db = sum_to_shape(dB, B.shape).reshape(b.shape)
        return [da, db]


class GetItem(Operation):
    """y = a[key]  (basic indexing: integers, slices, ``...`` and ``None``)

    da = zeros of a's shape, with da[key] = dy   (the entries not picked get no gradient)

    The key is a constant argument; a saved config writes slices as
    ``{"class_name": "__slice__", "config": {"start", "stop", "step"}}`` and ``...`` as
    ``{"class_name": "__ellipsis__"}``, as Keras does.
    """

    def constant(self, value: Any) -> Any:
        key = tuple(_key_item(v) for v in value) if isinstance(value, tuple) else _key_item(
            value)
        for item in key if isinstance(key, tuple) else (key,):
            if not (item is None or item is Ellipsis or isinstance(item, int | slice)):
                raise TypeError(f"Operation {self.name}: a symbolic tensor takes integers, "
                                f"slices, `...` and `None` as indices; received {value!r}.")
        return key

    def constant_config(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return [_key_item_config(v) for v in value]
        return _key_item_config(value)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape, key = input_shape[0], self.arguments[1]
        # index two stand-in arrays, with unknown sizes 1 and 2: a size that differs is unknown
        outs = [np.broadcast_to(np.float32(0), tuple(n if s is None else s for s in shape))[key]
                for n in (1, 2)]
        return tuple(None if a != b else a for a, b in zip(outs[0].shape, outs[1].shape,
                                                           strict=True))

    def compute(self, a: Any, key: Any) -> Any:
        return a[key]

    def operand_gradients(self, dy: Any, a: Any, key: Any) -> list[Any]:
        da = backend.xp.zeros_like(a)
        da[key] = dy
        return [da, None]


def _key_item(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict) and value.get("class_name") == "__slice__":
        config = value["config"]
        return slice(config["start"], config["stop"], config["step"])
    if isinstance(value, dict) and value.get("class_name") == "__ellipsis__":
        return Ellipsis
    return value


def _key_item_config(value: Any) -> Any:
    if isinstance(value, slice):
        return {"class_name": "__slice__",
                "config": {"start": value.start, "stop": value.stop, "step": value.step}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    return value
