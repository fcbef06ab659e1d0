"""Planted mistakes in the gru exercise (forward and BPTT) are caught with the intended
diagnosis; the typical mistakes are those listed at the top of test_exercise_mistakes.py, for a
GRU: the reset gate applied before the matmul (reset_after=False) or without its bias, z_t and
1 − z_t swapped, the recurrent bias b_h missing, and in backward a missing path of h_{t−1}
(directly to h_t, or through the gates), dhh from z_t, dm_h without r_t, dr without b_h.

The solution is written against the skeleton's contract: RNNBase's ``_cell_forward`` and the
named cache GRUCache of minikeras/layers/gru.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_helpers import assert_caught, grade, mistake

from minikeras import exercises, layers
from minikeras.exercises.ex_gru import gru_output
from minikeras.layers.gru import GRUCache


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


class GRUSolution(layers.GRU):
    mistake = ""

    def _cell_forward(self, x, states0, x_mask, h_mask):
        T, N, _ = x.shape
        u, slip = self.units, self.mistake
        W, U = self.kernel.value, self.recurrent_kernel.value
        b_x, b_h = self.bias.value
        m, p = np.empty((T, N, 3 * u), x.dtype), np.empty((T, N, 3 * u), x.dtype)
        z, r, hh = (np.empty((T, N, u), x.dtype) for _ in range(3))
        h = np.empty((T + 1, N, u), x.dtype)
        h[0] = states0[0]
        for t in range(T):
            xw = x[t] @ W + b_x
            m[t] = h[t] @ U + (0 if slip == "no_b_h" else b_h)
            p[t, :, :2 * u] = xw[:, :2 * u] + m[t, :, :2 * u]
            z[t], r[t] = _sigmoid(p[t, :, :u]), _sigmoid(p[t, :, u:2 * u])
            m_h = {"reset_before": (r[t] * h[t]) @ U[:, 2 * u:] + b_h[2 * u:],
                   "bias_outside": r[t] * (h[t] @ U[:, 2 * u:]) + b_h[2 * u:]}.get(
                slip, r[t] * m[t, :, 2 * u:])
            p[t, :, 2 * u:] = xw[:, 2 * u:] + m_h
            hh[t] = np.tanh(p[t, :, 2 * u:])
            keep = 1 - z[t] if slip == "z_swapped" else z[t]
            h[t + 1] = keep * h[t] + (1 - keep) * hh[t]
        return h[1:], [h[T]], GRUCache(x, m, p, z, r, hh, h, x_mask, h_mask)

    def backward(self, grad_output):
        dY, (dh_next,), cache = self._unpack_output_grads(grad_output)
        u, slip = self.units, self.mistake
        U = self.recurrent_kernel.value
        dp, dm = np.empty_like(cache.p), np.empty_like(cache.m)
        for t in reversed(range(len(cache.p))):
            z, r, hh, h_prev = cache.z[t], cache.r[t], cache.hh[t], cache.h[t]
            dh = dY[t] + dh_next
            dz = dh * (h_prev - hh)
            dhh = dh * (z if slip == "dhh_z" else 1 - z)
            dp_h = (1 - hh * hh) * dhh
            m_h = h_prev @ U[:, 2 * u:] if slip == "dr_no_bias" else cache.m[t, :, 2 * u:]
            dr = dp_h * m_h
            dp[t] = np.concatenate([z * (1 - z) * dz, r * (1 - r) * dr, dp_h], axis=1)
            dm[t] = dp[t]
            if slip != "dm_h_no_r":
                dm[t, :, 2 * u:] *= r
            direct, through_u = dh * z, dm[t] @ U.T
            dh_next = {"no_direct": through_u, "no_through_u": direct,
                       "no_carry": 0 * direct}.get(slip, direct + through_u)
        self.kernel.add_grad(np.einsum("tnd,tnk->dk", cache.x, dp))
        self.recurrent_kernel.add_grad(np.einsum("tnv,tnk->vk", cache.h[:-1], dm))
        db_x, db_h = dp.sum(axis=(0, 1)), dm.sum(axis=(0, 1))
        self.bias.add_grad(np.stack([db_x, db_x if slip == "db_h_from_dp" else db_h]))
        return self._pack_input_grads(dp @ self.kernel.value.T, [dh_next])


def test_the_solution_passes_and_forward_slips_are_named():
    assert grade("gru", GRUSolution).passed
    assert_caught("gru", mistake(GRUSolution, "reset_before"), "GRU: forward: the output",
                  "reset gate was applied to h_{t−1} before the product with U",
                  "[config: one time step from given initial states]")
    assert_caught("gru", mistake(GRUSolution, "bias_outside"), "r_t multiplies h_{t−1}·U_h but "
                  "not its bias")
    assert_caught("gru", mistake(GRUSolution, "z_swapped"), "z_t and 1 − z_t are swapped")
    assert_caught("gru", mistake(GRUSolution, "no_b_h"), "the recurrent bias b_h (bias row 1) "
                  "is missing")


def test_backward_slips_are_located():
    assert_caught("gru", mistake(GRUSolution, "no_direct"), "dL/dh0: dh_next = dm_t·Uᵀ only",
                  "add dh ⊙ z_t")
    assert_caught("gru", mistake(GRUSolution, "no_through_u"), "dL/dh0: dh_next = dh ⊙ z_t only",
                  "add dm_t·Uᵀ")
    assert_caught("gru", mistake(GRUSolution, "no_carry"), "dL/dh0 is all zeros",
                  "check dh_next = dh ⊙ z_t + dm_t·Uᵀ")
    assert_caught("gru", mistake(GRUSolution, "db_h_from_dp"),
                  "dL/dbias is wrong only in row 1 (b_h), the candidate block (columns 2u:3u); "
                  "the other five blocks match")
    assert_caught("gru", mistake(GRUSolution, "dhh_z"),
                  "GRU: dL/dkernel is wrong only in the reset-gate block (columns u:2u) and in "
                  "the candidate block (columns 2u:3u); the rest matches: both read dhh: check "
                  "dhh = dh ⊙ (1 − z_t)")
    assert_caught("gru", mistake(GRUSolution, "dm_h_no_r"),
                  "dL/drecurrent_kernel is wrong only in the candidate block (columns 2u:3u)",
                  "dm_h = dp_h ⊙ r_t")
    assert_caught("gru", mistake(GRUSolution, "dr_no_bias"),
                  "dL/dkernel is wrong only in the reset-gate block (columns u:2u)",
                  "m_h with its bias b_h")


def test_the_written_out_forward_is_minikeras_gru_and_each_slip_changes_it():
    ex = exercises.get("gru")
    for cfg in ex.configs():
        rng = np.random.default_rng(cfg.seed)
        layer = ex.make(layers.GRU, cfg, "float64")
        layer.set_weights(ex._weights(layer, rng))
        xs = ex.make_input(cfg, rng)
        xs = xs if isinstance(xs, list) else [xs]
        y = layer.forward(xs if len(xs) > 1 else xs[0])
        np.testing.assert_allclose(gru_output(layer, xs), y, rtol=1e-12, atol=1e-12)
        for slip in ("reset_before", "bias_outside", "z_swapped", "no_b_h"):
            assert np.abs(gru_output(layer, xs, slip) - y).max() > 1e-3, slip


FORWARD_LOOP = '''\
        for t in range(T):
            xw_t = x[t] @ W + b_x
            m[t] = h[t] @ U + b_h
            p[t, :, :2 * u] = xw_t[:, :2 * u] + m[t, :, :2 * u]
            z[t] = self.recurrent_activation(p[t, :, :u])
            r[t] = self.recurrent_activation(p[t, :, u:2 * u])
            p[t, :, 2 * u:] = xw_t[:, 2 * u:] + r[t] * m[t, :, 2 * u:]
            hh[t] = self.activation(p[t, :, 2 * u:])
            h[t + 1] = z[t] * h[t] + (1 - z[t]) * hh[t]
'''

BACKWARD_LOOP = '''\
        U = self.recurrent_kernel.value
        for t in reversed(range(T)):
            z, r, hh, h_prev = cache.z[t], cache.r[t], cache.hh[t], cache.h[t]
            dh = dY[t] + dh_next
            dz = dh * (h_prev - hh)
            dhh = dh * (1 - z)
            dp_h = (1 - hh * hh) * dhh
            dr = dp_h * cache.m[t, :, 2 * u:]
            dp[t] = xp.concatenate([z * (1 - z) * dz, r * (1 - r) * dr, dp_h], axis=1)
            dm[t] = xp.concatenate([dp[t, :, :2 * u], dp_h * r], axis=1)
            dh_next = dh * z + dm[t] @ U.T
        self.kernel.add_grad(xp.einsum("tnd,tnk->dk", cache.x, dp))
        self.recurrent_kernel.add_grad(xp.einsum("tnv,tnk->vk", cache.h[:-1], dm))
        self.bias.add_grad(xp.stack([dp.sum(axis=(0, 1)), dm.sum(axis=(0, 1))]))
        dx = dp @ self.kernel.value.T
'''


def test_the_skeleton_completed_under_its_own_names_passes(tmp_path):
    import re

    path = exercises.start("gru", tmp_path)
    raises = re.compile(r"        raise NotImplementedError\(.*?\)\n", re.DOTALL)
    text = path.read_text(encoding="utf-8")
    assert len(raises.findall(text)) == 2
    text = raises.sub(lambda _: FORWARD_LOOP, text, count=1)
    path.write_text(raises.sub(lambda _: BACKWARD_LOOP, text, count=1), encoding="utf-8")
    card = grade("gru", exercises.load_piece("gru", path))
    assert card.passed, card.render()


def test_keras_stage_compares_forward_output():
    """Stage 3 checks forward's output against Keras' GRU as well as the gradients (here on a
    slip that stage 2 would have stopped first)."""
    from minikeras.exercises.base import FailedStageError, Options, load_keras, pinned_settings

    keras, reason = load_keras()
    if keras is None:
        pytest.skip(reason)
    ex = exercises.get("gru")
    with pinned_settings():
        lines = ex.stage_keras(GRUSolution, Options(keras))
        assert all(line.split("vs Keras (float32) ")[1].startswith("output ") for line in lines)
        with pytest.raises(FailedStageError, match="against Keras, forward's output differs"):
            ex.stage_keras(mistake(GRUSolution, "z_swapped"), Options(keras))
