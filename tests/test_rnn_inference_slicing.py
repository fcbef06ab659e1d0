"""predict bounds what recurrent layers hold per slice: ``forward_bytes_per_sample`` of the
RNN layers and of TimeDistributed (T inner samples per sample) feed
``Trainer._inference_slice``, and sliced predictions equal whole-batch ones."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers as L


def _hierarchical(cell: type) -> mk.Sequential:
    model = mk.Sequential([mk.Input((6, 5, 1)), L.TimeDistributed(cell(8)), cell(7),
                           L.Dense(3, activation="softmax")])
    model.compile("rmsprop", "categorical_crossentropy")
    return model


@pytest.mark.parametrize("cell,per_step_unit", [(L.SimpleRNN, 3), (L.LSTM, 15), (L.GRU, 13)])
def test_bytes_per_sample_count_steps_units_and_the_wrapper(cell, per_step_unit) -> None:
    model = _hierarchical(cell)
    wrapper, outer = model.layers[0], model.layers[1]
    inner_bytes = 5 * per_step_unit * 8 * 4            # T = 5 rows, 8 units, float32
    assert wrapper.layer.forward_bytes_per_sample() == inner_bytes
    assert wrapper.forward_bytes_per_sample() == 6 * inner_bytes   # 6 rows per image
    assert outer.forward_bytes_per_sample() == 6 * per_step_unit * 7 * 4


@pytest.mark.parametrize("cell", [L.SimpleRNN, L.LSTM, L.GRU])
def test_sliced_predict_equals_whole_batches(cell) -> None:
    model = _hierarchical(cell)
    x = np.random.default_rng(0).standard_normal((20, 6, 5, 1)).astype("float32")
    whole = model.predict(x, batch_size=20, verbose=0)
    model.INFERENCE_PATCH_BYTES = 3 * model.layers[0].forward_bytes_per_sample()
    assert model._inference_slice(20) == 3            # 20 rows in 7 equal slices of <= 3
    sliced = model.predict(x, batch_size=20, verbose=0)
    # rows are independent; BLAS may round a product of fewer rows differently by an ulp
    np.testing.assert_allclose(sliced, whole, rtol=1e-5, atol=1e-6)


def test_unknown_length_or_stateful_models_keep_whole_batches() -> None:
    model = mk.Sequential([mk.Input((None, 2)), L.LSTM(4), L.Dense(1)])
    assert model.layers[0].forward_bytes_per_sample() == 0
    assert model._inference_slice(64) == 64
    stateful = mk.Sequential([mk.Input((5, 2), batch_size=4), L.LSTM(4, stateful=True)])
    stateful.INFERENCE_PATCH_BYTES = 1
    assert stateful._inference_slice(4) == 4
