"""The skeleton files of the recurrent exercises (see ``ex_rnn.py`` and ``ex_gru.py``).

What the learner's ``backward`` receives is the contract of ``minikeras/layers/rnn_base.py``
and of each layer's named cache (``SimpleRNNCache``, ``LSTMCache``, ``GRUCache``):
``self._unpack_output_grads(grad_output)`` gives (dY, dfinals, cache), and
``self._pack_input_grads(dx, dstates0)`` turns time-major dL/dx back into the layer's layout.
The cache fields are listed in each skeleton. In the GRU exercise the learner writes the
forward time loop too: ``_cell_forward(x, states0, x_mask, h_mask) -> (hs, finals, cache)``
of ``rnn_base.py``, which fills the cache that backward then reads.
"""

SIMPLE_RNN = '''\
"""Exercise simple_rnn: backpropagation through time for SimpleRNN.
(the tour: docs/inside.md, stop 10)

Check your work with:   python -m minikeras.exercises check simple_rnn {path}
Stuck? Read minikeras/layers/simple_rnn.py, SimpleRNN.backward.
"""

from minikeras import backend
from minikeras.layers import SimpleRNN


class MySimpleRNN(SimpleRNN):
    """Forward (given), for t = 1..T, f = self.activation (tanh):

        z_t = x_t·W + h_{t−1}·U + b        W = self.kernel.value (D, u),
        h_t = f(z_t)                       U = self.recurrent_kernel.value (u, u), b (u,)

    What forward leaves for backward, a SimpleRNNCache, time-major (T steps, N samples,
    in processing order: already reversed when go_backwards):
        cache.x : (T, N, D)    the inputs x_t
        cache.z : (T, N, u)    z_t
        cache.h : (T+1, N, u)  h[0] = h_0 (the initial state), h[t] = h_t
    (cache.x_mask and cache.h_mask are None: no dropout in this exercise.)
    """

    def backward(self, grad_output):
        """BPTT, from t = T down to 1 (dh_next: what step t+1 sends back; at t = T the
        gradient of the final state, or zero):

            dh      = dy_t + dh_next         dy_t = dY[t], what the outputs send to h_t
            dz_t    = dh ⊙ f'(z_t)           for tanh: (1 − h_t²) ⊙ dh
            dh_next = dz_t·Uᵀ                (after t = 1 it is dL/dh_0)

        and, summed over time and batch:

            dW = Σ_t x_tᵀ·dz_t     dU = Σ_t h_{t−1}ᵀ·dz_t     db = Σ_t Σ_n dz_t
            dx_t = dz_t·Wᵀ
        """
        xp = backend.xp
        # dY[t] = dy_t (T, N, u); dh_next starts as dL/dh_T from return_state (or zeros)
        dY, (dh_next,), cache = self._unpack_output_grads(grad_output)
        T, N, D = cache.x.shape
        dz = xp.empty_like(cache.z)    # dz[t] = dz_t: fill it in the loop
        raise NotImplementedError("SimpleRNN.backward: the loop over reversed time "
                                  "(dh, dz_t, dh_next), then dW, dU, db (add_grad) and dx_t")
        # after the loop:
        #   self.kernel.add_grad(...); self.recurrent_kernel.add_grad(...);
        #   self.bias.add_grad(...)   (when self.use_bias)
        #   dx = ...                  (T, N, D), time-major
        return self._pack_input_grads(dx, [dh_next])
'''

