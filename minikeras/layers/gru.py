"""GRU: Gated Recurrent Unit, Keras 3's default ``reset_after=True`` variant."""

from __future__ import annotations

from typing import Any

from minikeras import activations, backend
from minikeras.layers.rnn_base import RNNBase, matmul_steps, sum_over_steps


class GRU(RNNBase):
    """Gated Recurrent Unit (Cho et al., 2014), with the reset gate applied after the matmul.

    Weights (Keras' ``get_weights()`` order): kernel W (D, 3u), recurrent_kernel U (u, 3u),
    bias (2, 3u): row 0 is the input bias b_x, row 1 the recurrent bias b_h. Column blocks are
    **[z | r | h]** (update gate, reset gate, candidate). With s = ``recurrent_activation``
    (sigmoid) and f = ``activation`` (tanh):

        x_z, x_r, x_h = split(x_t W + b_x)
        m_z, m_r, m_h = split(h_{t-1} U + b_h)
        z  = s(x_z + m_z),   r = s(x_r + m_r)
        hh = f(x_h + r * m_h)
        h_t = z * h_{t-1} + (1 - z) * hh

    The backward pass (BPTT) is written out in ``backward`` below.
    """

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

    def _cell_forward(self, xt: Any, states0: list[Any]) -> tuple[Any, list[Any], Any]:
        xp = backend.xp
        T, N, D = xt.shape
        u = self.units
        act, rec = self.activation, self.recurrent_activation
        U = self.recurrent_kernel.value
        X = matmul_steps(xt, self.kernel.value)   # x_t W for every step, one call
        if self.use_bias:
            X += self.bias.value[0]
        M = xp.empty_like(X)                  # M[t] = h_{t-1} U + b_h
        P = xp.empty_like(X)                  # pre-activations [z | r | h]
        A = xp.empty_like(X)                  # activations     [z | r | hh]
        H = xp.empty((T + 1, N, u), dtype=X.dtype)
        H[0] = states0[0]
        for t in range(T):
            m, p, a = M[t], P[t], A[t]
            m[...] = H[t] @ U
            if self.use_bias:
                m += self.bias.value[1]
            p[:, :2 * u] = X[t][:, :2 * u] + m[:, :2 * u]
            a[:, :2 * u] = rec.forward(p[:, :2 * u])                  # z, r
            p[:, 2 * u:] = X[t][:, 2 * u:] + a[:, u:2 * u] * m[:, 2 * u:]
            a[:, 2 * u:] = act.forward(p[:, 2 * u:])                  # hh
            z = a[:, :u]
            H[t + 1] = z * H[t] + (1 - z) * a[:, 2 * u:]
        return H[1:], [H[T]], (xt, M, P, A, H)

    def backward(self, grad_output: Any) -> Any:
        """Backpropagation through time: dL/d(outputs) -> dL/dx, dL/d(initial state),
        and the weight gradients.

        Backward, from t = T down to 1 (dh_next: what step t+1 sends back):

            dh   = g_t + dh_next
            dz   = dh * (h_{t-1} - hh)             -> da_z = s'(.) * dz
            dhh  = dh * (1 - z)                    -> da_h = f'(.) * dhh
            dr   = da_h * m_h                      -> da_r = s'(.) * dr
            dx-side pre-activations   dq_t = [da_z | da_r | da_h]
            dh-side (after U)         dm_t = [da_z | da_r | da_h * r]
            dh_next = dh * z + dm_t U^T

        after the loop: dL/dW = sum_t x_t^T dq_t, dL/dU = sum_t h_{t-1}^T dm_t,
        dL/db_x = sum dq_t, dL/db_h = sum dm_t, dL/dx_t = dq_t W^T.
        """
        # g_t for every step (None: only the final state got a gradient) and the
        # gradients arriving at the final states, time-major (T, N, u)
        dhs, dfinals, cache = self._unpack_output_grads(grad_output)
        need_dx = self.input_grad_needed   # False for a model's first layer
        xp = backend.xp
        xt, M, P, A, H = cache
        T, N, D = xt.shape
        u = self.units
        act, rec = self.activation, self.recurrent_activation
        U_T = xp.ascontiguousarray(self.recurrent_kernel.value.T)   # C order for BLAS
        dQ = xp.empty_like(P)                 # dL/d(x_t W + b_x)
        dM = xp.empty_like(P)                 # dL/d(h_{t-1} U + b_h)
        dA = xp.empty((N, 2 * u), dtype=P.dtype)  # dL/d[z | r]
        dh_next = dfinals[0] if dfinals[0] is not None else xp.zeros((N, u), dtype=P.dtype)
        for t in reversed(range(T)):
            a, p, m, dq, dm = A[t], P[t], M[t], dQ[t], dM[t]
            z, r, hh = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
            dh = dh_next if dhs is None else dhs[t] + dh_next
            dA[:, :u] = dh * (H[t] - hh)                                      # dz
            dq[:, 2 * u:] = act.backward(p[:, 2 * u:], hh, dh * (1 - z))      # da_h
            dA[:, u:2 * u] = dq[:, 2 * u:] * m[:, 2 * u:]                     # dr
            dq[:, :2 * u] = rec.backward(p[:, :2 * u], a[:, :2 * u], dA[:, :2 * u])
            dm[:, :2 * u] = dq[:, :2 * u]
            dm[:, 2 * u:] = dq[:, 2 * u:] * r
            dh_next = dh * z + dm @ U_T
        if self.trainable:
            self.kernel.add_grad(sum_over_steps(xt, dQ))                  # sum_t x_t^T dq_t
            self.recurrent_kernel.add_grad(sum_over_steps(H[:-1], dM))    # sum_t h_{t-1}^T dm_t
            if self.use_bias:
                self.bias.add_grad(xp.stack([dQ.sum(axis=(0, 1)), dM.sum(axis=(0, 1))]))
        # dx_t = dq_t W^T (a C-contiguous W^T: BLAS is slower on a transposed view)
        dxt = matmul_steps(dQ, xp.ascontiguousarray(self.kernel.value.T)) if need_dx else None
        return self._pack_input_grads(dxt, [dh_next])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "reset_after": True, **self._config_initializers()}
