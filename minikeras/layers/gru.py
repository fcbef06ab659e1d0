"""GRU: Gated Recurrent Unit, Keras 3's default ``reset_after=True`` variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minikeras import activations, backend
from minikeras.layers.rnn_base import RNNBase
from minikeras.layers.rnn_ops import (
    ActivationBackward,
    gate_products,
    gate_products_input_grad,
    gate_products_weight_grad,
    gate_views,
)


@dataclass
class GRUCache:
    """What ``GRU.forward`` keeps for ``backward`` (T steps, batch N, D features, u units;
    time-major, in processing order: already reversed for ``go_backwards``).

    x: (T, N, D) the inputs x_t.
    m: (T, N, 3u) m_t = h_{t-1} U + b_h = [m_z | m_r | m_h].
    p: (T, N, 3u) the pre-activations [p_z | p_r | p_h] of z_t, r_t and hh_t.
    z, r, hh: (T, N, u) each: the update gate, the reset gate, the candidate.
    h: (T + 1, N, u) the states: h[0] = h_0, h[t] = h_t.
    x_mask: None, or (1 or 3, N, D): the dropout mask(s) of the inputs (training only).
    h_mask: None, or (3, N, u): the recurrent dropout masks of h_{t-1}, one per gate.
    """

    x: Any
    m: Any
    p: Any
    z: Any
    r: Any
    hh: Any
    h: Any
    x_mask: Any
    h_mask: Any




class GRU(RNNBase):
    """Gated Recurrent Unit (Cho et al., 2014), with the reset gate applied after the matmul.

    Weights (Keras' ``get_weights()`` order): kernel W (D, 3u), recurrent_kernel U (u, 3u),
    bias (2, 3u): row 0 is the input bias b_x, row 1 the recurrent bias b_h. Column blocks are
    **[z | r | h]** (update gate, reset gate, candidate). With sigma = ``recurrent_activation``
    (sigmoid) and phi = ``activation`` (tanh):

        xw_t = x_t W + b_x         = [xw_z | xw_r | xw_h]
        m_t  = h_{t-1} U + b_h     = [m_z | m_r | m_h]
        p_z = xw_z + m_z,   p_r = xw_r + m_r,   p_h = xw_h + r_t * m_h
        z_t = sigma(p_z),   r_t = sigma(p_r),   hh_t = phi(p_h)
        h_t = z_t * h_{t-1} + (1 - z_t) * hh_t

    With ``dropout`` in training the inputs are x_t * x_mask; with ``recurrent_dropout`` each
    gate k gets its own masks (as Keras 3 does): block k of xw_t is (x_t * x_mask_k) W_k + b_x,k
    and of m_t (h_{t-1} * h_mask_k) U_k + b_h,k (``rnn_ops.gate_products``).

    The backward pass (BPTT) is written out in ``backward`` below; the cache it reads is
    ``GRUCache``.
    """

    gate_count = 3
    cached_per_step_unit = 13   # m, p, xW (3u each), z, r, hh, h (u each)

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        if not reset_after:
            raise NotImplementedError("GRU: only Keras 3's default `reset_after=True` is "
                                      "supported by minikeras.")
        self.reset_after = True
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer

    def build_cell(self, input_dim: int) -> None:
        u = self.units
        self.kernel = self.add_weight("kernel", (input_dim, 3 * u), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, 3 * u),
                                                self.recurrent_initializer)
        self.bias = (self.add_weight("bias", (2, 3 * u), self.bias_initializer)
                     if self.use_bias else None)

    def _cell_forward(self, x: Any, states0: list[Any], x_mask: Any,
                      h_mask: Any) -> tuple[Any, list[Any], GRUCache]:
        xp = backend.xp
        T, N, _ = x.shape
        u = self.units
        act, rec = self.activation, self.recurrent_activation
        W, U = self.kernel.value, self.recurrent_kernel.value
        b_x, b_h = self.bias.value if self.use_bias else (None, None)   # bias rows 0 and 1
        xw = gate_products(x, x_mask, W)        # x_t W for every step, before the loop
        if b_x is not None:
            xw += b_x                           # xw_t = x_t W + b_x
        m = xp.empty_like(xw)                   # m[t] = m_t
        p = xp.empty_like(xw)                   # p[t] = [p_z | p_r | p_h]
        z, r, hh = (xp.empty((T, N, u), dtype=xw.dtype) for _ in range(3))
        h = xp.empty((T + 1, N, u), dtype=xw.dtype)             # h[0] = h_0, h[t] = h_t
        h[0] = states0[0]
        xw_z, xw_r, xw_h = gate_views(xw, 3)   # views of xw,
        m_z, m_r, m_h = gate_views(m, 3)       # of m
        p_z, p_r, p_h = gate_views(p, 3)       # and of p
        # index t holds step t + 1 of the equations: h[t] is the state it reads
        for t in range(T):
            h_prev, h_t, m_t = h[t], h[t + 1], m[t]                # h_{t-1}, h_t, m_t
            z_t, r_t, hh_t = z[t], r[t], hh[t]
            m_t[...] = gate_products(h_prev, h_mask, U)            # h_{t-1} U
            if b_h is not None:
                m_t += b_h                                         # m_t = h_{t-1} U + b_h
            xp.add(xw_z[t], m_z[t], out=p_z[t])                    # p_z = xw_z + m_z
            xp.add(xw_r[t], m_r[t], out=p_r[t])                    # p_r = xw_r + m_r
            rec.forward(p_z[t], out=z_t)                           # z_t = sigma(p_z)
            rec.forward(p_r[t], out=r_t)                           # r_t = sigma(p_r)
            xp.add(xw_h[t], r_t * m_h[t], out=p_h[t])              # p_h = xw_h + r_t * m_h
            act.forward(p_h[t], out=hh_t)                          # hh_t = phi(p_h)
            xp.add(z_t * h_prev, (1 - z_t) * hh_t, out=h_t)        # h_t
        return h[1:], [h[T]], GRUCache(x, m, p, z, r, hh, h, x_mask, h_mask)

    def backward(self, grad_output: Any) -> Any:
        """Backpropagation through time: dL/d(outputs) -> dL/dx, dL/d(initial state),
        and the weight gradients.

        Backward, from t = T down to 1 (dh_next: what step t+1 sends back, at t = T what
        reaches the final state h_T; dy_t: dL/dh_t from the output sequence, else 0):

            dh   = dy_t + dh_next
            dz   = dh * (h_{t-1} - hh_t)
            dhh  = dh * (1 - z_t)
            dp_h = phi'(p_h) * dhh
            dr   = dp_h * m_h
            dp_z = sigma'(p_z) * dz
            dp_r = sigma'(p_r) * dr
            dxw_t = dp_t = [dp_z | dp_r | dp_h]            (dL/d(x_t W + b_x))
            dm_t = [dm_z | dm_r | dm_h] = [dp_z | dp_r | dp_h * r_t]   (dL/d(h_{t-1} U + b_h))
            dh_next = dh * z_t + dm_t U^T                  (at t = 1: dL/dh_0)

        after the loop, summed over time and batch (one batched matmul each):

            dL/dW = sum_t x_t^T dp_t,   dL/dU = sum_t h_{t-1}^T dm_t,
            dL/db_x = sum_t,n dp_t,     dL/db_h = sum_t,n dm_t,     dL/dx_t = dp_t W^T

        The derivative factors (sigma'(p_z), sigma'(p_r), phi'(p_h)) depend only on the forward
        pass, so each is computed for every step at once, before the loop: ``dsigma_z`` is an
        ``ActivationBackward``, ``dsigma_z(t, dz)`` is sigma'(p_z) * dz at step t, and
        ``dsigma_z.factor`` holds sigma'(p_z) for every step (None for softmax, whose Jacobian
        is not diagonal). With dropout the products with W and U go through the masks
        (``rnn_ops``).
        """
        xp = backend.xp
        dY, (dh_next,), cache = self._unpack_output_grads(grad_output)   # dY[t] = dy_t
        u = self.units
        W_T = backend.transposed(self.kernel.value)             # W^T, C order for BLAS
        U_T = backend.transposed(self.recurrent_kernel.value)   # U^T
        m, p, z, r, hh, h = cache.m, cache.p, cache.z, cache.r, cache.hh, cache.h
        dp = xp.empty_like(p)                   # dp[t] = dp_t = [dp_z | dp_r | dp_h]
        dm = xp.empty_like(m)                   # dm[t] = dm_t = [dm_z | dm_r | dm_h]
        m_h = m[..., 2 * u:]                                                 # view of m,
        p_z, p_r, p_h = gate_views(p, 3)       # of p,
        dp_z, dp_r, dp_h = gate_views(dp, 3)   # of dp
        dm_z, dm_r, dm_h = gate_views(dm, 3)   # and of dm
        # the derivative factors, for every step at once (see the docstring)
        dsigma_z = ActivationBackward(self.recurrent_activation, p_z, z)    # sigma'(p_z)
        dsigma_r = ActivationBackward(self.recurrent_activation, p_r, r)    # sigma'(p_r)
        dphi_h = ActivationBackward(self.activation, p_h, hh)               # phi'(p_h)
        for t in reversed(range(len(p))):   # index t: step t + 1 of the equations
            h_prev, z_t, r_t, hh_t, dy_t = h[t], z[t], r[t], hh[t], dY[t]
            dh = dy_t + dh_next                                        # dh
            dz = dh * (h_prev - hh_t)                                  # dz
            dhh = dh * (1 - z_t)                                       # dhh
            dphi_h(t, dhh, out=dp_h[t])                                # dp_h = phi'(p_h) dhh
            dr = dp_h[t] * m_h[t]                                      # dr = dp_h * m_h
            dsigma_z(t, dz, out=dp_z[t])                               # dp_z = sigma'(p_z) dz
            dsigma_r(t, dr, out=dp_r[t])                               # dp_r = sigma'(p_r) dr
            dm_z[t] = dp_z[t]                                          # dm_z = dp_z
            dm_r[t] = dp_r[t]                                          # dm_r = dp_r
            xp.multiply(dp_h[t], r_t, out=dm_h[t])                     # dm_h = dp_h * r_t
            dh_next = dh * z_t + gate_products_input_grad(dm[t], cache.h_mask, U_T)  # dh_next
        if self.trainable:
            self.kernel.add_grad(gate_products_weight_grad(cache.x, cache.x_mask, dp))
            self.recurrent_kernel.add_grad(gate_products_weight_grad(h[:-1], cache.h_mask, dm))
            if self.use_bias:
                db_x, db_h = dp.sum(axis=(0, 1)), dm.sum(axis=(0, 1))   # dL/db_x, dL/db_h
                self.bias.add_grad(xp.stack([db_x, db_h]))               # bias rows [b_x; b_h]
        dx = gate_products_input_grad(dp, cache.x_mask, W_T) if self.input_grad_needed else None
        return self._pack_input_grads(dx, [dh_next])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "reset_after": True, **self._config_initializers()}
