"""Exercise ``activations``: the derivatives of relu, sigmoid and tanh (docs/inside.md, stop 4).

The learner writes three functions ``relu_derivative(x, y, dy)``, ``sigmoid_derivative``,
``tanh_derivative``, each returning dx = dy ⊙ f'(x) (y = f(x) is given too: sigmoid and
tanh have derivatives that are cheapest in terms of y). Stage 4 swaps them into minikeras'
activation table and trains the tutorial model that uses each: the MLP (relu), the RNN (tanh)
and the stateful LSTM (its gates are sigmoids).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

from minikeras import activations
from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.base import Exercise, FailedStageError, Options, check_array, learner
from minikeras.exercises.layer_grader import EPS

FUNCTIONS = ("relu", "sigmoid", "tanh")
TUTORIAL_OF = {"relu": "mlp", "tanh": "rnn", "sigmoid": "lstm"}

SKELETON = '''\
"""Exercise activations: the derivatives of relu, sigmoid and tanh.   (docs/inside.md, stop 4)

Check your work with:   python -m minikeras.exercises check activations {path}
Stuck? Read minikeras/activations.py: each activation sits next to its derivative.

Each function gets x (the activation's input), y = f(x) (its output, computed in forward)
and dy = dL/dy, all of the same shape (any shape: (N, u), (T, N, 4u)...), and returns
dx = dL/dx = dy ⊙ f'(x), element by element, of that shape and dtype. Write it as one
element-wise expression: the recurrent layers call it once with dy = 1 (a 0-d array that
broadcasts) to get f'(x) itself.
"""


def relu_derivative(x, y, dy):
    """y = max(x, 0).   f'(x) = 1 where x > 0, else 0 (also at x = 0 exactly: Keras' choice)."""
    raise NotImplementedError("relu_derivative: return dy ⊙ f'(x), f'(x) = [x > 0]")


def sigmoid_derivative(x, y, dy):
    """y = σ(x) = 1 / (1 + e^(−x)).   σ'(x) = σ(x)(1 − σ(x)): use y, already computed."""
    raise NotImplementedError("sigmoid_derivative: return dy ⊙ y(1 − y)")


def tanh_derivative(x, y, dy):
    """y = tanh(x).   tanh'(x) = 1 − tanh(x)²: use y."""
    raise NotImplementedError("tanh_derivative: return dy ⊙ (1 − y²)")
