"""Dot: the batched dot product of two tensors along one axis of each (a merging layer).

For each sample, with a = axes[0] of x_1 and b = axes[1] of x_2 (both of size K), every pair
of "rest" positions p (of x_1 without axis a) and q (of x_2 without axis b) gets

    y[p, q] = Σ_k u_1[p, k] · u_2[q, k]

where u_i = x_i, or with ``normalize=True`` the L2-normalized x_i along its axis (Keras'
``normalize``: u = x / max(‖x‖, ε), ε = 1e-7), so y is a cosine similarity. The output
shape is (batch, *rest of x_1, *rest of x_2), and (batch, 1) when both rests are empty.

Backward, with the samples' positions as rows (U_1: P×K, U_2: Q×K, dY: P×Q per sample):

    dU_1 = dY · U_2             dU_2 = dYᵀ · U_1

and through the normalization (n = max(‖x‖, ε), s = Σ_k du_k · u_k):

    dx = (du − u · s) / n      where ‖x‖ > ε;    dx = du / n  where the norm is clamped.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, NamedTuple

from minikeras import backend
from minikeras.layers.layer import Layer, Shape

#: the lower bound of the norm in ``normalize=True`` (Keras' backend epsilon, measured 1e-7)
_NORM_EPSILON = 1e-7


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


class DotCache(NamedTuple):
    """What ``Dot.forward`` keeps for ``backward``."""

    u1: Any                      # (N, P, K): x_1's rows, normalized when normalize=True
    u2: Any                      # (N, Q, K): x_2's rows, likewise
    n1: Any                      # (N, P, 1): max(‖x_1 row‖, ε) (None without normalize)
    n2: Any                      # (N, Q, 1)
    unclamped1: Any              # (N, P, 1): ‖x_1 row‖ > ε (None without normalize)
    unclamped2: Any              # (N, Q, 1)
    moved1_shape: tuple          # x_1 with its contracted axis moved last
    moved2_shape: tuple
    axes: tuple[int, int]        # the contracted axis of each input (non-negative)


class Dot(Layer):
    """``y = x_1 · x_2`` per sample, contracted along ``axes``; see the module docstring."""

    def __init__(self, axes: int | tuple[int, int] | list[int], normalize: bool = False,
                 **kwargs: Any) -> None:
        if not _is_int(axes):
            if not isinstance(axes, list | tuple):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an "
                                f"int. Received: axes={axes!r} (layer Dot)")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes!r} (layer Dot)")
            if not all(_is_int(a) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should be "
                                 f"integers. Received: axes={axes!r} (layer Dot)")
        if not isinstance(normalize, bool):
            raise TypeError(f"Dot: `normalize` must be True or False. Received: "
                            f"normalize={normalize!r}")
        super().__init__(**kwargs)
        self.axes = axes if _is_int(axes) else type(axes)(int(a) for a in axes)
        self.normalize = normalize

    # ------------------------------------------------------------------ shapes
    def _pair(self, input_shape: Any) -> tuple[Shape, Shape]:
        if (not isinstance(input_shape, list | tuple) or len(input_shape) != 2
                or not all(isinstance(s, tuple | list) for s in input_shape)):
            raise ValueError(f"A `Dot` layer ({self.name}) should be called on a list of 2 "
                             f"inputs. Received: input_shape={input_shape}")
        return tuple(input_shape[0]), tuple(input_shape[1])

    def _axes_for(self, shape1: Shape, shape2: Shape) -> tuple[int, int]:
        """Keras' rule: an int names the same axis of both inputs; negatives count from the
        end of each input's own rank. The batch axis 0 cannot be contracted."""
        pair = (self.axes, self.axes) if _is_int(self.axes) else tuple(self.axes)
        axes = []
        for axis, shape, which in zip(pair, (shape1, shape2), ("first", "second"), strict=True):
            if not -len(shape) <= axis < len(shape):
                raise ValueError(f"Dot layer '{self.name}': axis {axis} is out of range for the "
                                 f"{which} input of shape {shape}. Received: axes={self.axes}")
            axis %= len(shape)
            if axis == 0:
                raise ValueError(f"Dot layer '{self.name}': cannot perform batch_dot over axis "
                                 f"0 (the batch axis) of the {which} input. Received: "
                                 f"axes={self.axes}")
            axes.append(axis)
        a1, a2 = axes
        if shape1[0] is not None and shape2[0] is not None and shape1[0] != shape2[0]:
            raise ValueError(f"Dot layer '{self.name}': both inputs need the same batch size. "
                             f"Received shapes {shape1} and {shape2}.")
        if shape1[a1] is not None and shape2[a2] is not None and shape1[a1] != shape2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {shape1[a1]} (at axis "
                             f"{a1}) != {shape2[a2]} (at axis {a2}). Full input shapes: "
                             f"{shape1}, {shape2} (layer {self.name})")
        return a1, a2

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shape1, shape2 = self._pair(input_shape)
        a1, a2 = self._axes_for(shape1, shape2)
        rest1 = [d for i, d in enumerate(shape1) if i != a1]
        rest2 = [d for i, d in enumerate(shape2) if i not in (0, a2)]
        out = (*rest1, *rest2)
        return out if len(out) > 1 else (*out, 1)

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)

    def check_input_shape(self, shape: Any, index: int = 0) -> None:
        # the pair is checked as a whole (a graph also calls this once per input's shape;
        # a lone tensor is refused by ``build``/``compute_output_shape``)
        if isinstance(shape, list):
            self.compute_output_shape(shape)

    # ------------------------------------------------------------------ forward / backward
    def _l2_normalize(self, x: Any) -> tuple[Any, Any, Any]:
        """u = x / n with n = max(‖x‖, ε) along the last axis; also n and ‖x‖ > ε."""
        norm = backend.xp.sqrt((x * x).sum(axis=-1, keepdims=True))
        unclamped = norm > _NORM_EPSILON
        n = backend.xp.maximum(norm, x.dtype.type(_NORM_EPSILON))
        u = x / n
        return u, n, unclamped

    def forward(self, inputs: Any, training: bool = False) -> Any:
        shapes = ([tuple(x.shape) for x in inputs] if isinstance(inputs, list | tuple)
                  else tuple(inputs.shape))
        shape1, shape2 = self._pair(shapes)
        a1, a2 = self._axes_for(shape1, shape2)
        x1, x2 = inputs
        xp = backend.xp
        batch = x1.shape[0]
        moved1 = xp.moveaxis(x1, a1, -1)                    # (N, *rest_1, K)
        moved2 = xp.moveaxis(x2, a2, -1)                    # (N, *rest_2, K)
        x1_rows = moved1.reshape(batch, -1, moved1.shape[-1])   # (N, P, K)
        x2_rows = moved2.reshape(batch, -1, moved2.shape[-1])   # (N, Q, K)
        if self.normalize:
            u1, n1, unclamped1 = self._l2_normalize(x1_rows)
            u2, n2, unclamped2 = self._l2_normalize(x2_rows)
        else:
            u1, n1, unclamped1 = x1_rows, None, None
            u2, n2, unclamped2 = x2_rows, None, None
        y_rows = u1 @ u2.transpose(0, 2, 1)                 # (N, P, Q): Σ_k u_1[p,k]·u_2[q,k]
        self.cache = DotCache(u1, u2, n1, n2, unclamped1, unclamped2, moved1.shape, moved2.shape,
                              (a1, a2))
        return y_rows.reshape(self.compute_output_shape([shape1, shape2]))

    def _normalize_backward(self, du: Any, u: Any, n: Any, unclamped: Any) -> Any:
        """dx = (du − u·Σ_k du_k u_k) / n where ‖x‖ > ε; du / n where the norm is clamped."""
        s = (du * u).sum(axis=-1, keepdims=True)
        s_unclamped = s * unclamped
        dx = (du - u * s_unclamped) / n
        return dx

    def backward(self, grad_output: Any) -> list[Any]:
        """Per sample dU_1 = dY·U_2 and dU_2 = dYᵀ·U_1 (then through the normalization when
        ``normalize=True``); each is moved back to its input's layout."""
        u1, u2, n1, n2, unclamped1, unclamped2, moved1_shape, moved2_shape, (a1, a2) = self.cache
        xp = backend.xp
        dy_rows = grad_output.reshape(u1.shape[0], u1.shape[1], u2.shape[1])   # (N, P, Q)
        du1 = dy_rows @ u2                                  # (N, P, K)
        du2 = dy_rows.transpose(0, 2, 1) @ u1               # (N, Q, K)
        if self.normalize:
            dx1_rows = self._normalize_backward(du1, u1, n1, unclamped1)
            dx2_rows = self._normalize_backward(du2, u2, n2, unclamped2)
        else:
            dx1_rows, dx2_rows = du1, du2
        dx1 = xp.moveaxis(dx1_rows.reshape(moved1_shape), -1, a1)
        dx2 = xp.moveaxis(dx2_rows.reshape(moved2_shape), -1, a2)
        return [dx1, dx2]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs: list[Any], axes: int | tuple[int, int] = -1, normalize: bool = False,
        **kwargs: Any) -> Any:
    """Functional shortcut: ``dot([a, b], axes)`` is ``Dot(axes)([a, b])``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
