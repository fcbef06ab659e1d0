"""minikeras.exercises: skeletons fail at stage 1, the reference passes every stage, and
planted mistakes are caught with the intended diagnosis.

TYPICAL LEARNER MISTAKES (the list the planted mistakes below are drawn from; written down
before the diagnoses were):

    missing term        the activation's derivative left out (dz = dy); LSTM's dc without
                        dh ⊙ o ⊙ f'(c_t); dg without f'(z_c); no recurrence (dh_next unset)
    wrong gate block    df = dc ⊙ c_t instead of c_{t-1}; do = dh ⊙ c_t instead of f(c_t)
    wrong operand       dU from h_t instead of h_{t-1}; tanh' from z instead of y; sigmoid'
                        from x; relu' with x >= 0 (Keras: f'(0) = 0)
    wrong padding side  col2im crops P // 2 after and the rest before
    overlap             col2im / max pooling assign (=) where windows overlap
    epsilon             inside the root in Adam, outside in RMSprop
    bias correction     missing, or the paper's form (ε after correcting v)
    ties                max pooling splits between tied cells, or gives to the last, or to all
    transposed product  dW = dzᵀ·x; fold (T, N) instead of (N, T); im2col (c, ky, kx) order
    wrong sign          dx = −dz·Wᵀ; y − p; m ← μm + lr·g
    missing 1/N         (or an extra one): a mean over rows for a weight's gradient; a loss
                        gradient divided by N; 1/D of the mse missing; TimeDistributed ÷ T
    state               stateful: no carry-over, h without c, h and c swapped, no reset

The Keras and tutorial-model stages run where keras is installed (one process, a few steps).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from minikeras import activations, exercises, layers, losses, optimizers
from minikeras.exercises import diagnose, ex_conv, tutorial_models
from minikeras.exercises.layer_grader import Case

ROOT = Path(__file__).resolve().parents[1]
HAS_KERAS = exercises.load_keras(True)[0] is not None


def grade(name: str, piece: object, last_stage: int = 2) -> exercises.ReportCard:
    return exercises.check(name, piece, keras=False, verbose=False, last_stage=last_stage)


def assert_caught(name: str, piece: object, *phrases: str) -> None:
    card = grade(name, piece)
    assert not card.passed, f"{name}: a planted mistake passed"
    for phrase in phrases:
        assert phrase in card.diagnosis, f"{name}: {phrase!r} not in {card.diagnosis!r}"


# --------------------------------------------------------------------------- every exercise
@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_untouched_skeleton_fails_at_stage_one(name, tmp_path):
    path = exercises.start(name, tmp_path)
    with pytest.raises(FileExistsError):
        exercises.start(name, tmp_path)      # never overwrites the learner's file
    card = grade(name, exercises.load_piece(name, path), last_stage=4)
    assert card.stages[0].status == "FAIL"
    assert "not written yet" in card.diagnosis
    assert all(s.status == "not run" for s in card.stages[1:])


@pytest.fixture(scope="module")
def keras_steps():
    return 2


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_reference_passes_every_stage(name, keras_steps):
    card = exercises.check(name, reference=True, keras=True, steps=keras_steps, verbose=False)
    assert card.passed, card.render()
    statuses = [s.status for s in card.stages]
    assert statuses[:2] == ["pass", "pass"]
    assert statuses[2:] == (["pass", "pass"] if HAS_KERAS else ["skipped", "pass"])


def test_without_keras_the_keras_stage_is_skipped_with_the_reason():
    card = exercises.check("dense", reference=True, keras=False, steps=2, verbose=False)
    assert card.passed
    assert card.stages[2].status == "skipped" and "switched off" in card.stages[2].lines[0]
    assert "float64" in card.stages[3].lines[0]


# --------------------------------------------------------------------------- dense
class DenseSolution(layers.Dense):
    mistake = ""

    def backward(self, grad_output):
        x, z, y = self.cache
        dz = grad_output if self.mistake == "no_act" else self.activation.backward(
            z, y, grad_output)
        return self.backward_from_logits(dz)

    def backward_from_logits(self, grad_logits):
        x = self.cache[0]
        x2, dz2 = x.reshape(-1, x.shape[-1]), grad_logits.reshape(-1, self.units)
        dW = dz2.T @ x2 if self.mistake == "transposed" else x2.T @ dz2
        self.kernel.add_grad(dW / len(x2) if self.mistake == "mean" else dW)
        if self.use_bias:
            self.bias.add_grad(dz2.sum(axis=0))
        dx = grad_logits @ self.kernel.value.T
        return -dx if self.mistake == "sign" else dx


def mistake(cls, which):
    return type(f"{cls.__name__}_{which}", (cls,), {"mistake": which})


def test_dense_solution_passes_and_mistakes_are_named():
    assert grade("dense", DenseSolution).passed
    assert_caught("dense", mistake(DenseSolution, "no_act"), "derivative is missing")
    assert_caught("dense", mistake(DenseSolution, "mean"), "drop the 1/N")
    assert_caught("dense", mistake(DenseSolution, "sign"), "wrong sign")
    assert_caught("dense", mistake(DenseSolution, "transposed"), "(transposed")


# --------------------------------------------------------------------------- activations
def activation_pieces(**changes):
    funcs = {
        "relu_derivative": lambda x, y, dy: dy * (x > 0),
        "sigmoid_derivative": lambda x, y, dy: dy * y * (1 - y),
        "tanh_derivative": lambda x, y, dy: dy * (1 - y * y),
    }
    funcs.update(changes)
    return SimpleNamespace(**funcs)


def test_activation_derivatives_and_their_mistakes():
    assert grade("activations", activation_pieces()).passed
    assert_caught("activations", activation_pieces(relu_derivative=lambda x, y, dy: dy * (x >= 0)),
                  "at x = 0 exactly", "f'(0) = 0")
    assert_caught("activations", activation_pieces(
        sigmoid_derivative=lambda x, y, dy: dy * x * (1 - x)), "uses the input")
    assert_caught("activations", activation_pieces(
        tanh_derivative=lambda x, y, dy: dy * (1 - y)), "the square is missing")
    assert_caught("activations", activation_pieces(
        relu_derivative=lambda x, y, dy: (x > 0).astype(x.dtype)), "multiply by dy")


# --------------------------------------------------------------------------- losses
class XentSolution(losses.CategoricalCrossentropy):
    mistake = ""

    def compute(self, y_true, y_pred, logits=None):
        z = y_pred if self.from_logits else logits
        log_p = activations.log_softmax(z)
        p = np.exp(log_p)
        grad = {"p_minus_y": p - y_true, "sign": y_true - p * y_true.sum(-1, keepdims=True),
                "over_n": (p * y_true.sum(-1, keepdims=True) - y_true) / (y_true.size
                                                                        // y_true.shape[-1]),
                "no_y": p * y_true.sum(-1, keepdims=True)}.get(
            self.mistake, p * y_true.sum(-1, keepdims=True) - y_true)
        return -(y_true * log_p).sum(-1), grad, not self.from_logits


class MseSolution(losses.MeanSquaredError):
    mistake = ""

    def compute(self, y_true, y_pred, logits=None):
        diff = y_pred - y_true
        d = y_pred.shape[-1]
        grad = {"no_d": 2 * diff, "no_2": diff / d, "sign": -2 * diff / d,
                "over_n": 2 * diff / d / (diff.size // d)}.get(self.mistake, 2 * diff / d)
        return (diff * diff).mean(-1), grad, False


def test_loss_gradients_and_their_mistakes():
    assert grade("softmax_xent", XentSolution).passed
    assert_caught("softmax_xent", mistake(XentSolution, "p_minus_y"), "sums to 1")
    assert_caught("softmax_xent", mistake(XentSolution, "sign"), "wrong sign")
    assert_caught("softmax_xent", mistake(XentSolution, "over_n"), "divided by the number")
    assert_caught("softmax_xent", mistake(XentSolution, "no_y"), "only at the true class",
                  "the − y term")
    assert grade("mse", MseSolution).passed
    assert_caught("mse", mistake(MseSolution, "no_d"), "without the 1/D")
    assert_caught("mse", mistake(MseSolution, "no_2"), "the 2 of the square")
    assert_caught("mse", mistake(MseSolution, "sign"), "wrong sign")
    assert_caught("mse", mistake(MseSolution, "over_n"), "divided by the number")


# --------------------------------------------------------------------------- optimizers
# Written against the skeletons' contract: update_step(gradient, variable, learning_rate),
# state in self._slots[id(variable)].
class SgdSolution(optimizers.SGD):
    mistake = ""

    def update_step(self, gradient, variable, learning_rate):
        t = variable.value.dtype.type
        mu, lr, g = t(self.momentum), learning_rate, gradient
        m = self._slots[id(variable)]["momentum"]
        step = {"no_lr": g, "dampening": (1 - mu) * lr * g, "sign": -lr * g}.get(
            self.mistake, lr * g)
        m[...] = mu * m - step
        variable.value += mu * m - lr * g if self.mistake == "nesterov" else m


class RmspropSolution(optimizers.RMSprop):
    mistake = ""

    def update_step(self, gradient, variable, learning_rate):
        t = variable.value.dtype.type
        v = self._slots[id(variable)]["velocity"]
        old = v.copy()
        g2 = gradient * gradient
        v[...] = t(self.rho) * v + (g2 if self.mistake == "no_one_minus_rho"
                                    else t(1 - self.rho) * g2)
        vv = old if self.mistake == "stale_v" else v
        eps = t(self.epsilon)
        denom = np.sqrt(vv) + eps if self.mistake == "eps_outside" else np.sqrt(vv + eps)
        variable.value -= learning_rate * gradient / denom


class AdamSolution(optimizers.Adam):
    mistake = ""

    def update_step(self, gradient, variable, learning_rate):
        t = variable.value.dtype.type
        slots = self._slots[id(variable)]
        m, v = slots["momentum"], slots["velocity"]
        step = t(self.iterations + 1)
        c1, c2 = t(1) - t(self.beta_1) ** step, t(1) - t(self.beta_2) ** step
        m += (gradient - m) * t(1 - self.beta_1)
        v += (gradient * gradient - v) * t(1 - self.beta_2)
        eps = t(self.epsilon)
        if self.mistake == "paper":
            variable.value -= learning_rate * (m / c1) / (np.sqrt(v / c2) + eps)
            return
        alpha = learning_rate if self.mistake == "no_correction" else (
            learning_rate * np.sqrt(c2) / c1)
        denom = np.sqrt(v + eps) if self.mistake == "eps_inside" else np.sqrt(v) + eps
        variable.value -= alpha * m / denom


def test_optimizer_updates_and_their_mistakes():
    assert grade("sgd_momentum", SgdSolution).passed
    assert_caught("sgd_momentum", mistake(SgdSolution, "nesterov"), "Nesterov")
    assert_caught("sgd_momentum", mistake(SgdSolution, "no_lr"), "learning rate is missing")
    assert_caught("sgd_momentum", mistake(SgdSolution, "dampening"), "dampening")
    assert_caught("sgd_momentum", mistake(SgdSolution, "sign"), "wrong sign")
    assert grade("rmsprop", RmspropSolution).passed
    assert_caught("rmsprop", mistake(RmspropSolution, "eps_outside"), "outside the square root")
    assert_caught("rmsprop", mistake(RmspropSolution, "no_one_minus_rho"), "(1 − ρ)")
    assert_caught("rmsprop", mistake(RmspropSolution, "stale_v"), "update v first")
    assert grade("adam", AdamSolution).passed
    assert_caught("adam", mistake(AdamSolution, "eps_inside"),
                  "epsilon was added inside the square root")
    assert_caught("adam", mistake(AdamSolution, "no_correction"), "bias correction is missing")
    assert_caught("adam", mistake(AdamSolution, "paper"), "the paper's form")


# --------------------------------------------------------------------------- convolution
def im2col_solution(mistake=""):
    def im2col(xpad, kernel, out_hw, strides, dilation):
        n, _, _, c = xpad.shape
        (kh, kw), (oh, ow) = kernel, out_hw
        sh, sw = (1, 1) if mistake == "stride" else strides
        dh, dw = (1, 1) if mistake == "dilation" else dilation
        out = np.empty((n, oh, ow, kh, kw, c), xpad.dtype)
        for y in range(oh):
            for x in range(ow):
                for ky in range(kh):
                    for kx in range(kw):
                        out[:, y, x, ky, kx] = xpad[:, y * sh + ky * dh, x * sw + kx * dw]
        if mistake == "order":
            out = out.transpose(0, 1, 2, 5, 3, 4)
        return out.reshape(n * oh * ow, kh * kw * c)
    return im2col


def test_im2col_and_its_mistakes():
    assert grade("im2col", im2col_solution()).passed
    assert_caught("im2col", im2col_solution("order"), "(c, ky, kx) order")
    assert_caught("im2col", im2col_solution("dilation"), "dilation was ignored")
    assert_caught("im2col", im2col_solution("stride"), "stride was ignored")


class Conv2DSolution(layers.Conv2D):
    mistake = ""

    def backward(self, grad_output):
        cols, padded_shape, pads, out_hw, z, y = self.cache
        dz = grad_output if self.mistake == "no_act" else self._activation_backward(
            z, y, grad_output)
        return self.backward_from_logits(dz)

    def backward_from_logits(self, grad_logits):
        cols, padded_shape, pads, out_hw, z, y = self.cache
        dz = self._to_rows(grad_logits)
        kmat = self.kernel.value.reshape(-1, self.filters)
        self.kernel.add_grad((cols.T @ dz).reshape(self.kernel.shape))
        if self.use_bias:
            self.bias.add_grad(dz.sum(axis=0))
        if self.mistake == "pad_side":
            (top, bottom), (left, right) = pads
            pads = ((bottom, top), (right, left))
        return ex_conv.col2im_loops(dz @ kmat.T, padded_shape, pads, self.kernel_size, out_hw,
                                    self.strides, assign=self.mistake == "assign")


def test_conv2d_backward_and_its_mistakes():
    assert grade("conv2d", Conv2DSolution).passed
    assert_caught("conv2d", mistake(Conv2DSolution, "pad_side"), "wrong side")
    assert_caught("conv2d", mistake(Conv2DSolution, "assign"), "add (+=)")
    assert_caught("conv2d", mistake(Conv2DSolution, "no_act"), "derivative is missing")


class MaxPoolSolution(layers.MaxPooling2D):
    rule = "first"
    assign = False

    def backward(self, grad_output):
        xpad, pads, out_hw, y = self.cache
        dxpad = np.zeros_like(xpad)
        taps = self._taps()
        hits = [self._slice(xpad, tap, out_hw) == y for tap in taps]
        count = sum(h.astype(xpad.dtype) for h in hits)
        routed = np.zeros(y.shape, bool)
        order = list(zip(taps, hits, strict=True))
        for tap, hit in (order[::-1] if self.rule == "last" else order):
            if self.rule in ("first", "last"):
                hit = hit & ~routed
                routed |= hit
            share = grad_output * hit / (count if self.rule == "split" else 1)
            target = self._slice(dxpad, tap, out_hw)
            if self.assign:
                target[hit] = share[hit]
            else:
                target += share
        return self._crop(dxpad, pads)


def test_max_pooling_backward_and_its_mistakes():
    assert grade("max_pooling", MaxPoolSolution).passed
    for rule, phrase in (("split", "split between tied cells"), ("last", "last tied maximum"),
                         ("all", "summing over ties")):
        assert_caught("max_pooling", type("M", (MaxPoolSolution,), {"rule": rule}), phrase,
                      "first maximum" if rule != "last" else "first")
    assert_caught("max_pooling", type("M", (MaxPoolSolution,), {"assign": True}),
                  "cells shared by overlapping windows")


# --------------------------------------------------------------------------- recurrent
# Written against the skeletons' contract: the caches (xt, Z, H) and (xt, Z, A, H, C, FC).
class SimpleRNNSolution(layers.SimpleRNN):
    mistake = ""

    def backward(self, grad_output):
        dhs, dfinals, (xt, Z, H) = self._unpack_output_grads(grad_output)
        T, N, D = xt.shape
        U = self.recurrent_kernel.value
        dh_next = dfinals[0] if dfinals[0] is not None else np.zeros((N, self.units))
        dZ = np.empty_like(Z)
        for t in reversed(range(T)):
            dh = dh_next if dhs is None else dhs[t] + dh_next
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
        dhs, dfinals, (xt, Z, A, H, C, FC) = self._unpack_output_grads(grad_output)
        T, N, D = xt.shape
        u = self.units
        U = self.recurrent_kernel.value
        dh_next = dfinals[0] if dfinals[0] is not None else np.zeros((N, u))
        dc_next = dfinals[1] if dfinals[1] is not None else np.zeros((N, u))
        dZ = np.empty_like(Z)
        for t in reversed(range(T)):
            i, f_g, g, o = (A[t][:, k * u:(k + 1) * u] for k in range(4))
            dh = dh_next if dhs is None else dhs[t] + dh_next
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
                  "other 3 match: check df = dc * c_{t-1}")
    assert_caught("lstm", mistake(LSTMSolution, "do_c"), "only in the output-gate block",
                  "do = dh * f(c_t)")
    assert_caught("lstm", mistake(LSTMSolution, "no_tanh"), "only in the cell-candidate block")
    assert_caught("lstm", mistake(LSTMSolution, "dc_term"), "input-gate block (columns 0:u) "
                  "and in the forget-gate block (columns u:2u) and in the cell-candidate",
                  "dc = dc_next + dh ⊙ o ⊙ f'(c_t)")


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


# --------------------------------------------------------------------------- the locator
def _lstm_case():
    ex = exercises.get("lstm")
    layer = layers.LSTM(4, dtype="float64")
    layer.build_for((2, 3, 5))
    layer.forward(np.zeros((2, 3, 5)))
    return ex, Case(ex.configs()[1], layer, np.zeros((2, 3, 5)), [np.zeros((2, 4))])


@pytest.mark.parametrize("seed", range(6))
def test_random_perturbation_of_one_block_or_region_is_located(seed):
    rng = np.random.default_rng(seed)
    ex, case = _lstm_case()
    truth = rng.standard_normal(case.layer.kernel.shape)
    regions = ex.regions("dL/dkernel", case)
    block = regions[seed % 4]
    got = truth.copy()
    got[block.mask] += rng.standard_normal(int(block.mask.sum())) * 10 ** rng.uniform(-3, 0)
    message = diagnose.explain("dL/dkernel", got, truth, regions=regions)
    assert f"wrong only {block.label}; the other 3 match" in message
    # dL/dx of a sequence: the last step vs the earlier ones
    x_regions = ex.regions("dL/dx", case)
    target = x_regions[seed % 2]
    tx = rng.standard_normal(case.x.shape)
    gx = tx.copy()
    gx[target.mask] *= 1 + rng.uniform(0.01, 1)
    assert f"wrong only {target.label}" in diagnose.explain("dL/dx", gx, tx, regions=x_regions)


@pytest.mark.parametrize("seed", range(4))
def test_perturbed_border_of_a_convolution_gradient_is_located(seed):
    rng = np.random.default_rng(seed)
    ex = exercises.get("conv2d")
    cfg = ex.configs()[1]
    layer = layers.Conv2D(**cfg.kwargs, dtype="float64")
    x = rng.standard_normal(cfg.input_shape)
    layer.build_for(x.shape)
    layer.forward(x)
    case = Case(cfg, layer, x, [np.zeros(layer.compute_output_shape(x.shape))])
    regions = ex.regions("dL/dx", case)
    truth = rng.standard_normal(x.shape)
    got = truth.copy()
    ring = regions[0].mask
    spot = tuple(np.argwhere(ring)[rng.integers(ring.sum())])
    got[spot] += 0.5
    message = diagnose.explain("dL/dx", got, truth, regions=regions)
    assert message.startswith("dL/dx is wrong only within 2 pixels of the border")
    assert "check the padding that col2im removes" in message


# --------------------------------------------------------------------------- the package
def test_shipped_tutorial_models_match_the_parity_definitions():
    import minikeras
    from parity_tests import models as parity_models

    def layout(model):
        return [(type(la).__name__, {k: v for k, v in la.get_config().items() if k != "name"})
                for la in model.layers]

    pairs = {"regression": "regression", "mlp": "mlp", "cnn": "cnn_channels_last", "rnn": "rnn",
             "lstm": "lstm", "autoencoder": "autoencoder"}
    for mine, theirs in pairs.items():
        minikeras.backend.clear_session()
        a = layout(tutorial_models.TUTORIALS[mine].build(minikeras))
        minikeras.backend.clear_session()
        b = layout(parity_models.SPECS[theirs].build(minikeras).model)
        assert a == b, mine
        assert tutorial_models.TUTORIALS[mine].loss == parity_models.SPECS[theirs].loss


def test_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINIKERAS_EXERCISES_NO_KERAS": "1"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "minikeras.exercises", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    listing = run()
    assert listing.returncode == 0
    names = [line.split()[1] for line in listing.stdout.splitlines() if line[:3].strip()
             .rstrip(".").isdigit()]
    assert names == list(exercises.EXERCISES)
    assert run("start", "mse").returncode == 0
    again = run("start", "mse")
    assert again.returncode == 2 and "already exists" in again.stderr
    failed = run("check", "mse")
    assert failed.returncode == 1 and "not written yet" in failed.stdout
    passed = run("check", "mse", "--reference", "--steps", "2")
    assert passed.returncode == 0 and "all stages pass" in passed.stdout
