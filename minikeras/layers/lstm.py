"""LSTM: Long Short-Term Memory, Keras 3's fused "implementation 2" layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from minikeras import activations, backend, initializers
from minikeras.layers.rnn_base import RNNBase
from minikeras.layers.rnn_ops import (
    ActivationBackward,
    gate_products,
    gate_products_input_grad,
    gate_products_weight_grad,
    gate_views,
)


@dataclass
class LSTMCache:
    """What ``LSTM.forward`` keeps for ``backward`` (T steps, batch N, D features, u units;
    time-major, in processing order: already reversed for ``go_backwards``).

    x: (T, N, D) the inputs x_t.
    z: (T, N, 4u) the pre-activations z_t = [z_i | z_f | z_c | z_o] (Keras' gate order).
    i, f, g, o: (T, N, u) each, the gates i_t, f_t, o_t and the candidate g_t.
    c: (T + 1, N, u) the cell states: c[0] = c_0, c[t] = c_t.
    phi_c: (T, N, u) phi(c_t) (tanh(c_t) by default), phi_c[t - 1] for c_t.
    h: (T + 1, N, u) the states: h[0] = h_0, h[t] = h_t.
    x_mask: None, or (1 or 4, N, D): the dropout mask(s) of the inputs (training only).
    h_mask: None, or (4, N, u): the recurrent dropout masks of h_{t-1}, one per gate.
    """

    x: Any
    z: Any
    i: Any
    f: Any
    g: Any
    o: Any
    c: Any
    phi_c: Any
    h: Any
    x_mask: Any
    h_mask: Any




class LSTM(RNNBase):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997).

    Weights (Keras' ``get_weights()`` order): kernel W (D, 4u), recurrent_kernel U (u, 4u),
    bias b (4u,). Their columns hold four blocks, in Keras' order **[i | f | c | o]**, so one
    matrix product per step serves all four gates. With sigma = ``recurrent_activation``
    (sigmoid) and phi = ``activation`` (tanh), one step is:

        z_t = x_t W + h_{t-1} U + b            split into z_i, z_f, z_c, z_o
        i_t = sigma(z_i),  f_t = sigma(z_f),  g_t = phi(z_c),  o_t = sigma(z_o)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * phi(c_t)

    ``unit_forget_bias=True`` starts the forget block of the bias at 1 (remember by default).
    With ``dropout`` in training the inputs are x_t * m_x; with ``recurrent_dropout`` each
    gate k gets its own masks (as Keras 3 does): z_t's block k is
    (x_t * m_x,k) W_k + (h_{t-1} * m_h,k) U_k + b_k.

    The backward pass (BPTT) is written out in ``backward`` below; the cache it reads is
    ``LSTMCache``.
    """

    state_names = ("h", "c")
    gate_count = 4
    cached_per_step_unit = 15   # z, xW (4u each), i, f, g, o (u each), c, phi(c), h

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, **kwargs: Any) -> None:
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer

    def build_cell(self, input_dim: int) -> None:
        u = self.units
        self.kernel = self.add_weight("kernel", (input_dim, 4 * u), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, 4 * u),
                                                self.recurrent_initializer)
        self.bias = None
        if self.use_bias:
            init: Any = self.bias_initializer
            if self.unit_forget_bias:
                base = initializers.get(self.bias_initializer)

                def init(shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
                    # [b_i | 1 | b_c, b_o]: the forget gate starts open
                    return np.concatenate([base((u,), dtype), np.ones((u,), dtype),
                                           base((2 * u,), dtype)])
            self.bias = self.add_weight("bias", (4 * u,), init)

    def _cell_forward(self, x: Any, states0: list[Any], x_mask: Any,
                      h_mask: Any) -> tuple[Any, list[Any], LSTMCache]:
        xp = backend.xp
        T, N, _ = x.shape
        u = self.units
        act, rec = self.activation, self.recurrent_activation
        W, U = self.kernel.value, self.recurrent_kernel.value
        xw = gate_products(x, x_mask, W)    # x_t W for every step and gate, before the loop
        z = xp.empty_like(xw)                                   # z[t] = z_t
        i, f, g, o = (xp.empty((T, N, u), dtype=xw.dtype) for _ in range(4))
        c = xp.empty((T + 1, N, u), dtype=xw.dtype)             # c[0] = c_0, c[t] = c_t
        h = xp.empty((T + 1, N, u), dtype=xw.dtype)             # h[0] = h_0, h[t] = h_t
        phi_c = xp.empty((T, N, u), dtype=xw.dtype)             # phi_c[t-1] = phi(c_t)
        h[0], c[0] = states0
        z_i, z_f, z_c, z_o = gate_views(z, 4)  # views of z
        b = self.bias.value if self.use_bias else None
        # index t holds step t + 1 of the equations: h[t] and c[t] are the states it reads
        for t in range(T):
            h_prev, c_prev, h_t, c_t = h[t], c[t], h[t + 1], c[t + 1]  # h_{t-1}, c_{t-1}, ...
            z_t, i_t, f_t, g_t, o_t, phi_c_t = z[t], i[t], f[t], g[t], o[t], phi_c[t]
            xp.add(xw[t], gate_products(h_prev, h_mask, U), out=z_t)  # z_t = x_t W + h_{t-1} U
            if b is not None:
                z_t += b                         # + b, after h U as Keras adds it
            rec.forward(z_i[t], out=i_t)                           # i_t = sigma(z_i)
            rec.forward(z_f[t], out=f_t)                           # f_t = sigma(z_f)
            act.forward(z_c[t], out=g_t)                           # g_t = phi(z_c)
            rec.forward(z_o[t], out=o_t)                           # o_t = sigma(z_o)
            xp.add(f_t * c_prev, i_t * g_t, out=c_t)               # c_t = f_t c_{t-1} + i_t g_t
            act.forward(c_t, out=phi_c_t)                          # phi(c_t)
            xp.multiply(o_t, phi_c_t, out=h_t)                     # h_t = o_t * phi(c_t)
        return h[1:], [h[T], c[T]], LSTMCache(x, z, i, f, g, o, c, phi_c, h, x_mask, h_mask)

    def backward(self, grad_output: Any) -> Any:
        """Backpropagation through time: dL/d(outputs) -> dL/dx, dL/d(initial state),
        and the weight gradients.

        Backward through time, from t = T down to 1 (dh_next, dc_next: what step t+1 sends
        back; at t = T, what reaches the final states: return_state's gradients, plus the
        output's when the output is h_T; dy_t is dL/dh_t from the output sequence, else 0):

            dh   = dy_t + dh_next
            do   = dh * phi(c_t)
            dc   = dc_next + phi'(c_t) * (dh * o_t)     (for tanh: phi' = 1 - phi(c_t)^2)
            di   = dc * g_t
            df   = dc * c_{t-1}
            dg   = dc * i_t
            dz_t = [sigma'(z_i) di | sigma'(z_f) df | phi'(z_c) dg | sigma'(z_o) do]
            dc_next = dc * f_t                          (at t = 1: dL/dc_0)
            dh_next = dz_t U^T                          (at t = 1: dL/dh_0)

        and after the loop, summed over time and batch (one batched matmul each):

            dL/dW = sum_t x_t^T dz_t,   dL/dU = sum_t h_{t-1}^T dz_t,   dL/db = sum_t,n dz_t,
            dL/dx_t = dz_t W^T

        The derivative factors (sigma'(z_i), ..., phi'(c_t)) depend only on the forward pass,
        so each is computed for every step at once, before the loop: ``dsigma_i`` is an
        ``ActivationBackward``, ``dsigma_i(t, di)`` is sigma'(z_i) * di at step t, and
        ``dsigma_i.factor`` holds sigma'(z_i) for every step (None for softmax, whose
        Jacobian is not diagonal). With dropout, the products with W, U and their gradients
        go through the masks (``rnn_ops``: dh_next = sum_k (dz_k,t U_k^T) * m_h,k).
        """
        xp = backend.xp
        dY, (dh_next, dc_next), cache = self._unpack_output_grads(grad_output)  # dY[t] = dy_t
        act, rec = self.activation, self.recurrent_activation
        W_T = backend.transposed(self.kernel.value)                       # W^T
        U_T = backend.transposed(self.recurrent_kernel.value)             # U^T
        z, i, f, g, o, c, phi_c = cache.z, cache.i, cache.f, cache.g, cache.o, cache.c, cache.phi_c
        dz = xp.empty_like(z)                    # dz[t] = dz_t = [dz_i | dz_f | dz_c | dz_o]
        z_i, z_f, z_c, z_o = gate_views(z, 4)       # views of z
        dz_i, dz_f, dz_c, dz_o = gate_views(dz, 4)  # and of dz
        # the derivative factors, for every step at once (see the docstring)
        dphi_c = ActivationBackward(act, c[1:], phi_c)                 # phi'(c_t)
        dsigma_i = ActivationBackward(rec, z_i, i)                     # sigma'(z_i)
        dsigma_f = ActivationBackward(rec, z_f, f)                     # sigma'(z_f)
        dphi_g = ActivationBackward(act, z_c, g)                       # phi'(z_c)
        dsigma_o = ActivationBackward(rec, z_o, o)                     # sigma'(z_o)
        for t in reversed(range(len(z))):   # index t: step t + 1 of the equations
            c_prev, i_t, f_t, g_t, o_t, phi_c_t = c[t], i[t], f[t], g[t], o[t], phi_c[t]
            dh = dY[t] + dh_next                                       # dh
            do = dh * phi_c_t                                          # do
            dc = dc_next + dphi_c(t, dh * o_t)                         # dc
            di = dc * g_t                                              # di
            df = dc * c_prev                                           # df
            dg = dc * i_t                                              # dg
            dsigma_i(t, di, out=dz_i[t])                        # dz_i = sigma'(z_i) di
            dsigma_f(t, df, out=dz_f[t])                        # dz_f = sigma'(z_f) df
            dphi_g(t, dg, out=dz_c[t])                          # dz_c = phi'(z_c) dg
            dsigma_o(t, do, out=dz_o[t])                        # dz_o = sigma'(z_o) do
            dc_next = dc * f_t                                         # dc_next
            dh_next = gate_products_input_grad(dz[t], cache.h_mask, U_T)   # dz_t U^T
        if self.trainable:
            self.kernel.add_grad(gate_products_weight_grad(cache.x, cache.x_mask, dz))
            self.recurrent_kernel.add_grad(
                gate_products_weight_grad(cache.h[:-1], cache.h_mask, dz))
            if self.use_bias:
                self.bias.add_grad(dz.sum(axis=(0, 1)))
        dx = gate_products_input_grad(dz, cache.x_mask, W_T) if self.input_grad_needed else None
        return self._pack_input_grads(dx, [dh_next, dc_next])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                **self._config_initializers()}
