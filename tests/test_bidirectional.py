"""Bidirectional: gradient checks for every merge mode, shapes, states, config, errors."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers
from minikeras.utils import check_layer_gradients

RNG = np.random.default_rng(8)
MERGES = ["concat", "sum", "mul", "ave", None]


@pytest.mark.parametrize("merge", MERGES)
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_gradients_every_merge_mode(float64, cls, merge):
    layer = layers.Bidirectional(cls(3, return_sequences=merge in ("concat", None)),
                                 merge_mode=merge)
    report = check_layer_gradients(layer, RNG.standard_normal((2, 4, 2)), max_entries=10)
    assert {"input0", "forward_" + layer.forward_layer.name[8:] + "/kernel"} <= set(report)
    assert any(k.startswith("backward_") for k in report)


@pytest.mark.parametrize("merge", ["concat", None])
def test_gradients_states_in_and_out(float64, merge):
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True, return_state=True),
                                 merge_mode=merge,
                                 backward_layer=layers.LSTM(3, activation="relu",
                                                            return_sequences=True,
                                                            return_state=True,
                                                            go_backwards=True))
    inputs = [RNG.standard_normal((2, 4, 2))] + [RNG.standard_normal((2, 3)) for _ in range(4)]
    report = check_layer_gradients(layer, inputs, max_entries=10)
    assert {f"input{i}" for i in range(5)} <= set(report)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
def test_stateful_gradients_and_state_carry(float64):
    layer = layers.Bidirectional(layers.GRU(3, stateful=True, return_sequences=True),
                                 batch_input_shape=(2, 4, 2))
    x = RNG.standard_normal((2, 4, 2))
    layer.build_for(x.shape)
    check_layer_gradients(layer, x, max_entries=10, before_forward=layer.reset_state)
    layer.reset_state()
    first = layer(x)
    assert len(layer.states) == 2 and not np.allclose(layer.states[0], 0)
    assert not np.allclose(layer(x), first)   # the state carried over
    layer.reset_state()
    np.testing.assert_allclose(layer(x), first)


def test_outputs_are_the_two_layers_merged():
    layer = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True), merge_mode=None)
    x = RNG.standard_normal((2, 5, 4)).astype("float32")
    y, y_rev = layer(x)
    np.testing.assert_allclose(y, layer.forward_layer(x), rtol=1e-6)
    # the backward layer reads from the end; its outputs are flipped back into reading order
    np.testing.assert_allclose(y_rev, layer.backward_layer(x)[:, ::-1], rtol=1e-6)
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    for merge, expected in [("concat", np.concatenate([y, y_rev], -1)), ("sum", y + y_rev),
                            ("mul", y * y_rev), ("ave", (y + y_rev) / 2)]:
        other = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True),
                                     merge_mode=merge)
        other.build_for(x.shape)
        other.set_weights(layer.get_weights())
        np.testing.assert_allclose(other(x), expected, rtol=1e-6)


def test_shapes_weights_and_summary():
    model = mk.Sequential([mk.Input((7, 3)),
                           layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                           layers.Bidirectional(layers.GRU(2), merge_mode="sum"),
                           layers.Dense(1)])
    assert model.layers[0].output_shape == (None, 7, 8)
    assert model.layers[1].output_shape == (None, 2)
    names = [w.name for w in model.layers[0].weights]
    assert names[0].startswith("forward_lstm") and names[3].startswith("backward_lstm")
    assert model.count_params() == 2 * (4 * 4 * (3 + 4 + 1)) + 2 * (3 * 2 * (8 + 2 + 2)) + 3
    model.compile(optimizer="adam", loss="mse")
    x, y = RNG.standard_normal((8, 7, 3)), RNG.standard_normal((8, 1))
    first = model.train_on_batch(x, y)
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last < first


def test_functional_states_and_output_shape():
    inp = mk.Input((5, 2))
    out, h_f, c_f, h_b, c_b = layers.Bidirectional(layers.LSTM(3, return_state=True))(inp)
    assert out.shape == (None, 6) and h_b.shape == (None, 3)
    model = mk.Model(inp, [out, h_f, c_b])
    outs = model.predict(RNG.standard_normal((2, 5, 2)), verbose=0)
    assert [o.shape for o in outs] == [(2, 6), (2, 3), (2, 3)]
    np.testing.assert_allclose(outs[0][:, :3], outs[1], rtol=1e-6)   # y is h_T forwards


def test_config_round_trip_and_save_load(tmp_path):
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="mul")
    config = layer.get_config()
    clone = layers.Bidirectional.from_config(config)
    assert clone.get_config() == config and clone.merge_mode == "mul"
    model = mk.Sequential([mk.Input((4, 2)), layer, layers.Dense(1)])
    x = RNG.standard_normal((3, 4, 2)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = mk.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(tmp_path / "m.weights.h5")
    other = mk.Sequential([mk.Input((4, 2)),
                           layers.Bidirectional(layers.GRU(3, return_sequences=True),
                                                merge_mode="mul"), layers.Dense(1)])
    other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_errors():
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer` instance"):
        layers.Bidirectional("lstm")
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(
            2, go_backwards=True, return_sequences=True))
    layer = layers.Bidirectional(layers.LSTM(2))
    with pytest.raises(ValueError, match="even number"):
        layer(np.ones((1, 3, 2)), initial_state=[np.zeros((1, 2))] * 3)


def test_initial_weights_argument_forward_then_backward():
    source = layers.Bidirectional(layers.SimpleRNN(2))
    source.build_for((None, 3, 4))
    weights = [w + 1 for w in source.get_weights()]
    layer = layers.Bidirectional(layers.SimpleRNN(2), weights=weights)
    layer.build_for((None, 3, 4))
    for got, want in zip(layer.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(layer.backward_layer.get_weights()[0], weights[3])