'''

HINTS = {"relu": "f'(x) = [x > 0]", "sigmoid": "σ'(x) = y(1 − y) with y = σ(x)",
         "tanh": "tanh'(x) = 1 − y² with y = tanh(x)"}


def _pieces(piece: Any) -> dict[str, Any]:
    """The three functions, from a module, an object with attributes, or a dict."""
    get = piece.get if isinstance(piece, dict) else lambda k: getattr(piece, k, None)
    found = {name: get(f"{name}_derivative") or get(name) for name in FUNCTIONS}
    missing = [f"{n}_derivative" for n, f in found.items() if f is None]
    if missing:
        raise FailedStageError(f"missing function(s): {', '.join(missing)}.")
    return found


def _inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.uniform(-3, 3, shape)
    x.reshape(-1)[::7] = 0.0          # exact zeros: relu's kink, where Keras' f'(0) = 0
    return x


@contextlib.contextmanager
def swapped(pieces: dict[str, Any]) -> Iterator[None]:
    """minikeras' activation table with the learner's derivatives, for a while."""
    saved = dict(activations._TABLE)
    try:
        for name, fn in pieces.items():
            forward, _, logits = saved[name]
            activations._TABLE[name] = (forward, fn, logits)
        yield
    finally:
        activations._TABLE.clear()
        activations._TABLE.update(saved)


class ActivationsExercise(Exercise):
    name = "activations"
    title = "relu, sigmoid and tanh derivatives"
    difficulty = 1
    teaches = "a vector-Jacobian product element by element: dx = dy ⊙ f'(x), from x or y"
    stop = "4. Activations"
    symbol = None            # the file itself: its three functions
    subject = "functions"

    def skeleton(self) -> str:
        return SKELETON

    def reference(self) -> Any:
        return SimpleNamespace(**{f"{n}_derivative": activations._TABLE[n][1]
                                  for n in FUNCTIONS})

    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        fns = _pieces(piece)
        rng = np.random.default_rng(0)
        for name, fn in fns.items():
            x = _inputs(rng, (4, 6)).astype(np.float32)
            y = getattr(activations, name)(x)
            dy = rng.standard_normal(x.shape).astype(np.float32)
            dx = learner(f"{name}_derivative", fn, x, y, dy)
            check_array(f"{name}_derivative(x, y, dy)", dx, x.shape, np.float32)
            one = np.ones((), np.float32)
            d = learner(f"{name}_derivative with dy = 1 (a 0-d array, as the recurrent layers "
                        "call it to get f'(x))", fn, x, y, one)
            if np.broadcast_shapes(np.shape(d), x.shape) != x.shape:
                raise FailedStageError(f"{name}_derivative(x, y, 1) has shape {np.shape(d)}; "
                                       f"it must broadcast to x's {x.shape}.")
        return ["each returns dx shaped like x (4, 6), float32, also for a 0-d dy = 1"]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        fns = _pieces(piece)
        lines = []
        for name, fn in fns.items():
            forward = getattr(activations, name)
            worst = 0.0
            for seed, shape in ((1, (5, 7)), (2, (3, 2, 4))):
                rng = np.random.default_rng(seed)
                x = _inputs(rng, shape)
                y = forward(x)
                dy = rng.standard_normal(shape)
                slope = (forward(x + EPS) - forward(x - EPS)) / (2 * EPS)
                if name == "relu":
                    slope = np.where(x == 0, 0.0, slope)   # Keras: relu'(0) = 0
                truth = dy * slope
                got = learner(f"{name}_derivative", fn, x, y, dy)
                message = diagnose.explain(
                    f"{name}_derivative", got, truth, regions=self._regions(x),
                    lookalikes=self._lookalikes(name, x, y, dy, slope), hint=HINTS[name])
                if message:
                    raise FailedStageError(message)
                worst = max(worst, diagnose.rel_error(np.asarray(got), truth))
            lines.append(f"{name}: largest relative error {worst:.1e} (2 configs)")
        return lines

    def _regions(self, x: np.ndarray) -> list[diagnose.Region]:
        return [diagnose.Region("where x < 0", x < 0), diagnose.Region("where x > 0", x > 0),
                diagnose.Region("at x = 0 exactly", x == 0,
                                "Keras takes f'(0) = 0 for relu: use x > 0, not x >= 0")]

    def _lookalikes(self, name: str, x: np.ndarray, y: np.ndarray, dy: np.ndarray,
                    slope: np.ndarray) -> list[diagnose.Lookalike]:
        looks = [diagnose.Lookalike(slope, "this is f'(x) alone: multiply by dy "
                                           "(dx = dy ⊙ f'(x)).")]
        if name == "sigmoid":
            looks.append(diagnose.Lookalike(dy * x * (1 - x), "x(1 − x) uses the input: σ'(x) "
                                            "= y(1 − y) with the output y = σ(x)."))
            looks.append(diagnose.Lookalike(dy * y, "dy ⊙ y: the factor (1 − y) is missing."))
        if name == "tanh":
            looks.append(diagnose.Lookalike(dy * (1 - x * x), "1 − x² uses the input: "
                                            "tanh'(x) = 1 − y² with the output y = tanh(x)."))
            looks.append(diagnose.Lookalike(dy * (1 - y), "1 − y: the square is missing "
                                            "(tanh'(x) = 1 − y²)."))
        if name == "relu":
            looks.append(diagnose.Lookalike(dy * y, "dy ⊙ y multiplies by the output; relu'(x) "
                                            "is 1 or 0: dy ⊙ [x > 0]."))
        return looks

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        import tensorflow as tf

        fns = _pieces(piece)
        lines = []
        for name, fn in fns.items():
            rng = np.random.default_rng(3)
            x = _inputs(rng, (6, 5)).astype(np.float32)
            dy = rng.standard_normal(x.shape).astype(np.float32)
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                out = getattr(opts.keras.activations, name)(xt)
            truth = np.asarray(tape.gradient(out, xt, output_gradients=tf.constant(dy)),
                               np.float64)
            got = learner(f"{name}_derivative", fn, x, getattr(activations, name)(x), dy)
            err = diagnose.rel_error(np.asarray(got, np.float64), truth)
            if err > 1e-6:
                message = diagnose.explain(f"{name}_derivative", got, truth,
                                           regions=self._regions(x.astype(np.float64)),
                                           tol=1e-6, hint=HINTS[name])
                raise FailedStageError(f"against Keras' gradient of keras.activations.{name}: "
                                       f"{message}")
            lines.append(f"{name}: vs Keras (float32) {err:.1e}")
        return lines

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        fns = _pieces(piece)
        lines = []
        for name, fn in fns.items():
            with swapped({name: fn}):
                ok, more = learner("training the tutorial model", tutorial_models.judge,
                                   TUTORIAL_OF[name], {}, opts.keras, opts.steps)
            if not ok:
                raise FailedStageError(f"with your {name}_derivative the tutorial model drifted "
                                       "away: " + "; ".join(more))
            lines += [f"{name}: {more[0]}"]
        return lines


EXERCISES = [ActivationsExercise()]
