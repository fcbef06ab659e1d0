"""Exercises ``softmax_xent`` and ``mse``: a loss' gradient (docs/inside.md, stop 5).

The learner's class subclasses the real loss; ``compute`` (given) returns the per-sample
values and calls the learner's ``gradient``. The model then divides by the number of
entries (Keras' ``sum_over_batch_size``), so ``gradient`` is the per-sample derivative:
stage 2's truth is the finite difference of Σ l (every sample's loss added up).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import losses
from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.base import Exercise, FailedStageError, Options, check_array, learner
from minikeras.exercises.layer_grader import numeric_gradient

XENT_SKELETON = '''\
"""Exercise softmax_xent: the gradient of softmax + cross-entropy, from the logits.
(the tour: docs/inside.md, stop 5)

Check your work with:   python -m minikeras.exercises check softmax_xent {path}
Stuck? Read minikeras/losses.py, class CategoricalCrossentropy.
"""

from minikeras import activations
from minikeras.losses import CategoricalCrossentropy


class MyCategoricalCrossentropy(CategoricalCrossentropy):
    """After a softmax layer the model hands the loss that layer's logits z (its input), and
    the loss differentiates with respect to z: the softmax's Jacobian and the log's 1/p
    cancel into one short formula.

        p = softmax(z)                     along the last axis
        l = −Σ_k y_k · log p_k             one value per sample (per row)

    Shapes: y_true, z, p: (N, K) (or (N, T, K)); l: (N,) (or (N, T)).
    """

    def compute(self, y_true, y_pred, logits=None):
        """Given (the forward pass): returns (l, dl/dz, True) when the logits are known."""
        if logits is None and not self.from_logits:
            return super().compute(y_true, y_pred)        # on probabilities: not this exercise
        z = y_pred if self.from_logits else logits
        log_p = activations.log_softmax(z)
        loss = -(y_true * log_p).sum(axis=-1)
        return loss, self.gradient(y_true, z), not self.from_logits

    def gradient(self, y_true, z):
        """dl/dz for one sample's l (no 1/N: the model divides by the batch afterwards):

            dl/dz = p · Σ_k y_k − y        (= p − y for one-hot targets, whose Σ_k y_k = 1)

        Shape: like z. Hint: derive it: dl/dz_j = Σ_k (−y_k / p_k) · p_k(δ_kj − p_j).
        """
        raise NotImplementedError("gradient: return dl/dz = softmax(z)·Σy − y "
                                  "(p − y for one-hot y)")
'''

MSE_SKELETON = '''\
"""Exercise mse: the gradient of the mean squared error.   (docs/inside.md, stop 5)

