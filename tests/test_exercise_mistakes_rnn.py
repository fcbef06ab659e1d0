"""Planted mistakes in the recurrent exercises (simple_rnn, lstm, time_distributed, stateful)
are caught with the intended diagnosis; the list of typical mistakes they are drawn from is at
the top of test_exercise_mistakes.py (and in docs/exercises.md).

The solutions here are written against the skeletons' contract: the named caches
SimpleRNNCache and LSTMCache of minikeras/layers/simple_rnn.py and lstm.py.
"""

from __future__ import annotations

import numpy as np
from exercise_helpers import assert_caught, grade, mistake

from minikeras import layers


# --------------------------------------------------------------------------- recurrent
class SimpleRNNSolution(layers.SimpleRNN):
    mistake = ""

    def backward(self, grad_output):
        dY, (dh_next,), cache = self._unpack_output_grads(grad_output)
        xt, Z, H = cache.x, cache.z, cache.h
        T, N, D = xt.shape
        U = self.recurrent_kernel.value
        dZ = np.empty_like(Z)
        for t in reversed(range(T)):
            dh = dY[t] + dh_next
            fprime = 1 - Z[t] ** 2 if self.mistake == "from_z" else 1 - H[t + 1] ** 2
            dZ[t] = dh * fprime
            dh_next = np.zeros_like(dh) if self.mistake == "no_recurrence" else dZ[t] @ U.T
        states = H[1:] if self.mistake == "h_t" else H[:-1]
        self.kernel.add_grad(np.einsum("tnd,tnu->du", xt, dZ))
        self.recurrent_kernel.add_grad(np.einsum("tnv,tnu->vu", states, dZ))
        self.bias.add_grad(dZ.sum(axis=(0, 1)))
        return self._pack_input_grads(dZ @ self.kernel.value.T, [dh_next])


class LSTMSolution(layers.LSTM):
    mistake = ""

    def backward(self, grad_output):
        dY, (dh_next, dc_next), cache = self._unpack_output_grads(grad_output)
        xt, Z, H, C, FC = cache.x, cache.z, cache.h, cache.c, cache.phi_c
        T, N, D = xt.shape
        U = self.recurrent_kernel.value
        dZ = np.empty_like(Z)
        for t in reversed(range(T)):
            i, f_g, g, o = cache.i[t], cache.f[t], cache.g[t], cache.o[t]
            dh = dY[t] + dh_next
            do = dh * (C[t + 1] if self.mistake == "do_c" else FC[t])
            dc = dc_next if self.mistake == "dc_term" else dc_next + dh * o * (1 - FC[t] ** 2)
            di, dg = dc * g, dc * i
            df = dc * (C[t + 1] if self.mistake == "df_ct" else C[t])
            dg_z = dg if self.mistake == "no_tanh" else dg * (1 - g * g)
            dZ[t] = np.concatenate([di * i * (1 - i), df * f_g * (1 - f_g), dg_z,
                                    do * o * (1 - o)], axis=1)
            dc_next = dc * f_g
            dh_next = dZ[t] @ U.T
        self.kernel.add_grad(np.einsum("tnd,tnu->du", xt, dZ))
        self.recurrent_kernel.add_grad(np.einsum("tnv,tnu->vu", H[:-1], dZ))
        self.bias.add_grad(dZ.sum(axis=(0, 1)))
        return self._pack_input_grads(dZ @ self.kernel.value.T, [dh_next, dc_next])


def test_simple_rnn_bptt_and_its_mistakes():
    assert grade("simple_rnn", SimpleRNNSolution).passed
    assert_caught("simple_rnn", mistake(SimpleRNNSolution, "h_t"), "h_{t−1}ᵀ·dz_t")
    assert_caught("simple_rnn", mistake(SimpleRNNSolution, "from_z"), "not 1 − z_t²")
    assert_caught("simple_rnn", mistake(SimpleRNNSolution, "no_recurrence"), "dL/dh0 is all zeros",
                  "dh_next = dz_t·Uᵀ")


def test_lstm_bptt_and_its_mistakes():
    assert grade("lstm", LSTMSolution).passed
    assert_caught("lstm", mistake(LSTMSolution, "df_ct"),
                  "LSTM: dL/dkernel is wrong only in the forget-gate block (columns u:2u); the "
                  "other three blocks match: check df = dc * c_{t-1}")
    assert_caught("lstm", mistake(LSTMSolution, "do_c"), "only in the output-gate block",
                  "do = dh * phi(c_t)")
    assert_caught("lstm", mistake(LSTMSolution, "no_tanh"), "only in the cell-candidate block")
    assert_caught("lstm", mistake(LSTMSolution, "dc_term"), "input-gate block (columns 0:u) "
                  "and in the forget-gate block (columns u:2u) and in the cell-candidate",
                  "dc = dc_next + phi'(c_t) ⊙ (dh ⊙ o_t)")


class TimeDistributedSolution(layers.TimeDistributed):
    mistake = ""

    def backward(self, grad_output):
        return self._run(self.layer.backward, grad_output)

    def backward_from_logits(self, grad_logits):
        return self._run(self.layer.backward_from_logits, grad_logits)

    def _run(self, backward, grad):
        n, t, in_shape, inner_cache = self.cache
        self.layer.cache = inner_cache
        if self.mistake == "time_major":
            folded = grad.transpose(1, 0, *range(2, grad.ndim)).reshape(n * t, -1)
        else:
            folded = grad.reshape(n * t, *grad.shape[2:])
        dx = backward(folded / t if self.mistake == "mean" else folded)
        return dx if self.mistake == "no_unfold" else dx.reshape(in_shape)


def test_time_distributed_and_its_mistakes():
    assert grade("time_distributed", TimeDistributedSolution).passed
    assert_caught("time_distributed", mistake(TimeDistributedSolution, "time_major"),
                  "folded time-major")
    assert_caught("time_distributed", mistake(TimeDistributedSolution, "mean"),
                  "SUM over time steps")
    assert_caught("time_distributed", mistake(TimeDistributedSolution, "no_unfold"),
                  "unfold to x's shape")


class StatefulSolution(layers.LSTM):
    mistake = ""

    def forward(self, inputs, training=False):
        from minikeras.exercises.ex_stateful import run_from_states

        if not self.stateful:
            return super().forward(inputs, training)
        h, c = self.states
        zero = np.zeros_like(h)
        start = {"no_carry": [zero, zero], "h_only": [h, zero], "swapped": [c, h]}.get(
            self.mistake, [h, c])
        out, h_T, c_T = run_from_states(self, inputs, start, training)
        self.states = [h_T.copy(), c_T.copy()]
        return out

    def backward(self, grad_output):
        from minikeras.exercises.ex_stateful import backward_within_batch

        return backward_within_batch(self, grad_output)

    def reset_state(self, states=None):
        if self.mistake != "no_reset" or self.states is None:
            super().reset_state(states)


def test_stateful_carry_over_and_its_mistakes():
    assert grade("stateful", StatefulSolution).passed
    assert_caught("stateful", mistake(StatefulSolution, "no_carry"), "started from zeros")
    assert_caught("stateful", mistake(StatefulSolution, "h_only"), "only h was carried")
    assert_caught("stateful", mistake(StatefulSolution, "swapped"), "h and c were swapped")
    assert_caught("stateful", mistake(StatefulSolution, "no_reset"), "did not start from zeros")


