"""SimpleRNN: the plainest recurrent layer, and the clearest picture of BPTT."""

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
)


@dataclass
class SimpleRNNCache:
    """What ``SimpleRNN.forward`` keeps for ``backward`` (T steps, batch N, D features,
    u units; time-major, in processing order: already reversed for ``go_backwards``).

    x: (T, N, D) the inputs x_t.
    z: (T, N, u) the pre-activations z_t.
    h: (T + 1, N, u) the states: h[0] = h_0 (the initial state), h[t] = h_t.
    x_mask: None, or (1, N, D): the dropout mask of the inputs (training only).
    h_mask: None, or (1, N, u): the recurrent dropout mask of h_{t-1} (training only).
    """

    x: Any
    z: Any
    h: Any
    x_mask: Any
    h_mask: Any




class SimpleRNN(RNNBase):
    """A fully-connected RNN: the output of each step is fed back into the next.

    Weights (Keras' ``get_weights()`` order): kernel W (D, u), recurrent_kernel U (u, u),
    bias b (u,). One step, for t = 1..T (f = ``activation``, tanh by default):

        z_t = x_t W + b + h_{t-1} U          (summed in this order, as Keras does)
        h_t = f(z_t)

    With ``dropout``/``recurrent_dropout`` in training, x_t is x_t * m_x and h_{t-1} is
    h_{t-1} * m_h in the first line, with masks m_x (N, D), m_h (N, u) drawn once per batch.
    Both products go through ``rnn_ops.gate_products`` (the products the recurrent layers
    share; here one block: (x_t * m_x) W, or x_t W without dropout).
    The backward pass (BPTT) is written out in ``backward`` below; the cache it reads is
    ``SimpleRNNCache``.
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

    def _cell_forward(self, x: Any, states0: list[Any], x_mask: Any,
                      h_mask: Any) -> tuple[Any, list[Any], SimpleRNNCache]:
        xp = backend.xp
        T, N, _ = x.shape
        f = self.activation
        W, U = self.kernel.value, self.recurrent_kernel.value
        xw = gate_products(x, x_mask, W)             # x_t W for every step, before the loop
        if self.use_bias:
            xw += self.bias.value                    # xw[t] = x_t W + b
        z = xp.empty_like(xw)                        # z[t] = z_t
        h = xp.empty((T + 1, N, self.units), dtype=xw.dtype)   # h[0] = h_0, h[t] = h_t
        h[0] = states0[0]
        # index t holds step t + 1 of the equations: h[t] is the state it reads
        for t in range(T):
            h_prev, z_t, h_t = h[t], z[t], h[t + 1]              # h_{t-1}, z_t, h_t
            xp.add(xw[t], gate_products(h_prev, h_mask, U), out=z_t)   # z_t = x_t W + b + h_{t-1} U
            f.forward(z_t, out=h_t)                                    # h_t = f(z_t)
        return h[1:], [h[T]], SimpleRNNCache(x, z, h, x_mask, h_mask)

    def backward(self, grad_output: Any) -> Any:
        """Backpropagation through time: dL/d(outputs) -> dL/dx, dL/d(initial state),
        and the weight gradients.

        dy_t = dL/dh_t arriving from the output sequence (zero when only h_T is returned).
        Going from t = T down to 1, the gradient also flows in from step t+1:

            dh      = dy_t + dh_next        (at t = T, dh_next is what reaches the final state
                                             h_T: the output h_T's gradient, return_state's)
            dz_t    = f'(z_t) * dh          (for tanh: (1 - h_t^2) * dh)
            dh_next = dz_t U^T              (what step t-1 receives; at t = 1 it is dL/dh_0)

        and once the loop has stored every dz_t, summing over time and batch:

            dL/dW = sum_t x_t^T dz_t        (one batched matmul over all t, then the sum)
            dL/dU = sum_t h_{t-1}^T dz_t    (likewise)
            dL/db = sum_t sum_n dz_t
            dL/dx_t = dz_t W^T              (one batched matmul)

        f'(z_t) depends only on the forward pass, so it is computed for every step at once,
        before the loop: ``df_dz`` is an ``ActivationBackward``, ``df_dz(t, dh)`` is
        f'(z_t) * dh at step t, and ``df_dz.factor`` holds f'(z_t) for every step (None for
        softmax, whose Jacobian is not diagonal).
        With dropout, x_t and h_{t-1} stand for x_t * m_x and h_{t-1} * m_h in dL/dW and dL/dU,
        and dL/dx_t = (dz_t W^T) * m_x, dh_next = (dz_t U^T) * m_h (``rnn_ops``).
        """
        xp = backend.xp
        dY, (dh_next,), cache = self._unpack_output_grads(grad_output)   # dY[t] = dy_t
        W_T = backend.transposed(self.kernel.value)             # W^T, C order for BLAS
        U_T = backend.transposed(self.recurrent_kernel.value)   # U^T
        dz = xp.empty_like(cache.z)                             # dz[t] = dz_t
        df_dz = ActivationBackward(self.activation, cache.z, cache.h[1:])   # f'(z_t), all t
        for t in reversed(range(len(dz))):   # index t: step t + 1 of the equations
            dy_t, dz_t = dY[t], dz[t]
            dh = dy_t + dh_next                                          # dh
            df_dz(t, dh, out=dz_t)                                       # dz_t = f'(z_t) * dh
            dh_next = gate_products_input_grad(dz_t, cache.h_mask, U_T)  # dh_next = dz_t U^T
        if self.trainable:
            self.kernel.add_grad(gate_products_weight_grad(cache.x, cache.x_mask, dz))
            self.recurrent_kernel.add_grad(
                gate_products_weight_grad(cache.h[:-1], cache.h_mask, dz))
            if self.use_bias:
                self.bias.add_grad(dz.sum(axis=(0, 1)))
        dx = gate_products_input_grad(dz, cache.x_mask, W_T) if self.input_grad_needed else None
        return self._pack_input_grads(dx, [dh_next])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, **self._config_initializers()}
