"""SimpleRNN: the plainest recurrent layer, and the clearest picture of BPTT."""

from __future__ import annotations

from typing import Any

from minikeras import activations, backend
from minikeras.layers.rnn_base import RNNBase, matmul_steps, sum_over_steps


class SimpleRNN(RNNBase):
    """A fully-connected RNN: the output of each step is fed back into the next.

    Weights (Keras' ``get_weights()`` order): kernel W (D, u), recurrent_kernel U (u, u),
    bias b (u,). One step, for t = 1..T (f = ``activation``, tanh by default):

        z_t = x_t W + h_{t-1} U + b
        h_t = f(z_t)

    The backward pass (BPTT) is written out in ``backward`` below.
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer

    def build_cell(self, input_dim: int) -> None:
        u = self.units
        self.kernel = self.add_weight("kernel", (input_dim, u), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, u),
                                                self.recurrent_initializer)
        self.bias = (self.add_weight("bias", (u,), self.bias_initializer)
                     if self.use_bias else None)

    def _cell_forward(self, xt: Any, states0: list[Any]) -> tuple[Any, list[Any], Any]:
        xp = backend.xp
        T, N, D = xt.shape
        u = self.units
        U = self.recurrent_kernel.value
        Z = matmul_steps(xt, self.kernel.value)   # x_t W for every step, before the loop
        if self.use_bias:
            Z += self.bias.value
        H = xp.empty((T + 1, N, u), dtype=Z.dtype)   # H[0] = h_0, H[t] = h_t
        H[0] = states0[0]
        hU = xp.empty((N, u), dtype=Z.dtype)         # scratch for h_{t-1} U
        for t in range(T):
            Z[t] += xp.matmul(H[t], U, out=hU)           # z_t = x_t W + b + h_{t-1} U
            self.activation.forward(Z[t], out=H[t + 1])  # h_t = f(z_t)
        return H[1:], [H[T]], (xt, Z, H)

    def backward(self, grad_output: Any) -> Any:
        """Backpropagation through time: dL/d(outputs) -> dL/dx, dL/d(initial state),
        and the weight gradients.

        Backward through time. g_t = dL/dh_t arriving from above (the output sequence, or only
        the last step); going from t = T down to 1 the gradient also flows in from step t+1:

            dh    = g_t + dh_next           (dh_next = 0 at t = T, plus dL/dh_T from return_state)
            dz_t  = f'(z_t) * dh            (for tanh: (1 - h_t^2) * dh)
            dh_next = dz_t U^T              (what step t-1 receives; at t = 1 it is dL/dh_0)

        f'(z_t) depends only on the forward pass, so it is computed for every step at once
        before the loop (one array operation instead of T); the loop keeps only what truly
        flows backwards through time.

        and once the loop has stored every dz_t, summing over time and batch:

            dL/dW = sum_t x_t^T dz_t        (one batched matmul over all t, then the sum)
            dL/dU = sum_t h_{t-1}^T dz_t    (likewise)
            dL/db = sum_t sum_n dz_t
            dL/dx_t = dz_t W^T              (one batched matmul)
        """
        # g_t for every step (None: only the final state got a gradient) and the
        # gradients arriving at the final states, time-major (T, N, u)
        dhs, dfinals, cache = self._unpack_output_grads(grad_output)
        need_dx = self.input_grad_needed   # False for a model's first layer
        xp = backend.xp
        xt, Z, H = cache
        T, N, D = xt.shape
        u = self.units
        U_T = xp.ascontiguousarray(self.recurrent_kernel.value.T)   # C order for BLAS
        dh_next = dfinals[0] if dfinals[0] is not None else xp.zeros((N, u), dtype=Z.dtype)
        act = self.activation
        # f'(z_t) for every t at once; the loop turns it into dz_t in place
        dZ = act.derivative(Z, H[1:]) if act.elementwise else xp.empty_like(Z)
        for t in reversed(range(T)):
            dh = dh_next if dhs is None else dhs[t] + dh_next      # dh = g_t + dh_next
            if act.elementwise:
                dZ[t] *= dh                                        # dz_t = f'(z_t) * dh
            else:   # softmax: f' is a Jacobian, applied by the activation's backward
                dZ[t] = act.backward(Z[t], H[t + 1], dh)
            dh_next = dZ[t] @ U_T                                  # flows to step t-1
        if self.trainable:
            self.kernel.add_grad(sum_over_steps(xt, dZ))                  # sum_t x_t^T dz_t
            self.recurrent_kernel.add_grad(sum_over_steps(H[:-1], dZ))    # sum_t h_{t-1}^T dz_t
            if self.use_bias:
                self.bias.add_grad(dZ.sum(axis=(0, 1)))
        # dx_t = dz_t W^T (a C-contiguous W^T: BLAS is slower on a transposed view)
        dxt = matmul_steps(dZ, xp.ascontiguousarray(self.kernel.value.T)) if need_dx else None
        return self._pack_input_grads(dxt, [dh_next])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, **self._config_initializers()}
