"""Optimizers against the formulas of KERAS_NOTES section 4 (and Keras 3's source for Adadelta,
Adagrad, Adamax, Nadam, AdamW), written out again here as a float32 NumPy reference and
compared step by step (5 steps, two weights); the constructors' checks; the optimizer's view
of the weights during training. Parity with real Keras: parity_tests/test_optimizer_parity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from minikeras import optimizers
from minikeras.variable import Variable

F = np.float32
SHAPES = ((3, 4), (4,))
STEPS = 5


class Reference:
    """The written update rules, in float32, one state dict per weight."""

    def __init__(self, kind: str, lr: float, **kw: float) -> None:
        self.kind, self.lr, self.kw, self.t = kind, F(lr), kw, 0
        self.state: dict[int, dict[str, np.ndarray]] = {}
        self.u_product = F(1)

    def step(self, weights: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.t += 1
        if self.kind == "nadam":
            self.u_product = self.u_product * F(0.9) * (F(1) - F(0.5) * F(0.96) ** F(self.t))
        for i, (w, g) in enumerate(zip(weights, grads, strict=True)):
            if self.kw.get("weight_decay"):   # decoupled, before the update
                w -= w * F(self.kw["weight_decay"]) * self.lr
            s = self.state.setdefault(i, {})
            getattr(self, self.kind)(w, g, s)

    def sgd(self, w, g, s) -> None:
        mu = F(self.kw.get("momentum", 0.0))
        if mu == 0:
            w -= self.lr * g
            return
        m = s.setdefault("m", np.zeros_like(w))
        m[...] = mu * m - self.lr * g
        w += mu * m - self.lr * g if self.kw.get("nesterov") else m

    def rmsprop(self, w, g, s) -> None:
        rho, eps = F(self.kw.get("rho", 0.9)), F(1e-7)
        # Keras computes 1 - rho on the Python float, then casts: F(0.1), not F(1) - F(0.9)
        one_minus_rho = F(1 - self.kw.get("rho", 0.9))
        mu = F(self.kw.get("momentum", 0.0))
        v = s.setdefault("v", np.zeros_like(w))
        v[...] = rho * v + one_minus_rho * (g * g)
        if self.kw.get("centered"):
            a = s.setdefault("a", np.zeros_like(w))
            a[...] = rho * a + one_minus_rho * g
            denominator = v - a * a + eps
        else:
            denominator = v + eps
        delta = self.lr * g / np.sqrt(denominator)  # epsilon inside the root
        if mu > 0:
            big_m = s.setdefault("M", np.zeros_like(w))
            big_m[...] = mu * big_m + delta
            w -= big_m
        else:
            w -= delta

    def adam(self, w, g, s) -> None:
        b1, b2, eps = F(0.9), F(0.999), F(1e-7)
        t = F(self.t)
        m = s.setdefault("m", np.zeros_like(w))
        v = s.setdefault("v", np.zeros_like(w))
        # 1 - beta on the Python float, then cast (as Keras); the powers are float32 ops
        m += (g - m) * F(1 - 0.9)
        v += (g * g - v) * F(1 - 0.999)
        alpha = self.lr * np.sqrt(F(1) - b2 ** t) / (F(1) - b1 ** t)
        if self.kw.get("amsgrad"):
            vhat = s.setdefault("vhat", np.zeros_like(w))
            np.maximum(vhat, v, out=vhat)
            v = vhat
        w -= alpha * m / (np.sqrt(v) + eps)  # epsilon not bias-corrected

    def adadelta(self, w, g, s) -> None:
        rho, eps = F(0.95), F(1e-7)
        acc_g = s.setdefault("acc_g", np.zeros_like(w))
        acc_d = s.setdefault("acc_d", np.zeros_like(w))
        acc_g[...] = rho * acc_g + F(1 - 0.95) * (g * g)
        delta = -(np.sqrt(acc_d + eps) * g / np.sqrt(acc_g + eps))
        acc_d[...] = rho * acc_d + F(1 - 0.95) * (delta * delta)
        w += self.lr * delta

    def adagrad(self, w, g, s) -> None:
        acc = s.setdefault("acc", np.full_like(w, F(0.1)))
        acc += g * g
        w -= self.lr * g / np.sqrt(acc + F(1e-7))

    def adamax(self, w, g, s) -> None:
        m = s.setdefault("m", np.zeros_like(w))
        u = s.setdefault("u", np.zeros_like(w))
        m += (g - m) * F(1 - 0.9)
        u[...] = np.maximum(F(0.999) * u, np.abs(g))
        w -= self.lr * m / ((F(1) - F(0.9) ** F(self.t)) * (u + F(1e-7)))

    def nadam(self, w, g, s) -> None:
        b1, b2, t = F(0.9), F(0.999), F(self.t)
        u_t = b1 * (F(1) - F(0.5) * F(0.96) ** t)
        u_t_1 = b1 * (F(1) - F(0.5) * F(0.96) ** (t + F(1)))
        u_product_t_1 = self.u_product * u_t_1
        m = s.setdefault("m", np.zeros_like(w))
        v = s.setdefault("v", np.zeros_like(w))
        m += (g - m) * (F(1) - b1)          # 1 - beta as a float32 operation, as Keras' Nadam
        v += (g * g - v) * (F(1) - b2)
        m_hat = u_t_1 * m / (F(1) - u_product_t_1) + (F(1) - u_t) * g / (F(1) - self.u_product)
        v_hat = v / (F(1) - b2 ** t)
        w -= m_hat * self.lr / (np.sqrt(v_hat) + F(1e-7))


def _clip(grads: list[np.ndarray], clip: dict[str, float]) -> list[np.ndarray]:
    if "clipvalue" in clip:
        c = F(clip["clipvalue"])
        return [np.clip(g, -c, c) for g in grads]
    if "clipnorm" in clip:
        c = F(clip["clipnorm"])
        return [g * c / np.maximum(np.sqrt((g * g).sum()), c) for g in grads]
    if "global_clipnorm" in clip:
        c = F(clip["global_clipnorm"])
        norm = np.sqrt(sum((g * g).sum() for g in grads))
        return [g * (c / np.maximum(norm, c)) for g in grads]
    return grads


CASES = {
    "sgd": ("sgd", optimizers.SGD, {}),
    "sgd_momentum": ("sgd", optimizers.SGD, {"momentum": 0.9}),
    "sgd_nesterov": ("sgd", optimizers.SGD, {"momentum": 0.8, "nesterov": True}),
    "rmsprop": ("rmsprop", optimizers.RMSprop, {}),
    "rmsprop_momentum": ("rmsprop", optimizers.RMSprop, {"momentum": 0.5}),
    "rmsprop_centered": ("rmsprop", optimizers.RMSprop, {"centered": True, "rho": 0.8}),
    "rmsprop_centered_momentum": ("rmsprop", optimizers.RMSprop,
                                  {"centered": True, "momentum": 0.5}),
    "adam": ("adam", optimizers.Adam, {}),
    "adam_amsgrad": ("adam", optimizers.Adam, {"amsgrad": True}),
    "adadelta": ("adadelta", optimizers.Adadelta, {}),
    "adagrad": ("adagrad", optimizers.Adagrad, {}),
    "adamax": ("adamax", optimizers.Adamax, {}),
    "nadam": ("nadam", optimizers.Nadam, {}),
    "adamw": ("adam", optimizers.AdamW, {"weight_decay": 0.004}),
    "sgd_weight_decay": ("sgd", optimizers.SGD, {"weight_decay": 0.1}),
    "rmsprop_weight_decay": ("rmsprop", optimizers.RMSprop, {"weight_decay": 0.1}),
    "adam_weight_decay": ("adam", optimizers.Adam, {"weight_decay": 0.1}),
    "adadelta_weight_decay": ("adadelta", optimizers.Adadelta, {"weight_decay": 0.1}),
    "adagrad_weight_decay": ("adagrad", optimizers.Adagrad, {"weight_decay": 0.1}),
    "adamax_weight_decay": ("adamax", optimizers.Adamax, {"weight_decay": 0.1}),
    "nadam_weight_decay": ("nadam", optimizers.Nadam, {"weight_decay": 0.1}),
}


def _run(kind: str, cls: type, kw: dict, clip: dict, lr: float) -> tuple:
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(F) for s in SHAPES]
    variables = [Variable(w.copy(), f"w{i}") for i, w in enumerate(init)]
    ref_w = [w.copy() for w in init]
    opt = cls(learning_rate=lr, **kw, **clip)
    ref = Reference(kind, lr, **kw)
    worst = 0.0
    for step in range(STEPS):
        # growing, sign-changing gradients so that amsgrad's max and clipping both matter
        grads = [(rng.standard_normal(s) * (3.0 if step % 2 else 0.5)).astype(F)
                 for s in SHAPES]
        opt.apply([g.copy() for g in grads], variables)
        ref.step(ref_w, _clip(grads, clip))
        for v, w in zip(variables, ref_w, strict=True):
            assert v.value.dtype == F
            np.testing.assert_allclose(v.value, w, rtol=1e-6, atol=1e-7,
                                       err_msg=f"step {step + 1}")
            worst = max(worst, float(np.abs(v.value - w).max()))
    assert opt.iterations == STEPS
    return worst, [v.value for v in variables], init


@pytest.mark.parametrize("case", list(CASES))
def test_update_formula_step_by_step(case: str) -> None:
    kind, cls, kw = CASES[case]
    _, final, init = _run(kind, cls, kw, {}, 0.01)
    assert all(not np.array_equal(a, b) for a, b in zip(final, init, strict=True))


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"clipvalue": 0.5},
                                  {"global_clipnorm": 2.0}])
@pytest.mark.parametrize("case", ["sgd", "rmsprop", "adam", "adadelta", "adagrad", "adamax",
                                  "nadam"])
def test_clipping(case: str, clip: dict) -> None:
    kind, cls, kw = CASES[case]
    _run(kind, cls, kw, clip, 0.1)


def test_clipping_actually_clips() -> None:
    var = Variable(np.zeros(2, F), "w")
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply([np.array([3.0, 4.0], F)], [var])
    np.testing.assert_allclose(var.value, [-0.6, -0.8], rtol=1e-6)
    var = Variable(np.zeros(2, F), "w")
    optimizers.SGD(learning_rate=1.0, clipvalue=0.5).apply([np.array([3.0, -0.1], F)], [var])
    np.testing.assert_allclose(var.value, [-0.5, 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="Only one"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_learning_rate_is_float32_and_defaults() -> None:
    assert optimizers.SGD().learning_rate == float(F(0.01))
    assert optimizers.get("RMSprop").learning_rate == float(F(0.001))
    rms = optimizers.get("rmsprop")
    assert (rms.rho, rms.momentum, rms.epsilon, rms.centered) == (0.9, 0.0, 1e-7, False)
    adam = optimizers.get("adam")
    assert (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (0.9, 0.999, 1e-7, False)
    sgd = optimizers.get("sgd")
    assert (sgd.momentum, sgd.nesterov) == (0.0, False)


def test_learning_rate_can_change_between_steps() -> None:
    var = Variable(np.ones(1, F), "w")
    opt = optimizers.SGD(learning_rate=0.5)
    opt.apply([np.ones(1, F)], [var])
    opt.learning_rate = 0.25
    opt.apply([np.ones(1, F)], [var])
    np.testing.assert_allclose(var.value, [0.25])


def test_state_is_per_weight_and_in_keras_order() -> None:
    a, b = Variable(np.zeros((2, 2), F), "a"), Variable(np.zeros(3, F), "b")
    opt = optimizers.Adam()
    opt.apply([np.ones((2, 2), F), np.ones(3, F)], [a, b])
    names = [np.shape(v) for v in opt.variables]
    # iterations, learning_rate, then (momentum, velocity) of each weight in order
    assert names == [(), (), (2, 2), (2, 2), (3,), (3,)]
    assert int(opt.variables[0]) == 1


@pytest.mark.parametrize("bad", [
    lambda: optimizers.SGD(momentum=0),          # an int, as Keras refuses
    lambda: optimizers.SGD(momentum=1.5),
    lambda: optimizers.Adam(learning_rate=1),    # an int learning rate
    lambda: optimizers.Adam(foo=1),
])
def test_invalid_arguments(bad) -> None:
    with pytest.raises(ValueError):
        bad()