LSTM = '''\
"""Exercise lstm: backpropagation through time for LSTM.   (docs/inside.md, stop 10)

Check your work with:   python -m minikeras.exercises check lstm {path}
Stuck? Read minikeras/layers/lstm.py, LSTM.backward.
"""

from minikeras import backend
from minikeras.layers import LSTM


class MyLSTM(LSTM):
    """Forward (given). The columns of W (D, 4u), U (u, 4u) and b (4u,) hold four blocks, in
    Keras' order [i | f | c | o] (columns 0:u, u:2u, 2u:3u, 3u:4u). With sigma = sigmoid
    (self.recurrent_activation) and phi = tanh (self.activation), for t = 1..T:

        z_t = x_t·W + h_{t−1}·U + b            split into z_i, z_f, z_c, z_o
        i_t = sigma(z_i)   f_t = sigma(z_f)   g_t = phi(z_c)   o_t = sigma(z_o)
        c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
        h_t = o_t ⊙ phi(c_t)

    What forward leaves for backward, an LSTMCache, time-major (T steps, N samples):
        cache.x              : (T, N, D)     the inputs x_t
        cache.z              : (T, N, 4u)    z_t, all four blocks
        cache.i, .f, .g, .o  : (T, N, u)     i_t, f_t, g_t, o_t (cache.i[t−1] is i_t)
        cache.c              : (T+1, N, u)   c[0] = c_0, c[t] = c_t
        cache.phi_c          : (T, N, u)     phi_c[t−1] = phi(c_t)
        cache.h              : (T+1, N, u)   h[0] = h_0, h[t] = h_t
    (cache.x_mask and cache.h_mask are None: no dropout in this exercise.)
    """

    def backward(self, grad_output):
        """BPTT, from t = T down to 1 (dh_next, dc_next: what step t+1 sends back):

            dh   = dy_t + dh_next                dy_t = dY[t], what the outputs send to h_t
            do   = dh ⊙ phi(c_t)
            dc   = dc_next + phi'(c_t) ⊙ (dh ⊙ o_t)      phi'(c_t) = 1 − phi(c_t)² for tanh
            di   = dc ⊙ g_t
            df   = dc ⊙ c_{t−1}
            dg   = dc ⊙ i_t
            dz_t = [sigma'(z_i) di | sigma'(z_f) df | phi'(z_c) dg | sigma'(z_o) do]
                   sigma'(z_i) = i_t(1 − i_t) from the gate's value; phi'(z_c) = 1 − g_t²
            dc_next = dc ⊙ f_t                   (after t = 1: dL/dc_0)
            dh_next = dz_t·Uᵀ                    (after t = 1: dL/dh_0)

        and, summed over time and batch:

            dW = Σ_t x_tᵀ·dz_t     dU = Σ_t h_{t−1}ᵀ·dz_t     db = Σ_t Σ_n dz_t
            dx_t = dz_t·Wᵀ
        """
        xp = backend.xp
        # dY[t] = dy_t (T, N, u); dh_next, dc_next start as the final states' gradients (or 0)
        dY, (dh_next, dc_next), cache = self._unpack_output_grads(grad_output)
        T, N, D = cache.x.shape
        u = self.units
        dz = xp.empty_like(cache.z)    # dz[t] = dz_t, (T, N, 4u): fill it in the loop
        raise NotImplementedError("LSTM.backward: the loop over reversed time (dh, do, dc, "
                                  "di, df, dg, dz_t, dc_next, dh_next), then dW, dU, db "
                                  "(add_grad) and dx_t")
        # after the loop: self.kernel.add_grad(...), self.recurrent_kernel.add_grad(...),
        # self.bias.add_grad(...) (when self.use_bias); dx = ... (T, N, D), time-major
        return self._pack_input_grads(dx, [dh_next, dc_next])
'''

TIME_DISTRIBUTED = '''\
"""Exercise time_distributed: TimeDistributed's backward pass.   (docs/inside.md, stop 14)

Check your work with:   python -m minikeras.exercises check time_distributed {path}
Stuck? Read minikeras/layers/wrappers.py.
"""

from minikeras.layers import TimeDistributed


class MyTimeDistributed(TimeDistributed):
    """Forward (given): time folded into the batch, one set of weights for every step:

        x (N, T, ...)  ->  (N·T, ...)  ->  y_inner = self.layer.forward(...)  ->  y (N, T, ...)

    What forward leaves in the cache: (n, t, in_shape, inner_cache): the batch size N, the
    number of steps T, x's shape, and the inner layer's own cache (put it back into
    self.layer.cache before calling the inner backward: a shared wrapper swaps caches).
    """

    def backward(self, grad_output):
        """dy (N, T, ...) -> fold to (N·T, ...) -> self.layer.backward -> unfold to x's shape.

        The inner layer sums its weight gradients over all N·T rows: exactly the sum over
        batch and time that one set of shared weights calls for (no mean over T).
        """
        n, t, in_shape, inner_cache = self.cache
        raise NotImplementedError("TimeDistributed.backward: restore self.layer.cache, fold dy "
                                  "to (N·T, ...), run self.layer.backward, unfold dx to "
                                  "in_shape")

    def backward_from_logits(self, grad_logits):
        """The same three moves, with the inner layer's backward_from_logits (the loss
        hands dL/dz of the inner layer's logits when it ends in softmax/sigmoid)."""
        n, t, in_shape, inner_cache = self.cache
        raise NotImplementedError("TimeDistributed.backward_from_logits: as backward, with "
                                  "self.layer.backward_from_logits")
'''