Check your work with:   python -m minikeras.exercises check mse {path}
Stuck? Read minikeras/losses.py, class MeanSquaredError.
"""

from minikeras.losses import MeanSquaredError


class MyMeanSquaredError(MeanSquaredError):
    """One value per sample, the mean over the last axis (D entries):

        l = (1/D) Σ_d (ŷ_d − y_d)²

    Shapes: y_true, y_pred: (N, D) (or (N, T, D)); l: (N,) (or (N, T)).
    """

    def compute(self, y_true, y_pred, logits=None):
        """Given (the forward pass): returns (l, dl/dŷ, False)."""
        diff = y_pred - y_true
        loss = (diff * diff).mean(axis=-1)
        return loss, self.gradient(y_true, y_pred), False

    def gradient(self, y_true, y_pred):
        """dl/dŷ for one sample's l (the model divides by the number of samples later):

            dl/dŷ_d = 2 (ŷ_d − y_d) / D

        Shape: like y_pred.
        """
        raise NotImplementedError("gradient: return dl/dŷ = 2(ŷ − y) / D")
'''


class LossExercise(Exercise):
    base_name = ""
    keras_name = ""
    tutorial = ""

    def reference(self) -> Any:
        return getattr(losses, self.base_name)

    def make_case(self, shape: tuple[int, ...], seed: int, soft: bool = False) -> tuple:
        raise NotImplementedError

    def compute(self, piece: Any, y: np.ndarray, z: np.ndarray) -> Any:
        raise NotImplementedError

    def values(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def regions(self, y: np.ndarray) -> list[diagnose.Region]:
        return []

    def lookalikes(self, y: np.ndarray, z: np.ndarray) -> list[diagnose.Lookalike]:
        return []

    def configs(self) -> list[tuple]:
        return [((6, 4), 1, False), ((3, 2, 5), 2, False), ((5, 3), 3, True)]

    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        y, z = self.make_case((6, 4), 0)
        y, z = y.astype(np.float32), z.astype(np.float32)
        out = learner(f"{self.symbol}.compute", self.compute, piece, y, z)
        check_array("the per-sample loss l", out[0], z.shape[:-1], np.float32)
        check_array("dl/d(input), what gradient returns", out[1], z.shape, np.float32)
        return [f"l {z.shape[:-1]} and its gradient {z.shape}, float32"]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        lines = []
        for shape, seed, soft in self.configs():
            y, z = self.make_case(shape, seed, soft)
            truth = numeric_gradient(lambda y=y, z=z: float(self.values(y, z).sum()), z)
            got = learner(f"{self.symbol}.gradient", self.compute, piece, y, z)[1]
            n = int(np.prod(shape[:-1]))
            message = diagnose.explain(
                "the gradient", got, truth, regions=self.regions(y),
                lookalikes=self.lookalikes(y, z), factors={
                    1 / n: f"divided by the number of samples ({n}): the model does that "
                           "afterwards (sum_over_batch_size); return each sample's own dl."})
            if message:
                raise FailedStageError(f"{self.title}: {message} [{self.note(shape, soft)}]")
            lines.append(f"{self.note(shape, soft)}: largest relative error "
                         f"{diagnose.rel_error(np.asarray(got), truth):.1e}")
        return lines

    def note(self, shape: tuple[int, ...], soft: bool) -> str:
        return f"shape {shape}" + (", soft targets" if soft else "")

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        import tensorflow as tf

        lines = []
        for shape, seed, soft in self.configs()[:2]:
            y, z = self.make_case(shape, seed + 10, soft)
            y, z = y.astype(np.float32), z.astype(np.float32)
            zt = tf.constant(z)
            with tf.GradientTape() as tape:
                tape.watch(zt)
                value = self.keras_loss(opts.keras)(tf.constant(y), zt)
            n = int(np.prod(shape[:-1]))
            truth = np.asarray(tape.gradient(value, zt), np.float64) * n
            got = learner(f"{self.symbol}.gradient", self.compute, piece, y, z)[1]
            ref = self.compute(self.reference(), y, z)[1]
            limit = max(10 * diagnose.rel_error(np.asarray(ref, np.float64), truth), 1e-5)
            err = diagnose.rel_error(np.asarray(got, np.float64), truth)
            if err > limit:
                message = diagnose.explain("the gradient", got, truth, tol=limit,
                                           regions=self.regions(y.astype(np.float64)))
                raise FailedStageError(f"{self.title}: against Keras, {message}")
            lines.append(f"shape {shape}: vs Keras' gradient x N (float32) {err:.1e}")
        return lines

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        ok, lines = learner("training the tutorial model", tutorial_models.judge,
                            self.tutorial, {}, opts.keras, opts.steps, loss=piece())
        if not ok:
            raise FailedStageError("the tutorial model drifted away: " + "; ".join(lines))
        return lines


class SoftmaxXentExercise(LossExercise):
    name = "softmax_xent"
    title = "softmax + cross-entropy"
    difficulty = 1
    teaches = "why the softmax's Jacobian and the log cancel: dl/dz = p − y, from the logits"
    stop = "5. Losses, and why softmax + cross-entropy gives p − y"
    symbol = "MyCategoricalCrossentropy"
    base_name = "CategoricalCrossentropy"
    tutorial = "mlp"

    def skeleton(self) -> str:
        return XENT_SKELETON

    def make_case(self, shape: tuple[int, ...], seed: int, soft: bool = False) -> tuple:
        rng = np.random.default_rng(seed)
        z = rng.standard_normal(shape) * 2
        if soft:   # soft targets whose rows do not sum to 1: p·Σy − y, not p − y
            y = rng.uniform(0, 1, shape)
        else:
            y = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
        return y, z

    def compute(self, piece: Any, y: np.ndarray, z: np.ndarray) -> Any:
        return piece(from_logits=True).compute(y, z)

    def values(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return losses.CategoricalCrossentropy(from_logits=True).compute(y, z)[0]

    def keras_loss(self, keras: Any) -> Any:
        return keras.losses.CategoricalCrossentropy(from_logits=True)

    def regions(self, y: np.ndarray) -> list[diagnose.Region]:
        hot = y == y.max(axis=-1, keepdims=True)
        return [diagnose.Region("at the true class", hot, "check the − y term"),
                diagnose.Region("at the other classes", ~hot, "check the p term: "
                                "p = softmax(z)")]

    def lookalikes(self, y: np.ndarray, z: np.ndarray) -> list[diagnose.Lookalike]:
        from minikeras import activations

        p = activations.softmax(z)
        return [diagnose.Lookalike(p - y, "p − y holds only when each row of y sums to 1; "
                                          "in general dl/dz = p·Σy − y."),
                diagnose.Lookalike(-y / p, "−y/p is dl/dp, the gradient with respect to the "
                                           "probabilities; go on through the softmax to z.")]


class MseExercise(LossExercise):
    name = "mse"
    title = "mean squared error"
    difficulty = 1
    teaches = "a loss' derivative and its mean over the last axis: 2(ŷ − y)/D"
    stop = "5. Losses, and why softmax + cross-entropy gives p − y"
    symbol = "MyMeanSquaredError"
    base_name = "MeanSquaredError"
    tutorial = "regression"

    def skeleton(self) -> str:
        return MSE_SKELETON

    def make_case(self, shape: tuple[int, ...], seed: int, soft: bool = False) -> tuple:
        rng = np.random.default_rng(seed)
        return rng.standard_normal(shape), rng.standard_normal(shape)

    def configs(self) -> list[tuple]:
        return [((6, 4), 1, False), ((3, 2, 5), 2, False), ((5, 1), 3, False)]

    def compute(self, piece: Any, y: np.ndarray, z: np.ndarray) -> Any:
        return piece().compute(y, z)

    def values(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return losses.MeanSquaredError().compute(y, z)[0]

    def keras_loss(self, keras: Any) -> Any:
        return keras.losses.MeanSquaredError()

    def lookalikes(self, y: np.ndarray, z: np.ndarray) -> list[diagnose.Lookalike]:
        d = z.shape[-1]
        if d == 1:
            return []
        return [diagnose.Lookalike(2 * (z - y), "2(ŷ − y) without the 1/D of the mean over "
                                                 f"the last axis (D = {d})."),
                diagnose.Lookalike((z - y) / d, "(ŷ − y)/D: the 2 of the square's derivative "
                                                "is missing.")]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        return super().stage_float64(piece, opts)


EXERCISES = [SoftmaxXentExercise(), MseExercise()]
