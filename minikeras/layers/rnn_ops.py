"""The products a recurrent cell is made of, each in one function the cells always call.

A gated cell (LSTM: 4 gates, GRU: 3) multiplies its input a (x_t or h_{t-1}) by a weight W
whose columns hold one block W_k per gate, side by side: W = [W_1 | ... | W_K]. With dropout,
Keras 3 multiplies a by a mask m_k first, one mask per gate (or one mask shared by all gates),
so the product for gate k is (a * m_k) W_k. Every function here takes ``masks`` as:

* ``None``: no dropout (inference, or rate 0): the plain product a W;
* an array (1, N, d): one mask shared by all gates: (a * m) W;
* an array (K, N, d): one mask per gate: [(a * m_1) W_1 | ... | (a * m_K) W_K].

All three are the last expression (a shared mask is m_1 = ... = m_K, no mask is m_k = 1);
the first two are computed as one matrix product because that is faster.
``tests/test_rnn_dropout.py`` checks each function against that plain per-gate expression.

Shapes: a is (N, d) for one step or (T, N, d) for all steps at once (time-major); the masks
broadcast over T because Keras draws them once per batch and keeps them for every step.
"""

from __future__ import annotations

from typing import Any

from minikeras import backend


def matmul_steps(a: Any, w: Any) -> Any:
    """a_t @ w for every step t at once: (T, N, K) @ (K, M) -> (T, N, M) (or one step,
    (N, K) @ (K, M)). It is ``backend.matmul``, which multiplies instead when K == 1 (one
    input feature). Given a 3-D a, NumPy runs one small BLAS product per step, each on one
    thread; that is kept on purpose (one (T*N, K) product would be split over all cores,
    and on a busy machine such threads stall waiting for each other: milliseconds instead
    of 0.1 ms).
    """
    return backend.matmul(a, w)   # K == 1 (one input feature): a broadcast multiply


def sum_over_steps(a: Any, b: Any) -> Any:
    """sum_t a_t^T b_t: (T, N, K), (T, N, M) -> (K, M), a weight gradient summed over time
    (and batch). One batched product, then the sum over t."""
    return (backend.xp.swapaxes(a, 1, 2) @ b).sum(axis=0)


def gate_views(a: Any, n_gates: int) -> tuple[Any, ...]:
    """The blocks of a = [a_1 | ... | a_K] along its last axis, one per gate, as views (no
    copy): LSTM's z_t = [z_i | z_f | z_c | z_o] gives (z_i, z_f, z_c, z_o)."""
    width = a.shape[-1] // n_gates
    return tuple(a[..., k * width:(k + 1) * width] for k in range(n_gates))


def _blocks(n_cols: int, masks: Any) -> list[slice]:
    """The column block of each gate: K equal blocks of n_cols // K columns."""
    k = masks.shape[0]
    width = n_cols // k
    return [slice(j * width, (j + 1) * width) for j in range(k)]


def gate_products(a: Any, masks: Any, w: Any) -> Any:
    """[(a * m_1) W_1 | ... | (a * m_K) W_K]: the input a of every gate times its weights.

    Plain expression (what this computes for every form of ``masks``, see the module
    docstring): ``concatenate([(a * m_k) @ W_k for k], axis=-1)``.
    """
    if masks is None:
        return matmul_steps(a, w)
    if masks.shape[0] == 1:
        return matmul_steps(a * masks[0], w)
    out = backend.xp.empty(a.shape[:-1] + (w.shape[1],), dtype=w.dtype)
    for k, cols in enumerate(_blocks(w.shape[1], masks)):
        out[..., cols] = matmul_steps(a * masks[k], w[:, cols])
    return out


def gate_products_input_grad(dz: Any, masks: Any, w_t: Any) -> Any:
    """dL/da of ``gate_products``: sum_k m_k * (dz_k W_k^T), from dz = [dz_1 | ... | dz_K].

    ``w_t`` is W^T, (K*u, d), given C-contiguous (BLAS is slower on a transposed view).
    Plain expression: ``sum(masks[k] * (dz[..., block k] @ W_k.T) for k)``.
    """
    if masks is None:
        return matmul_steps(dz, w_t)
    if masks.shape[0] == 1:
        return matmul_steps(dz, w_t) * masks[0]
    blocks = _blocks(w_t.shape[0], masks)
    da = matmul_steps(dz[..., blocks[0]], w_t[blocks[0]]) * masks[0]
    for k in range(1, len(blocks)):
        da += matmul_steps(dz[..., blocks[k]], w_t[blocks[k]]) * masks[k]
    return da


def gate_products_weight_grad(a: Any, masks: Any, dz: Any) -> Any:
    """dL/dW of ``gate_products`` summed over steps and batch, for a and dz of all steps
    (T, N, .): [sum_t (a_t * m_1)^T dz_1,t | ... | sum_t (a_t * m_K)^T dz_K,t].

    Plain expression: ``concatenate([sum_over_steps(a * m_k, dz[..., block k]) for k], -1)``.
    """
    if masks is None:
        return sum_over_steps(a, dz)
    if masks.shape[0] == 1:
        return sum_over_steps(a * masks[0], dz)
    dw = backend.xp.empty((a.shape[-1], dz.shape[-1]), dtype=dz.dtype)
    for k, cols in enumerate(_blocks(dz.shape[-1], masks)):
        dw[:, cols] = sum_over_steps(a * masks[k], dz[..., cols])
    return dw


class ActivationBackward:
    """dL/dx_t from dL/dy_t for y = act(x), at step t of a sequence: the activation's
    vector-Jacobian product, which BPTT needs once per gate and step.

    Plain expression: ``act.backward(x[t], y[t], dy)`` (for an element-wise act that is
    f'(x_t) * dy; softmax has a full Jacobian). For an element-wise act the factor f'(x) is
    computed for every step at once when this is built (it depends only on the forward pass),
    so each step is one multiplication; softmax takes the plain expression. ``x`` and ``y``
    are (T, N, u) arrays (or views) of the forward pass.
    """

    def __init__(self, act: Any, x: Any, y: Any) -> None:
        self.act, self.x, self.y = act, x, y
        #: f'(x) for every step, or None where act has no such factor (softmax)
        self.factor = act.derivative(x, y) if act.elementwise else None

    def __call__(self, t: int, dy: Any, out: Any = None) -> Any:
        """dL/dx_t, written into ``out`` (an (N, u) buffer or view) when given."""
        factor = self.factor
        if factor is not None:
            return backend.xp.multiply(factor[t], dy, out=out)
        dx = self.act.backward(self.x[t], self.y[t], dy)
        if out is None:
            return dx
        out[...] = dx
        return out