STATEFUL = '''\
"""Exercise stateful: carry an LSTM's state from one batch to the next.
(the tour: docs/inside.md, stop 11)

Check your work with:   python -m minikeras.exercises check stateful {path}
Stuck? Read minikeras/layers/rnn_base.py (forward, reset_state).

With stateful=True, batch k+1 starts where batch k ended: row b of each batch continues the
sequence of row b of the previous batch. The layer keeps that state in self.states, a list
[h, c] of two (N, u) arrays (N = self.batch_size, fixed), zeros after build and after
reset_state(). No gradient crosses a batch boundary: BPTT stops at the batch's first step.
"""

from minikeras import backend
from minikeras.exercises.ex_stateful import backward_within_batch, run_from_states
from minikeras.layers import LSTM


class MyStatefulLSTM(LSTM):
    def forward(self, inputs, training=False):
        """Given: a stateful layer runs from the carried state, then keeps the final one."""
        if not self.stateful:
            return super().forward(inputs, training)
        h0, c0 = self.batch_start_states()
        outputs, h_T, c_T = run_from_states(self, inputs, [h0, c0], training)
        self.carry_over(h_T, c_T)
        return outputs

    def backward(self, grad_output):
        """Given: dL/dx of this batch (the gradient stops at the batch's first step)."""
        return backward_within_batch(self, grad_output)

    def batch_start_states(self):
        """The states [h_0, c_0] this batch starts from, each (N, u)."""
        raise NotImplementedError("batch_start_states: return the state the previous batch "
                                  "ended with (self.states: [h, c])")

    def carry_over(self, h_T, c_T):
        """Keep the final states (N, u) of this batch for the next one. Store copies: the
        arrays you are handed belong to this batch's cache."""
        raise NotImplementedError("carry_over: store [h_T, c_T] (copies) in self.states")

    def reset_state(self, states=None):
        """Forget the carried state: both h and c back to zeros of shape (N, u), with
        N = self.batch_size, u = self.units, in the layer's dtype (self.dtype)."""
        if states is not None:
            return super().reset_state(states)
        xp = backend.xp
        raise NotImplementedError("reset_state: self.states = [zeros, zeros], each (N, u)")
'''

