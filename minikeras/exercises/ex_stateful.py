"""Exercise ``stateful``: an LSTM's state carried from one batch to the next (stop 11).

The truth needs no stateful code at all: three consecutive batches of a stateful layer must
give what one plain LSTM gives on the three batches joined into one long sequence. A
mismatch is compared with what the typical slips compute (a start from zeros, h carried
without c, h and c swapped, a reset that does not zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.base import Exercise, FailedStageError, Options, check_array, learner
from minikeras.exercises.skeletons_rnn import STATEFUL
from minikeras.layers import LSTM

N, T, D, UNITS = 3, 4, 2, 3


def run_from_states(layer: Any, x: Any, states: list[Any], training: bool = False) -> tuple:
    """LSTM.forward from the given [h_0, c_0]: (outputs, h_T, c_T). Stores nothing."""
    if x.shape[0] != layer.batch_size:
        raise ValueError(f"Layer '{layer.name}' is stateful with batch size "
                         f"{layer.batch_size}, but received a batch of {x.shape[0]} samples.")
    saved = layer.stateful, layer.return_state
    layer.stateful, layer.return_state = False, True
    try:
        out, h_T, c_T = LSTM.forward(layer, [x, *states], training)
    finally:
        layer.stateful, layer.return_state = saved
    return out, h_T, c_T


def backward_within_batch(layer: Any, grad_output: Any) -> Any:
    """LSTM.backward of the last forward; the gradients of the start states are dropped:
    no gradient crosses a batch boundary."""
    grads = LSTM.backward(layer, grad_output)
    return grads[0]


class StatefulExercise(Exercise):
    name = "stateful"
    title = "stateful carry-over between batches"
    difficulty = 2
    teaches = "where a batch starts: the state the previous batch ended with, or zeros"
    stop = "11. Stateful state"
    symbol = "MyStatefulLSTM"
    stage_titles = ("shapes and dtypes", "float64 carry-over check", "parity with real Keras",
                    "tutorial model")

    def skeleton(self) -> str:
        return STATEFUL

    def reference(self) -> Any:
        return LSTM

    def _make(self, cls: Any, dtype: str, seed: int) -> tuple[Any, list[np.ndarray]]:
        layer = learner("the layer's constructor", cls, UNITS, return_sequences=True,
                        stateful=True, dtype=dtype)
        layer.build_for((N, T, D))
        rng = np.random.default_rng(seed)
        weights = [rng.uniform(-0.6, 0.6, w.shape).astype(dtype) for w in layer.get_weights()]
        layer.set_weights(weights)
        return layer, weights

    def _batches(self, seed: int, dtype: Any) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [rng.standard_normal((N, T, D)).astype(dtype) for _ in range(3)]

    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        layer, _ = self._make(piece, "float32", 0)
        b = self._batches(0, np.float32)
        learner("reset_state", layer.reset_state)
        for k, s in enumerate(layer.states or []):
            check_array(f"self.states[{k}] after reset_state", s, (N, UNITS), np.float32)
        out = learner("forward", layer.forward, b[0])
        check_array("forward's output", out, (N, T, UNITS), np.float32)
        if not isinstance(layer.states, list | tuple) or len(layer.states) != 2:
            raise FailedStageError("after a batch, self.states must be a list [h, c].")
        for k, s in enumerate(layer.states):
            check_array(f"self.states[{k}] after a batch", s, (N, UNITS), np.float32)
        dx = learner("backward", layer.backward, np.ones_like(out))
        check_array("backward's dL/dx", dx, (N, T, D), np.float32)
        return ["outputs (3, 4, 3), states [h, c] (3, 3) each, float32"]

    def _truth(self, weights: list[np.ndarray], batches: list[np.ndarray],
               states: list[np.ndarray] | None = None) -> list[np.ndarray]:
        """Outputs of one plain LSTM over the joined batches, cut back into batches."""
        ref = LSTM(UNITS, return_sequences=True, dtype=str(batches[0].dtype))
        x = np.concatenate(batches, axis=1)
        if states is None:
            ref.build_for(x.shape)
            ref.set_weights(weights)
            out = ref.forward(x)
        else:
            ref.build_for([x.shape, (N, UNITS), (N, UNITS)])
            ref.set_weights(weights)
            out = ref.forward([x, *states])
        return [out[:, k * T:(k + 1) * T] for k in range(len(batches))]

    def _final(self, weights: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
        ref = LSTM(UNITS, return_state=True, dtype=str(x.dtype))
        ref.build_for(x.shape)
        ref.set_weights(weights)
        return ref.forward(x)[1:]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        layer, weights = self._make(piece, "float64", 1)
        batches = self._batches(1, np.float64)
        truth = self._truth(weights, batches)
        learner("reset_state", layer.reset_state)
        got = [learner(f"forward (batch {k + 1})", layer.forward, b)
               for k, b in enumerate(batches)]
        err = [diagnose.rel_error(np.asarray(g, np.float64), t) for g, t in zip(got, truth,
                                                                               strict=True)]
        if err[0] > 1e-9:
            raise FailedStageError("batch 1, right after reset_state, does not start from zeros: "
                                   "reset_state must set h and c to zeros.")
        if err[1] > 1e-9:
            h, c = self._final(weights, batches[0])
            zero = np.zeros_like(h)
            looks = [([zero, zero], "batch 2 started from zeros: the state was not carried "
                                    "over (batch_start_states returns self.states; carry_over "
                                    "stores [h_T, c_T])."),
                     ([h, zero], "only h was carried over: an LSTM carries h and c."),
                     ([zero, c], "only c was carried over: an LSTM carries h and c."),
                     ([c, h], "h and c were swapped: self.states is [h, c], in that order.")]
            for states, message in looks:
                alt = self._truth(weights, [batches[1]], states)[0]
                if diagnose.rel_error(np.asarray(got[1], np.float64), alt) <= 1e-9:
                    raise FailedStageError(f"stateful LSTM: {message}")
            raise FailedStageError("stateful LSTM: batch 2 does not continue where batch 1 ended "
                                   f"(largest error {err[1]:.1e}).")
        if err[2] > 1e-9:
            raise FailedStageError("batches 1 and 2 are right but batch 3 is not: the stored state "
                                   "changed after it was stored (store copies).")
        learner("reset_state", layer.reset_state)
        again = learner("forward after reset_state", layer.forward, batches[0])
        if diagnose.rel_error(np.asarray(again, np.float64), truth[0]) > 1e-9:
            raise FailedStageError("after reset_state the layer did not start from zeros: "
                                   "reset_state must set h and c to zeros.")
        return ["3 consecutive batches equal one LSTM over the joined sequence (float64)",
                "reset_state starts again from zeros"]

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        keras = opts.keras
        layer, weights = self._make(piece, "float32", 2)
        batches = self._batches(2, np.float32)
        ref, _ = self._make(LSTM, "float32", 2)
        k = keras.layers.LSTM(UNITS, return_sequences=True, stateful=True)
        k.build((N, T, D))
        k.set_weights(weights)
        learner("reset_state", layer.reset_state)
        lines = []
        for i, b in enumerate(batches):
            truth = np.asarray(k(b), np.float64)
            got = learner("forward", layer.forward, b)
            limit = max(10 * diagnose.rel_error(np.asarray(ref.forward(b), np.float64), truth),
                        1e-5)
            err = diagnose.rel_error(np.asarray(got, np.float64), truth)
            if err > limit:
                raise FailedStageError(f"batch {i + 1}: outputs differ from Keras' stateful LSTM "
                                       f"by {err:.1e} (limit {limit:.1e}).")
            lines.append(f"batch {i + 1}: vs Keras (float32) {err:.1e}")
        return lines

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        ok, lines = learner("training the tutorial model", tutorial_models.judge, "lstm",
                            {"layers.LSTM": piece}, opts.keras, opts.steps)
        if not ok:
            raise FailedStageError("the tutorial model drifted away: " + "; ".join(lines))
        return lines


EXERCISES = [StatefulExercise()]
