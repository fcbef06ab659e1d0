"""Exercises ``sgd_momentum``, ``rmsprop``, ``adam``: Keras' update formulas (inside.md, stop 6).

The learner writes ``update_step(gradient, variable, learning_rate)`` of a subclass of the
real optimizer (Keras 3's signature). Grading runs a few steps on two weights, with
gradients drawn at random (some tiny, so that epsilon's place shows), and compares the
*updates* w_k − w_0 (so that a wrong sign or factor is named as such):

* stage 2, in float64, with the formula written out below in NumPy (independent of
  minikeras' optimizers); a mismatch is compared with what the typical slips compute
  (``VARIANTS``), then located in time (wrong from step 1, or only once state carries over);
* stage 3, in float32, with ``keras.optimizers``;
* stage 4, the tutorial model that uses the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras import optimizers
from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.base import Exercise, FailedStageError, Options, check_array, learner
from minikeras.exercises.skeletons_optimizers import ADAM, RMSPROP, SGD
from minikeras.variable import Variable

STEPS = 4
SHAPES = ((3, 4), (4,))


def _lr32(lr: float) -> float:
    return float(np.float32(lr))   # minikeras and Keras keep the learning rate in float32


# --------------------------------------------------------------------------- the formulas
def sgd(w: np.ndarray, gs: list[np.ndarray], kw: dict[str, Any], variant: str = "") -> list:
    lr, mu = _lr32(kw["learning_rate"]), kw["momentum"]
    m, out = np.zeros_like(w), []
    for g in gs:
        if variant == "no_momentum":
            w = w - lr * g
        else:
            step = {"no_lr": g, "dampening": (1 - mu) * lr * g}.get(variant, lr * g)
            m = mu * m - step
            w = w + (mu * m - lr * g if variant == "nesterov" else m)
        out.append(w)
    return out


def rmsprop(w: np.ndarray, gs: list[np.ndarray], kw: dict[str, Any], variant: str = "") -> list:
    lr, rho, eps = _lr32(kw["learning_rate"]), kw["rho"], kw["epsilon"]
    v, out = np.zeros_like(w), []
    for g in gs:
        old = v
        v = rho * v + (g * g if variant == "no_one_minus_rho" else (1 - rho) * g * g)
        vv = old if variant == "stale_v" else v
        if variant == "eps_outside":
            w = w - lr * g / (np.sqrt(vv) + eps)
        elif variant == "no_sqrt":
            w = w - lr * g / (vv + eps)
        else:
            w = w - lr * g / np.sqrt(vv + eps)
        out.append(w)
    return out


def adam(w: np.ndarray, gs: list[np.ndarray], kw: dict[str, Any], variant: str = "") -> list:
    lr, b1, b2, eps = _lr32(kw["learning_rate"]), kw["beta_1"], kw["beta_2"], kw["epsilon"]
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(gs, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        if variant == "paper":
            w = w - lr * (m / c1) / (np.sqrt(v / c2) + eps)
            out.append(w)
            continue
        alpha = {"no_correction": lr, "only_m": lr / c1,
                 "only_v": lr * np.sqrt(c2)}.get(variant, lr * np.sqrt(c2) / c1)
        denom = np.sqrt(v + eps) if variant == "eps_inside" else np.sqrt(v) + eps
        w = w - alpha * m / denom
        out.append(w)
    return out


VARIANTS: dict[str, dict[str, str]] = {
    "sgd_momentum": {
        "nesterov": "this is Nesterov's update (w ← w + μm − lr·g); with nesterov=False Keras "
                    "adds the momentum itself: w ← w + m.",
        "no_lr": "the learning rate is missing from the momentum: m ← μm − lr·g.",
        "no_momentum": "the momentum is ignored: this is plain SGD (m ← μm − lr·g, w ← w + m).",
        "dampening": "a (1 − μ) dampening of the gradient: Keras' m ← μm − lr·g has none."},
    "rmsprop": {
        "eps_outside": "epsilon was added outside the square root; Keras' RMSprop adds it "
                       "inside: lr·g / √(v + ε).",
        "no_one_minus_rho": "v ← ρv + g²: the new g² is weighted by (1 − ρ) in Keras.",
        "stale_v": "the step used v from before this step's update: update v first.",
        "no_sqrt": "the square root is missing: lr·g / √(v + ε)."},
    "adam": {
        "eps_inside": "epsilon was added inside the square root; Keras adds it outside: "
                      "α·m / (√v + ε).",
        "no_correction": "the bias correction is missing: α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ).",
        "paper": "this is the paper's form, ε added to √v̂ after correcting v; Keras folds the "
                 "corrections into α and adds ε to √v: w ← w − α·m / (√v + ε).",
        "only_m": "only m is bias-corrected: α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ) corrects v too.",
        "only_v": "only v is bias-corrected: α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ) corrects m too."},
}


class OptimizerExercise(Exercise):
    stage_titles = ("shapes and dtypes", "float64 formula check", "parity with real Keras",
                    "tutorial model")
    base_name = ""
    formula: Callable[..., list] = staticmethod(sgd)
    configs: list[dict[str, Any]] = []
    tutorial = ""
    hint = ""

    def reference(self) -> Any:
        return getattr(optimizers, self.base_name)

    def tutorial_optimizer(self, fw: Any) -> Any:
        return None   # the tutorial's own

    def _data(self, seed: int, dtype: Any) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
        rng = np.random.default_rng(seed)
        w0 = [rng.uniform(-1, 1, s).astype(dtype) for s in SHAPES]
        grads = []
        for _ in range(STEPS):
            gs = [rng.standard_normal(s) for s in SHAPES]
            gs[0].reshape(-1)[::3] *= 1e-3      # tiny gradients: epsilon's place shows there
            grads.append([g.astype(dtype) for g in gs])
        return w0, grads

    def _run(self, piece: Any, kw: dict[str, Any], w0: list[np.ndarray],
             grads: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        opt = learner(f"{self.symbol}(...)", piece, **kw)
        variables = [Variable(w.copy(), f"dense/{n}") for w, n in zip(w0, ("kernel", "bias"),
                                                                       strict=True)]
        out = []
        for step, gs in enumerate(grads, 1):
            learner(f"update_step (step {step})", opt.apply_gradients,
                    list(zip([g.copy() for g in gs], variables, strict=True)))
            out.append([v.value.copy() for v in variables])
        return out

    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        w0, grads = self._data(0, np.float32)
        after = self._run(piece, self.configs[0], w0, grads[:1])[0]
        for w, a, name in zip(w0, after, ("kernel", "bias"), strict=True):
            check_array(f"the weight '{name}' after one step", a, w.shape, np.float32)
        if all(np.array_equal(w, a) for w, a in zip(w0, after, strict=True)):
            raise FailedStageError("one step changed no weight: update variable.value in place "
                                   "(variable.value -= ..., or variable.value[...] = ...).")
        return ["one step keeps each weight's shape and float32 dtype, and changes it"]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        lines = []
        for i, kw in enumerate(self.configs):
            w0, grads = self._data(i + 1, np.float64)
            got = self._run(piece, kw, w0, grads)
            for j in range(len(SHAPES)):
                message = self._explain(kw, w0[j], [g[j] for g in grads], [s[j] for s in got])
                if message:
                    raise FailedStageError(f"{self.title}: {message} [config: {kw}]")
            lines.append(f"config {i + 1} {kw}: {STEPS} steps match the formula in float64")
        return lines

    def _explain(self, kw: dict[str, Any], w0: np.ndarray, gs: list[np.ndarray],
                 got: list[np.ndarray]) -> str | None:
        truth = self.formula(w0, gs, kw)
        delta = np.stack(got) - w0
        true_delta = np.stack(truth) - w0
        if diagnose.rel_error(delta, true_delta) <= 1e-9:
            return None
        if not np.all(np.isfinite(delta)):
            return "the weights became inf or NaN. " + self.hint
        for variant, message in VARIANTS[self.name].items():
            alt = np.stack(self.formula(w0, gs, kw, variant)) - w0
            if np.all(np.isfinite(alt)) and diagnose.rel_error(delta, alt) <= 1e-9:
                return message
        flat = delta.reshape(STEPS, -1)
        regions = [diagnose.Region(f"from step {k + 1}" if k else "at step 1",
                                   np.broadcast_to(np.arange(STEPS)[:, None] == k, flat.shape))
                   for k in range(STEPS)]
        bad = diagnose.wrong_regions(flat, true_delta.reshape(STEPS, -1), regions, 1e-9)
        first = bad[0].label if bad else "at step 1"
        if first != "at step 1":
            return (f"the update is right at step 1 but wrong {first} on: check the state "
                    f"carried between steps. {self.hint}")
        return diagnose.explain("the update w₁ − w₀", delta[0], true_delta[0], tol=1e-9,
                                hint=self.hint, factors={-1.0: "the wrong sign."})

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        keras = opts.keras
        lines = []
        for i, kw in enumerate(self.configs[:2]):
            w0, grads = self._data(i + 20, np.float32)
            got = np.concatenate([a.ravel() for a in self._run(piece, kw, w0, grads)[-1]])
            ref = np.concatenate([a.ravel() for a in self._run(self.reference(), kw, w0,
                                                               grads)[-1]])
            opt = getattr(keras.optimizers, self.base_name)(**kw)
            kvars = [keras.Variable(w.copy()) for w in w0]
            for gs in grads:
                opt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in gs], kvars,
                                        strict=True))
            k = np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in kvars])
            start = np.concatenate([w.ravel() for w in w0]).astype(np.float64)
            envelope = diagnose.rel_error(ref - start, k - start)
            limit = max(10 * envelope, 1e-6)
            err = diagnose.rel_error(got - start, k - start)
            if err > limit:
                raise FailedStageError(f"{self.title}: after {STEPS} steps the total update "
                                       f"differs from Keras' by {err:.1e} of its size (limit "
                                       f"{limit:.1e}: "
                                       "10x minikeras' own difference, at least 1e-6). Cast "
                                       "constants to the weight's dtype, as Keras does.")
            lines.append(f"config {i + 1}: {STEPS} steps vs Keras (float32) {err:.1e}")
        return lines

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        ok, lines = learner("training the tutorial model", tutorial_models.judge,
                            self.tutorial, {f"optimizers.{self.base_name}": piece},
                            opts.keras, opts.steps, optimizer=self.model_optimizer)
        if not ok:
            raise FailedStageError("the tutorial model drifted away: " + "; ".join(lines))
        return lines

    model_optimizer: Any = None


class SgdMomentumExercise(OptimizerExercise):
    name = "sgd_momentum"
    title = "SGD with momentum"
    difficulty = 1
    teaches = "state that carries over between steps: m ← μm − lr·g, w ← w + m"
    stop = "6. Optimizers, as Keras writes them"
    symbol = "MySGD"
    base_name = "SGD"
    formula = staticmethod(sgd)
    configs = [{"learning_rate": 0.1, "momentum": 0.9},
               {"learning_rate": 0.01, "momentum": 0.5}]
    tutorial = "regression"
    hint = "Check m ← μm − lr·g, then w ← w + m."
    # the regression tutorial's SGD(0.01), with momentum, so that the momentum path trains
    model_optimizer = ("momentum 0.9", lambda fw: fw.optimizers.SGD(learning_rate=0.01,
                                                                    momentum=0.9))

    def skeleton(self) -> str:
        return SGD


class RmspropExercise(OptimizerExercise):
    name = "rmsprop"
    title = "RMSprop"
    difficulty = 2
    teaches = "a running mean of g² and where Keras puts epsilon: lr·g / √(v + ε)"
    stop = "6. Optimizers, as Keras writes them"
    symbol = "MyRMSprop"
    base_name = "RMSprop"
    formula = staticmethod(rmsprop)
    configs = [{"learning_rate": 0.01, "rho": 0.9, "epsilon": 1e-7},
               {"learning_rate": 0.001, "rho": 0.8, "epsilon": 1e-3}]
    tutorial = "mlp"
    hint = "Check v ← ρv + (1 − ρ)g², then w ← w − lr·g / √(v + ε)."

    def skeleton(self) -> str:
        return RMSPROP


class AdamExercise(OptimizerExercise):
    name = "adam"
    title = "Adam"
    difficulty = 2
    teaches = "two moments, bias correction folded into α, and Keras' epsilon outside the root"
    stop = "6. Optimizers, as Keras writes them"
    symbol = "MyAdam"
    base_name = "Adam"
    formula = staticmethod(adam)
    configs = [{"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
               {"learning_rate": 0.001, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}]
    tutorial = "rnn"
    hint = ("Check m ← m + (g − m)(1 − β₁), v ← v + (g² − v)(1 − β₂), t = iterations + 1, "
            "α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), w ← w − α·m / (√v + ε).")

    def skeleton(self) -> str:
        return ADAM


EXERCISES = [SgdMomentumExercise(), RmspropExercise(), AdamExercise()]