GRU = '''\
"""Exercise gru: a GRU's forward time loop and its backpropagation through time.
(the tour: docs/inside.md, stop 10)

Check your work with:   python -m minikeras.exercises check gru {path}
Stuck? Read minikeras/layers/gru.py, GRU._cell_forward and GRU.backward.
"""

from minikeras import backend
from minikeras.layers import GRU
from minikeras.layers.gru import GRUCache


class MyGRU(GRU):
    """Keras 3's default GRU (reset_after=True). The columns of W (D, 3u) and U (u, 3u) hold
    three blocks in Keras' order [z | r | h] (update gate, reset gate, candidate: columns
    0:u, u:2u, 2u:3u); the bias (2, 3u) has two rows: b_x = bias[0] (input bias) and
    b_h = bias[1] (recurrent bias). With sigma = sigmoid (self.recurrent_activation) and
    phi = tanh (self.activation), for t = 1..T:

        xw_t = x_t·W + b_x         = [xw_z | xw_r | xw_h]
        m_t  = h_{t−1}·U + b_h     = [m_z | m_r | m_h]
        p_z = xw_z + m_z,   p_r = xw_r + m_r,   p_h = xw_h + r_t ⊙ m_h
        z_t = sigma(p_z),   r_t = sigma(p_r),   hh_t = phi(p_h)
        h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ hh_t

    (reset_after: r_t multiplies m_h, the recurrent product and its bias, after the matmul.)

    What forward leaves for backward, a GRUCache, time-major (T steps, N samples, in
    processing order: already reversed when go_backwards):
        cache.x            : (T, N, D)     the inputs x_t
        cache.m            : (T, N, 3u)    m_t = [m_z | m_r | m_h]
        cache.p            : (T, N, 3u)    p_t = [p_z | p_r | p_h]
        cache.z, .r, .hh   : (T, N, u)     z_t, r_t, hh_t (cache.z[t−1] is z_t)
        cache.h            : (T+1, N, u)   h[0] = h_0 (the initial state), h[t] = h_t
        cache.x_mask, cache.h_mask: None (no dropout in this exercise)
    """

    def _cell_forward(self, x, states0, x_mask, h_mask):
        """x: (T, N, D), time-major; states0 = [h_0], h_0 (N, u). The loop over t = 1..T
        (array index t−1) of the equations above. Return (h[1:], [h[T]], cache): every h_t
        (T, N, u), the final state, and the GRUCache (x_mask and h_mask are None here:
        pass them on as they came)."""
        xp = backend.xp
        T, N, D = x.shape
        u = self.units
        W, U = self.kernel.value, self.recurrent_kernel.value     # (D, 3u), (u, 3u)
        b_x, b_h = self.bias.value                                # (3u,) each
        m = xp.empty((T, N, 3 * u), dtype=x.dtype)                # m[t−1] = m_t
        p = xp.empty_like(m)                                      # p[t−1] = p_t
        z, r, hh = (xp.empty((T, N, u), dtype=x.dtype) for _ in range(3))
        h = xp.empty((T + 1, N, u), dtype=x.dtype)
        h[0] = states0[0]
        raise NotImplementedError("GRU._cell_forward: the loop over time (xw_t, m_t, p_z, "
                                  "p_r, z_t, r_t, p_h, hh_t, h_t), filling m, p, z, r, hh, h")
        return h[1:], [h[T]], GRUCache(x, m, p, z, r, hh, h, x_mask, h_mask)

    def backward(self, grad_output):
        """BPTT, from t = T down to 1 (dh_next: what step t+1 sends back; at t = T the
        gradient of the final state, or zero):

            dh   = dy_t + dh_next               dy_t = dY[t], what the outputs send to h_t
            dz   = dh ⊙ (h_{t−1} − hh_t)
            dhh  = dh ⊙ (1 − z_t)
            dp_h = phi'(p_h) ⊙ dhh              phi'(p_h) = 1 − hh_t² for tanh
            dr   = dp_h ⊙ m_h
            dp_z = sigma'(p_z) ⊙ dz             sigma'(p_z) = z_t(1 − z_t), from the gate's value
            dp_r = sigma'(p_r) ⊙ dr             sigma'(p_r) = r_t(1 − r_t)
            dp_t = [dp_z | dp_r | dp_h]         (dL/d(x_t·W + b_x))
            dm_t = [dp_z | dp_r | dp_h ⊙ r_t]   (dL/d(h_{t−1}·U + b_h))
            dh_next = dh ⊙ z_t + dm_t·Uᵀ        (after t = 1 it is dL/dh_0)

        and, summed over time and batch:

            dW = Σ_t x_tᵀ·dp_t     dU = Σ_t h_{t−1}ᵀ·dm_t
            db_x = Σ_t Σ_n dp_t    db_h = Σ_t Σ_n dm_t     (the bias' gradient: rows [db_x; db_h])
            dx_t = dp_t·Wᵀ
        """
        xp = backend.xp
        # dY[t] = dy_t (T, N, u); dh_next starts as dL/dh_T from return_state (or zeros)
        dY, (dh_next,), cache = self._unpack_output_grads(grad_output)
        T, N, D = cache.x.shape
        u = self.units
        dp = xp.empty_like(cache.p)    # dp[t] = dp_t, (T, N, 3u): fill it in the loop
        dm = xp.empty_like(cache.m)    # dm[t] = dm_t, (T, N, 3u)
        raise NotImplementedError("GRU.backward: the loop over reversed time (dh, dz, dhh, "
                                  "dp_h, dr, dp_z, dp_r, dm_t, dh_next), then dW, dU, the "
                                  "bias' two rows (add_grad) and dx_t")
        # after the loop: self.kernel.add_grad(...), self.recurrent_kernel.add_grad(...),
        # self.bias.add_grad(xp.stack([db_x, db_h])); dx = ... (T, N, D), time-major
        return self._pack_input_grads(dx, [dh_next])
'''
