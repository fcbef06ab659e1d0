"""LSTM: Long Short-Term Memory, Keras 3's fused "implementation 2" layout."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import activations, backend, initializers
from minikeras.layers.rnn_base import RNNBase, matmul_steps, sum_over_steps


class LSTM(RNNBase):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997).

    Weights (Keras' ``get_weights()`` order): kernel W (D, 4u), recurrent_kernel U (u, 4u),
    bias b (4u,). Their columns hold four blocks, in Keras' order **[i | f | c | o]**, so one
    matrix product per step serves all four gates. With s = ``recurrent_activation``
    (sigmoid) and f = ``activation`` (tanh), one step is:

        z_t = x_t W + h_{t-1} U + b            split into z_i, z_f, z_c, z_o
        i = s(z_i),  f_g = s(z_f),  g = f(z_c),  o = s(z_o)
        c_t = f_g * c_{t-1} + i * g
        h_t = o * f(c_t)

    ``unit_forget_bias=True`` starts the forget block of the bias at 1 (remember by default).

    The backward pass (BPTT) is written out in ``backward`` below.
    """

    state_names = ("h", "c")

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

    def _cell_forward(self, xt: Any, states0: list[Any]) -> tuple[Any, list[Any], Any]:
        xp = backend.xp
        T, N, D = xt.shape
        u = self.units
        act, rec = self.activation, self.recurrent_activation
        U = self.recurrent_kernel.value
        Z = matmul_steps(xt, self.kernel.value)   # x_t W for all steps and gates, one call
        A = xp.empty_like(Z)                           # gate values [i | f_g | g | o]
        H = xp.empty((T + 1, N, u), dtype=Z.dtype)     # H[t] = h_t, H[0] = h_0
        C = xp.empty((T + 1, N, u), dtype=Z.dtype)     # C[t] = c_t
        FC = xp.empty((T, N, u), dtype=Z.dtype)        # FC[t-1] = f(c_t)
        H[0], C[0] = states0
        hU = xp.empty((N, 4 * u), dtype=Z.dtype)       # scratch for h_{t-1} U
        ig = xp.empty((N, u), dtype=Z.dtype)           # scratch for i * g
        # (fewer, larger array operations, written into buffers: at these sizes the number
        # of NumPy calls and temporaries sets the speed)
        for t in range(T):
            z, a = Z[t], A[t]
            i, f_g, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
            z += xp.matmul(H[t], U, out=hU)                 # z_t: one matmul, all gates
            if self.use_bias:
                z += self.bias.value    # after h U, in Keras' order: same float32 rounding
            rec.forward(z, out=a)                       # s over all four blocks in one call,
            act.forward(z[:, 2 * u:3 * u], out=g)       # then g = f(z_c) replaces the third
            c = xp.multiply(f_g, C[t], out=C[t + 1])    # c_t = f_g * c_{t-1}
            c += xp.multiply(i, g, out=ig)              #       + i * g
            act.forward(c, out=FC[t])                   # f(c_t)
            xp.multiply(o, FC[t], out=H[t + 1])         # h_t = o * f(c_t)
        return H[1:], [H[T], C[T]], (xt, Z, A, H, C, FC)

    def backward(self, grad_output: Any) -> Any:
        """Backpropagation through time: dL/d(outputs) -> dL/dx, dL/d(initial state),
        and the weight gradients.

        Backward through time, from t = T down to 1 (dh_next, dc_next: what step t+1 sends back;
        at t = T they are the gradients of the returned final states, or zero):

            dh   = g_t + dh_next                    (g_t = dL/dh_t from the output sequence)
            do   = dh * f(c_t)
            dc   = dc_next + dh * o * f'(c_t)       (for tanh: 1 - f(c_t)^2)
            di   = dc * g,   dg = dc * i,   df = dc * c_{t-1}
            dz_t = [di * s'(z_i) | df * s'(z_f) | dg * f'(z_c) | do * s'(z_o)]
            dc_next = dc * f_g                      (at t = 1: dL/dc_0)
            dh_next = dz_t U^T                      (at t = 1: dL/dh_0)

        and after the loop, summed over time and batch (one batched matmul each):

            dL/dW = sum_t x_t^T dz_t,   dL/dU = sum_t h_{t-1}^T dz_t,   dL/db = sum_t,n dz_t,
            dL/dx_t = dz_t W^T

        The derivatives s'(z), f'(z_c) and f'(c_t) depend only on the forward pass: they are
        computed for every step at once before the loop (a few array operations instead of
        a few per step), as the factor D_t = [s'(z_i) | s'(z_f) | f'(z_c) | s'(z_o)], so that
        dz_t = [di | df | dg | do] * D_t is one multiplication per step; likewise o * f'(c_t),
        and [g | c_{t-1} | i], so that [di | df | dg] = dc * [g | c_{t-1} | i] is one too.
        """
        # g_t for every step (None: only the final state got a gradient) and the
        # gradients arriving at the final states, time-major (T, N, u)
        dhs, dfinals, cache = self._unpack_output_grads(grad_output)
        need_dx = self.input_grad_needed   # False for a model's first layer
        xp = backend.xp
        xt, Z, A, H, C, FC = cache
        T, N, _ = xt.shape
        u = self.units
        act, rec = self.activation, self.recurrent_activation
        U_T = xp.ascontiguousarray(self.recurrent_kernel.value.T)   # C order for BLAS
        zeros = xp.zeros((N, u), dtype=Z.dtype)
        dh_next = dfinals[0] if dfinals[0] is not None else zeros
        dc_next = dfinals[1] if dfinals[1] is not None else zeros
        # the factors from the forward pass, every step at once (see above); a softmax
        # activation has a Jacobian, not a factor, and is applied step by step instead
        factors = act.elementwise and rec.elementwise
        dZ = rec.derivative(Z, A) if factors else xp.empty_like(Z)   # D_t: s' on every block,
        if factors:
            dZ[..., 2 * u:3 * u] = act.derivative(Z[..., 2 * u:3 * u],         # f' on g's
                                                  A[..., 2 * u:3 * u])
            o_dfc = A[..., 3 * u:] * act.derivative(C[1:], FC)             # o * f'(c_t)
            # [g | c_{t-1} | i]: what dc multiplies into [di | df | dg], as (T, N, 3, u)
            gci = xp.stack([A[..., 2 * u:3 * u], C[:-1], A[..., :u]], axis=2)
        dA4 = xp.empty((N, 4, u), dtype=Z.dtype)   # dL/d[i | f_g | g | o] of one step,
        dA = dA4.reshape(N, 4 * u)                 # as (N, 4u) (a view: it is contiguous)
        dA3 = dA4[:, :3]                           # and its [di | df | dg] blocks
        for t in reversed(range(T)):
            a, z, dz = A[t], Z[t], dZ[t]
            i, f_g, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
            dh = dh_next if dhs is None else dhs[t] + dh_next
            xp.multiply(dh, FC[t], out=dA[:, 3 * u:])                    # do
            if factors:
                dc = dh * o_dfc[t]                                       # dc
                dc += dc_next
                xp.multiply(dc[:, None, :], gci[t], out=dA3)             # di, df, dg
                dz *= dA                                                 # dz_t = dA * D_t
            else:   # the same lines, each derivative applied by the activation's backward
                dc = dc_next + act.backward(C[t + 1], FC[t], dh * o)
                xp.multiply(dc, g, out=dA[:, :u])
                xp.multiply(dc, C[t], out=dA[:, u:2 * u])
                xp.multiply(dc, i, out=dA[:, 2 * u:3 * u])
                dz[...] = rec.backward(z, a, dA)
                dz[:, 2 * u:3 * u] = act.backward(z[:, 2 * u:3 * u], g, dA[:, 2 * u:3 * u])
            dc_next = dc * f_g
            dh_next = dz @ U_T
        if self.trainable:
            self.kernel.add_grad(sum_over_steps(xt, dZ))                  # sum_t x_t^T dz_t
            self.recurrent_kernel.add_grad(sum_over_steps(H[:-1], dZ))    # sum_t h_{t-1}^T dz_t
            if self.use_bias:
                self.bias.add_grad(dZ.sum(axis=(0, 1)))
        # dx_t = dz_t W^T (a C-contiguous W^T: BLAS is slower on a transposed view)
        dxt = matmul_steps(dZ, xp.ascontiguousarray(self.kernel.value.T)) if need_dx else None
        return self._pack_input_grads(dxt, [dh_next, dc_next])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                **self._config_initializers()}
