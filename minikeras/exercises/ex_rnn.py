"""Exercises ``simple_rnn``, ``lstm``, ``time_distributed`` and ``stateful`` (stops 10, 11, 14).

The first configuration of the two BPTT exercises is a single time step from given initial
states: there no error travels back through time, so a wrong term stays in its own gate
block of dL/dkernel and the diagnosis can name it. The longer sequences that follow catch
what flows between steps (dh_next, dc_next); there dL/dx is located in time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.exercises import diagnose
from minikeras.exercises.layer_grader import Case, Config, LayerExercise
from minikeras.exercises.skeletons_rnn import LSTM, SIMPLE_RNN, TIME_DISTRIBUTED

GATES = (("i", "input-gate", "check di = dc * g_t (then sigma'(z_i) di)"),
         ("f", "forget-gate", "check df = dc * c_{t-1}"),
         ("c", "cell-candidate", "check dg = dc * i_t (then phi'(z_c) dg, 1 − g_t² for tanh)"),
         ("o", "output-gate", "check do = dh * phi(c_t) (then sigma'(z_o) do)"))


def _time_regions(shape: tuple[int, ...], backwards: bool) -> list[diagnose.Region]:
    """dL/dx (N, T, D): the last step processed (the first BPTT visits) and the others."""
    steps = np.arange(shape[1])[None, :, None]
    last = 0 if backwards else shape[1] - 1
    mask = np.broadcast_to(steps == last, shape)
    return [diagnose.Region("at the last time step processed", mask,
                            "check dz_t and dx_t = dz_t·Wᵀ"),
            diagnose.Region("at the earlier time steps", ~mask,
                            "check what flows back through time: dh_next = dz_t·Uᵀ"
                            " (for an LSTM also dc_next = dc ⊙ f_t)")]


class _RecurrentExercise(LayerExercise):
    units = 3
    n_states = 1

    def configs(self) -> list[Config]:
        u = self.units
        return [Config({"units": u}, (2, 1, 3), "one time step from given initial states", 1,
                       {"states": True}),
                Config({"units": u, "return_sequences": True}, (2, 4, 3),
                       "return_sequences, T = 4", 2),
                Config({"units": u + 1, "go_backwards": True}, (3, 5, 2),
                       "go_backwards, last output only, T = 5", 3)]

    def keras_configs(self) -> list[Config]:
        return self.configs()[1:]

    def build_shape(self, config: Config) -> Any:
        n = config.input_shape[0]
        if config.extra.get("states"):
            return [config.input_shape] + [(n, config.kwargs["units"])] * self.n_states
        return config.input_shape

    def make_input(self, config: Config, rng: np.random.Generator) -> Any:
        x = rng.standard_normal(config.input_shape)
        if not config.extra.get("states"):
            return x
        n = config.input_shape[0]
        return [x] + [rng.uniform(-0.8, 0.8, (n, config.kwargs["units"]))
                      for _ in range(self.n_states)]

    def input_names(self, config: Config) -> list[str]:
        if config.extra.get("states"):
            return ["dL/dx", "dL/dh0", "dL/dc0"][:1 + self.n_states]
        return ["dL/dx"]

    def _weights(self, layer: Any, rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.uniform(-0.6, 0.6, w.shape) for w in layer.get_weights()]

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        if what == "dL/dx" and case.x.shape[1] > 1:
            return _time_regions(case.x.shape, case.config.kwargs.get("go_backwards", False))
        return []

    def hint(self, what: str) -> str:
        return {"dL/dx": "check dx_t = dz_t·Wᵀ",
                "dL/dkernel": "check dW = Σ_t x_tᵀ·dz_t",
                "dL/drecurrent_kernel": "check dU = Σ_t h_{t−1}ᵀ·dz_t",
                "dL/dbias": "check db = Σ_t Σ_n dz_t",
                "dL/dh0": "check dh_next = dz_t·Uᵀ, passed on down to t = 1",
                "dL/dc0": "check dc_next = dc ⊙ f_t, passed on down to t = 1"}.get(what, "")


class SimpleRnnExercise(_RecurrentExercise):
    name = "simple_rnn"
    title = "SimpleRNN BPTT"
    difficulty = 2
    teaches = "backpropagation through time: one loop backwards, dh_next = dz_t·Uᵀ"
    stop = "10. SimpleRNN and LSTM: backpropagation through time"
    symbol = "MySimpleRNN"
    layer_name = "SimpleRNN"
    tutorial = "rnn"

    def skeleton(self) -> str:
        return SIMPLE_RNN

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        if not case.config.extra.get("states"):
            return []
        # one step from h0, written out here (independent of the layer's cache)
        layer, (x, h0) = case.layer, case.inputs
        W, U, b = (w.value for w in layer.trainable_weights)
        x0, g = x[:, 0, :], case.G[0]
        h1 = np.tanh(x0 @ W + h0 @ U + b)
        dz, no_f = g * (1 - h1 * h1), "dz = dh ⊙ f'(z_t) (for tanh 1 − h_t²): f' is missing."
        wrong_f = "f'(z_t) is 1 − h_t² for tanh, from the output h_t, not 1 − z_t²."
        z = x0 @ W + h0 @ U + b
        looks = {"dL/dkernel": [(x0.T @ g, no_f), (x0.T @ (g * (1 - z * z)), wrong_f)],
                 "dL/drecurrent_kernel": [
                     (h1.T @ dz, "dU pairs dz_t with h_t; it takes the state that entered "
                                 "the step: Σ_t h_{t−1}ᵀ·dz_t."),
                     (h0.T @ g, no_f)],
                 "dL/dbias": [(g.sum(0), no_f)]}
        return [diagnose.Lookalike(v, m) for v, m in looks.get(what, [])]


class LstmExercise(_RecurrentExercise):
    name = "lstm"
    title = "LSTM BPTT"
    difficulty = 3
    teaches = "four gates in one matrix: which term feeds which block, and two carried states"
    stop = "10. SimpleRNN and LSTM: backpropagation through time"
    symbol = "MyLSTM"
    layer_name = "LSTM"
    tutorial = "lstm"
    n_states = 2

    def skeleton(self) -> str:
        return LSTM

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        u = case.layer.units
        if what in ("dL/dkernel", "dL/drecurrent_kernel", "dL/dbias"):
            shape = case.layer.kernel.shape if what == "dL/dkernel" else (
                case.layer.recurrent_kernel.shape if what == "dL/drecurrent_kernel"
                else (4 * u,))
            cols = np.arange(4 * u)
            out = []
            for k, (_, gate, hint) in enumerate(GATES):
                span = "0:u" if k == 0 else f"{k}u:{k + 1}u" if k > 1 else "u:2u"
                mask = np.broadcast_to((cols >= k * u) & (cols < (k + 1) * u), shape)
                out.append(diagnose.Region(f"in the {gate} block (columns {span})", mask, hint,
                                           "blocks"))
            return out
        return super().regions(what, case)

    def combos(self, what: str) -> dict[frozenset[str], str]:
        labels = [f"in the {g} block (columns {s})" for (_, g, _), s in
                  zip(GATES, ("0:u", "u:2u", "2u:3u"), strict=False)]
        return {frozenset(labels): "all three read dc: check dc = dc_next + phi'(c_t) ⊙ "
                                   "(dh ⊙ o_t)"}


class TimeDistributedExercise(LayerExercise):
    name = "time_distributed"
    title = "TimeDistributed"
    difficulty = 1
    teaches = "shared weights over time: fold time into the batch, and the gradients sum"
    stop = "14. The six tutorial models, and how each computes its gradients"
    symbol = "MyTimeDistributed"
    layer_name = "TimeDistributed"
    tutorial = "lstm"
    inputs_first = True

    def skeleton(self) -> str:
        return TIME_DISTRIBUTED

    def configs(self) -> list[Config]:
        return [Config({"units": 3, "activation": "tanh"}, (2, 4, 5), "Dense(3, tanh), T = 4", 1),
                Config({"units": 1}, (3, 5, 2), "Dense(1), T = 5 (the LSTM tutorial's)", 2)]

    def make(self, cls: Any, config: Config, dtype: str) -> Any:
        from minikeras.layers import Dense

        layer = cls(Dense(**config.kwargs, dtype=dtype), dtype=dtype)
        layer.build_for(config.input_shape)
        return layer

    def keras_layer(self, keras: Any, config: Config) -> Any:
        return keras.layers.TimeDistributed(keras.layers.Dense(**config.kwargs))

    def swaps(self, piece: Any) -> dict[str, Any]:
        return {"layers.TimeDistributed": piece}

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        if what != "dL/dx":
            return []
        return _time_regions(case.x.shape, False)[:1] + [diagnose.Region(
            "at the earlier time steps", np.broadcast_to(
                np.arange(case.x.shape[1])[None, :, None] < case.x.shape[1] - 1, case.x.shape),
            "every step gets its own slice of dy: fold (N, T) -> N·T in that order")]

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        if what != "dL/dx":
            return []
        n, t = case.x.shape[:2]
        dy = case.G[0]
        inner = case.layer.layer
        inner.cache = case.layer.cache[3]
        swapped = dy.transpose(1, 0, 2).reshape(n * t, -1)
        dx = inner.backward(swapped)
        return [diagnose.Lookalike(dx.reshape(t, n, -1).transpose(1, 0, 2),
                                   "dy was folded time-major, (T, N) -> T·N; forward folded "
                                   "(N, T) -> N·T: reshape dy the same way (no transpose)."),
                diagnose.Lookalike(dx.reshape(case.x.shape),
                                   "dy was folded time-major, (T, N) -> T·N, but dx unfolded "
                                   "(N, T): fold as forward did, dy.reshape(N·T, ...).")]

    def factors(self, what: str, case: Case) -> dict[float, str]:
        t = case.x.shape[1]
        return {1 / t: "divided by T: the shared weights' gradient is the SUM over time steps "
                       "(the inner layer already sums over the N·T rows)."}

    def hint(self, what: str) -> str:
        return {"dL/dx": "fold dy to (N·T, ...), self.layer.backward, unfold to x's shape",
                }.get(what, "the inner layer's backward sums over all N·T rows")


EXERCISES = [SimpleRnnExercise(), LstmExercise(), TimeDistributedExercise()]
