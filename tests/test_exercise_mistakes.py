"""Planted mistakes in the exercises are caught with the intended diagnosis.

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
    GRU forward         the reset gate applied before the matmul (reset_after=False) or
                        without b_h; z_t and 1 − z_t swapped; b_h missing (test_..._gru.py)

Each planted mistake is graded without Keras, stages 1-2 only: that is where they fail.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from exercise_helpers import assert_caught, grade, mistake

from minikeras import activations, layers, losses, optimizers
from minikeras.exercises import ex_conv


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

    def masked(x, y, dy):   # works for a full dy only
        dx = dy.copy()
        dx[x <= 0] = 0
        return dx
    assert_caught("activations", activation_pieces(relu_derivative=masked), "0-d")


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
# state in Keras 3's slot lists at self._get_variable_index(variable).
class SgdSolution(optimizers.SGD):
    mistake = ""

    def update_step(self, gradient, variable, learning_rate):
        t = variable.dtype.type
        mu, lr, g = t(self.momentum), t(learning_rate), gradient
        m = self.momentums[self._get_variable_index(variable)]
        step = {"no_lr": g, "dampening": (1 - mu) * lr * g, "sign": -lr * g}.get(
            self.mistake, lr * g)
        m[...] = mu * m - step
        variable.value += mu * m - lr * g if self.mistake == "nesterov" else m


class RmspropSolution(optimizers.RMSprop):
    mistake = ""

    def update_step(self, gradient, variable, learning_rate):
        t = variable.dtype.type
        learning_rate = t(learning_rate)
        v = self._velocities[self._get_variable_index(variable)]
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
        t = variable.dtype.type
        learning_rate = t(learning_rate)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
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
        cache = self.cache
        dz = grad_output if self.mistake == "no_act" else self._activation_backward(
            cache.z, cache.y, grad_output)
        return self.backward_from_logits(dz)

    def backward_from_logits(self, grad_logits):
        cache = self.cache
        pads = cache.pads
        dz = self._to_rows(grad_logits)
        kmat = self.kernel.value.reshape(-1, self.filters)
        self.kernel.add_grad((cache.cols.T @ dz).reshape(self.kernel.shape))
        if self.use_bias:
            self.bias.add_grad(dz.sum(axis=0))
        if self.mistake == "pad_side":
            (top, bottom), (left, right) = pads
            pads = ((bottom, top), (right, left))
        return ex_conv.col2im_loops(dz @ kmat.T, cache.padded_shape, pads, self.kernel_size,
                                    cache.out_hw, self.strides, assign=self.mistake == "assign")


def test_conv2d_backward_and_its_mistakes():
    assert grade("conv2d", Conv2DSolution).passed
    assert_caught("conv2d", mistake(Conv2DSolution, "pad_side"), "wrong side")
    assert_caught("conv2d", mistake(Conv2DSolution, "assign"), "add (+=)")
    assert_caught("conv2d", mistake(Conv2DSolution, "no_act"), "derivative is missing")


class MaxPoolSolution(layers.MaxPooling2D):
    rule = "first"
    assign = False

    def backward(self, grad_output):
        xpad, pads, out_hw, y = (self.cache.xpad, self.cache.pads, self.cache.out_hw,
                                 self.cache.y)
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


