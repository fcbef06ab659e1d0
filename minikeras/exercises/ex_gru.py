"""Exercise ``gru``: a GRU's forward time loop and its BPTT (stop 10), Keras' reset_after=True.

The learner writes both passes, so stage 2 checks forward's output first (against minikeras'
GRU from the same float64 weights) and names the classic slips by what they would output:
the reset gate applied to h_{t-1} before the product with U (the paper's GRU, Keras'
reset_after=False), z_t and 1 - z_t swapped, the recurrent bias b_h left out. The gradients
follow, on the configurations of the other recurrent exercises (``ex_rnn.py``): one step from
given initial states first, where a wrong term stays in its own gate block of dW, dU and the
bias' two rows, and where dL/dh_0 shows the two paths h_{t-1} takes (z_t ⊙ h_{t-1}, and the
gates through U).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from minikeras.exercises import diagnose
from minikeras.exercises.ex_rnn import _RecurrentExercise
from minikeras.exercises.layer_grader import Case
from minikeras.exercises.skeletons_rnn import GRU

#: the three column blocks [z | r | h]: (label, span, what to check there)
BLOCKS = (("update-gate", "0:u", "check dz = dh ⊙ (h_{t−1} − hh_t), then dp_z = z_t(1 − z_t) dz"),
          ("reset-gate", "u:2u", "check dr = dp_h ⊙ m_h (m_h with its bias b_h), then dp_r = "
                                 "r_t(1 − r_t) dr"),
          ("candidate", "2u:3u", "check dp_h = (1 − hh_t²) ⊙ dhh, and dm_h = dp_h ⊙ r_t for U "
                                 "and b_h"))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def gru_output(layer: Any, inputs: list[np.ndarray], slip: str = "") -> np.ndarray:
    """The GRU's first output written out in NumPy, from ``layer``'s weights and config, with
    ``slip`` planted: "" (none), "reset_before" (p_h = xw_h + (r_t ⊙ h_{t−1})·U_h + b_h,h),
    "bias_outside" (p_h = xw_h + r_t ⊙ (h_{t−1}·U_h) + b_h,h), "z_swapped"
    (h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ hh_t), "no_b_h" (m_t = h_{t−1}·U)."""
    x, u = inputs[0], layer.units
    W, U, (b_x, b_h) = (w.value for w in layer.trainable_weights)
    if slip == "no_b_h":
        b_h = np.zeros_like(b_h)
    xs = np.swapaxes(x, 0, 1)[::-1] if layer.go_backwards else np.swapaxes(x, 0, 1)
    h = inputs[1] if len(inputs) > 1 else np.zeros((x.shape[0], u))
    hs = []
    for x_t in xs:
        xw, m = x_t @ W + b_x, h @ U + b_h
        z, r = _sigmoid(xw[:, :u] + m[:, :u]), _sigmoid(xw[:, u:2 * u] + m[:, u:2 * u])
        m_h = {"reset_before": (r * h) @ U[:, 2 * u:] + b_h[2 * u:],
               "bias_outside": r * (h @ U[:, 2 * u:]) + b_h[2 * u:]}.get(slip, r * m[:, 2 * u:])
        hh = np.tanh(xw[:, 2 * u:] + m_h)
        h = (1 - z) * h + z * hh if slip == "z_swapped" else z * h + (1 - z) * hh
        hs.append(h)
    return np.stack(hs, axis=1) if layer.return_sequences else hs[-1]


FORWARD_SLIPS = {
    "reset_before": "the reset gate was applied to h_{t−1} before the product with U "
                    "(the 2014 paper's GRU, Keras' reset_after=False); Keras 3's default "
                    "reset_after=True applies it after: p_h = xw_h + r_t ⊙ m_h, "
                    "m_h = h_{t−1}·U_h + b_h,h.",
    "bias_outside": "r_t multiplies h_{t−1}·U_h but not its bias: with reset_after the whole "
                    "m_h = h_{t−1}·U_h + b_h,h is reset, p_h = xw_h + r_t ⊙ m_h.",
    "z_swapped": "z_t and 1 − z_t are swapped: the update gate keeps the old state, "
                 "h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ hh_t.",
    "no_b_h": "the recurrent bias b_h (bias row 1) is missing: m_t = h_{t−1}·U + b_h; "
              "Keras' GRU has two bias rows, b_x = bias[0] and b_h = bias[1].",
}


class GruExercise(_RecurrentExercise):
    name = "gru"
    title = "GRU forward and BPTT"
    difficulty = 3
    teaches = ("Keras' reset_after=True layout: r_t resets h_{t−1}·U_h + b_h after the "
               "product; h_{t−1} reaches h_t directly and through the gates")
    stop = "10. SimpleRNN and LSTM: backpropagation through time"
    symbol = "MyGRU"
    layer_name = "GRU"
    tutorial = "gru"
    checks_forward = True

    def skeleton(self) -> str:
        return GRU

    def forward_lookalikes(self, case: Case) -> list[diagnose.Lookalike]:
        return [diagnose.Lookalike(gru_output(case.layer, case.inputs, slip), message)
                for slip, message in FORWARD_SLIPS.items()]

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        if what == "dL/dx":
            return [dataclasses.replace(region, hint=hint) for region, hint in zip(
                super().regions(what, case), ("check dp_t and dx_t = dp_t·Wᵀ",
                                              "check what flows back through time: dh_next = "
                                              "dh ⊙ z_t + dm_t·Uᵀ"), strict=False)]
        weights = {"dL/dkernel": case.layer.kernel, "dL/drecurrent_kernel":
                   case.layer.recurrent_kernel, "dL/dbias": case.layer.bias}
        if what not in weights:
            return []
        shape, u = weights[what].shape, case.layer.units
        cols = np.broadcast_to(np.arange(3 * u), shape)
        rows = np.broadcast_to(np.arange(shape[0])[:, None], shape)
        # the bias' two rows are two parameters (b_x, b_h): each block of each row a region
        row_labels = ["row 0 (b_x), ", "row 1 (b_h), "] if what == "dL/dbias" else [""]
        out = []
        for row, row_label in enumerate(row_labels):
            in_row = rows == row if what == "dL/dbias" else np.ones(shape, bool)
            for k, (gate, span, hint) in enumerate(BLOCKS):
                mask = in_row & (cols >= k * u) & (cols < (k + 1) * u)
                out.append(diagnose.Region(f"in {row_label}the {gate} block (columns {span})",
                                           mask, hint, "blocks"))
        return out

    def combos(self, what: str) -> dict[frozenset[str], str]:
        both = "both read dhh: check dhh = dh ⊙ (1 − z_t) (z_t weighs h_{t−1}, 1 − z_t the " \
               "candidate)"
        return {frozenset(f"in {row}the {g} block (columns {s})"
                          for g, s, _ in BLOCKS[1:]): both
                for row in ("", "row 0 (b_x), ", "row 1 (b_h), ")}

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        if what != "dL/dh0" or not case.config.extra.get("states"):
            return []
        # one step from h0, from the reference's cache: the two paths h_0 takes to h_1
        layer, cache, g = case.layer, case.layer.cache[1], case.G[0]
        u = layer.units
        z, r, hh, h0 = cache.z[0], cache.r[0], cache.hh[0], cache.h[0]
        dp_h = (1 - hh * hh) * g * (1 - z)
        dp_z = z * (1 - z) * g * (h0 - hh)
        dp_r = r * (1 - r) * dp_h * cache.m[0][:, 2 * u:]
        through_u = np.concatenate([dp_z, dp_r, dp_h * r], axis=1) @ layer.recurrent_kernel.value.T
        return [diagnose.Lookalike(g * z, "dh_next = dh ⊙ z_t only: h_{t−1} also feeds the "
                                          "three gates, add dm_t·Uᵀ."),
                diagnose.Lookalike(through_u, "dh_next = dm_t·Uᵀ only: h_{t−1} also reaches "
                                              "h_t directly (h_t = z_t ⊙ h_{t−1} + ...), add "
                                              "dh ⊙ z_t.")]

    def hint(self, what: str) -> str:
        return {"dL/dx": "check dx_t = dp_t·Wᵀ",
                "dL/dkernel": "check dW = Σ_t x_tᵀ·dp_t",
                "dL/drecurrent_kernel": "check dU = Σ_t h_{t−1}ᵀ·dm_t, with dm_h = dp_h ⊙ r_t",
                "dL/dbias": "check the two rows: db_x = Σ_t Σ_n dp_t, db_h = Σ_t Σ_n dm_t",
                "dL/dh0": "check dh_next = dh ⊙ z_t + dm_t·Uᵀ, passed on down to t = 1",
                }.get(what, "")


EXERCISES = [GruExercise()]
