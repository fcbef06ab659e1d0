"""The arithmetic of symbolic tensors: ``x + y``, ``x - y``, ``x * y``, ``x / y``, ``-x``,
``x @ y``, as Keras 3's operations of ``keras.src.ops.numpy`` (same class names, same
auto-names: ``add``, ``subtract``, ``multiply``, ``true_divide``, ``negative``, ``matmul``).

Each argument may be a tensor or a constant (a Python number or an array); shapes broadcast
as in NumPy. Broadcasting copies an operand along the stretched axes, so its gradient sums
dL/dy back over them (``sum_to_shape``): with a of shape (1, 4) and y of shape (N, 4),
dL/da = Σ over the N rows of dL/dy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
        A = a[None, :] if a.ndim == 1 else a
        B = b[:, None] if b.ndim == 1 else b
        dY = dy.reshape(dy.shape[:-1] + (1,) + dy.shape[-1:]) if a.ndim == 1 else dy
        dY = dY[..., None] if b.ndim == 1 else dY
        dA = dY @ B.swapaxes(-1, -2)
        dB = A.swapaxes(-1, -2) @ dY
        da = sum_to_shape(dA, A.shape).reshape(a.shape)
        db = sum_to_shape(dB, B.shape).reshape(b.shape)
        return [da, db]
