"""SimpleRNN, LSTM, GRU: gradient checks through time, shapes, state handling, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from minikeras import activations, layers
from minikeras.utils import check_layer_gradients

CLASSES = [layers.SimpleRNN, layers.LSTM, layers.GRU]
RNG = np.random.default_rng(0)
# batch_input_shape= on a layer warns (prefer Input(batch_shape=)); these tests use it on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")


def _x(n: int = 3, t: int = 4, d: int = 2) -> np.ndarray:
    return RNG.standard_normal((n, t, d))


# ------------------------------------------------------------------ gradients (float64)
# a sampled grid over (T, return_sequences, go_backwards, return_state, initial_state)
GRID = [
    (1, False, False, False, False),
    (4, True, False, False, False),
    (5, False, True, True, False),
    (3, True, True, False, True),
    (6, True, False, True, True),
    (2, False, False, True, True),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("t,seqs,back,state,init", GRID)
def test_gradients_through_time(float64, cls, t, seqs, back, state, init):
    layer = cls(3, return_sequences=seqs, go_backwards=back, return_state=state)
    x = _x(2, t, 2)
    inputs = [x] + [RNG.standard_normal((2, 3)) for _ in layer.state_names] if init else x
    report = check_layer_gradients(layer, inputs, max_entries=15)
    assert set(report) >= {"input0", f"{layer.name}/kernel", f"{layer.name}/recurrent_kernel"}
    if init:
        assert {f"input{i + 1}" for i in range(len(layer.state_names))} <= set(report)


@pytest.mark.parametrize("cls", CLASSES)
def test_gradients_other_activations_no_bias(float64, cls):
    kw = {"recurrent_activation": "hard_sigmoid"} if cls is not layers.SimpleRNN else {}
    layer = cls(3, activation="relu" if cls is layers.SimpleRNN else "softsign",
                use_bias=False, return_sequences=True, **kw)
    check_layer_gradients(layer, _x(2, 3, 2) + 0.1, max_entries=15)
    assert len(layer.weights) == 2


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "elu", "softmax"])
@pytest.mark.parametrize("cls", CLASSES)
def test_gradients_each_activation_kind(float64, cls, activation):
    """Element-wise activations take the precomputed-f' path of BPTT; softmax (a Jacobian,
    not a factor) the per-step one; linear's derivative is a constant."""
    layer = cls(3, activation=activation, return_sequences=True)
    check_layer_gradients(layer, _x(2, 4, 2), max_entries=12)


@pytest.mark.parametrize("cls", CLASSES)
def test_stateful_gradients(float64, cls):
    layer = cls(3, stateful=True, return_sequences=True, batch_input_shape=(2, 4, 2))
    x = _x(2, 4, 2)
    layer.build_for(x.shape)
    check_layer_gradients(layer, x, max_entries=15, before_forward=layer.reset_state)


def test_return_state_with_missing_gradients(float64):
    """A returned state nobody uses gets None as its gradient."""
    layer = layers.LSTM(3, return_state=True, return_sequences=True)
    x = _x(2, 4, 2)
    out, h, c = layer(x)
    dy = RNG.standard_normal(out.shape)
    dx_a = layer.backward([dy, None, None])
    layer(x)
    dx_b = layer.backward([dy, np.zeros_like(h), np.zeros_like(c)])
    np.testing.assert_allclose(dx_a, dx_b)


# ------------------------------------------------------------------ forward semantics
def _numpy_lstm(x, W, U, b, h, c):
    u = h.shape[1]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ W + h @ U + b
        i, f, g, o = sig(z[:, :u]), sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sig(
            z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), h, c


def test_lstm_weights_and_forward_match_numpy(float64):
    layer = layers.LSTM(5, return_sequences=True, return_state=True)
    x = _x(3, 6, 4)
    seq, h, c = layer(x)
    W, U, b = layer.get_weights()
    assert W.shape == (4, 20) and U.shape == (5, 20) and b.shape == (20,)
    np.testing.assert_array_equal(b, [0] * 5 + [1] * 5 + [0] * 10)      # unit_forget_bias
    np.testing.assert_allclose(U @ U.T, np.eye(5), atol=1e-12)          # orthogonal rows
    ref = _numpy_lstm(x, W, U, b, np.zeros((3, 5)), np.zeros((3, 5)))
    for a, r in zip((seq, h, c), ref, strict=True):
        np.testing.assert_allclose(a, r, atol=1e-12)


def test_go_backwards_returns_processing_order(float64):
    layer = layers.SimpleRNN(3, return_sequences=True)
    back = layers.SimpleRNN(3, return_sequences=True, go_backwards=True)
    x = _x(2, 5, 2)
    layer.build_for(x.shape)
    back.build_for(x.shape)
    back.set_weights(layer.get_weights())
    np.testing.assert_allclose(back(x), layer(x[:, ::-1]))


def test_initial_state_keyword_equals_list_call(float64):
    layer = layers.GRU(3)
    x, h0 = _x(2, 4, 2), RNG.standard_normal((2, 3))
    np.testing.assert_allclose(layer(x, initial_state=[h0]), layer([x, h0]))
    assert not np.allclose(layer(x), layer([x, h0]))


@pytest.mark.parametrize("cls", CLASSES)
def test_output_shapes_and_float32(cls):
    layer = cls(7, return_sequences=True, return_state=True)
    shapes = layer.compute_output_shape((None, 5, 3))
    assert shapes[0] == (None, 5, 7) and all(s == (None, 7) for s in shapes[1:])
    outs = layer(np.ones((2, 5, 3)))
    assert [o.shape for o in outs] == [(2, 5, 7)] + [(2, 7)] * len(layer.state_names)
    assert outs[0].dtype == np.float32
    assert cls(7).compute_output_shape((4, 5, 3)) == (4, 7)
    assert layer.name == {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[cls.__name__]


def test_gru_weight_shapes():
    layer = layers.GRU(4)
    layer.build_for((None, 3, 2))
    assert [w.shape for w in layer.get_weights()] == [(2, 12), (4, 12), (2, 12)]


# ------------------------------------------------------------------ stateful
@pytest.mark.parametrize("cls", CLASSES)
def test_stateful_carries_state_and_resets(cls):
    layer = cls(4, stateful=True, batch_input_shape=(2, 3, 2))
    x = _x(2, 3, 2).astype("float32")
    first = layer(x)
    second = layer(x)
    assert not np.allclose(first, second)                  # the state carried over
    assert len(layer.weights) == 3 and len(layer.states) == len(layer.state_names)
    # the carried state is what an explicit initial state would give
    fresh = cls(4)
    fresh.build_for(x.shape)
    fresh.set_weights(layer.get_weights())
    layer.reset_state()
    a = layer(x)
    np.testing.assert_allclose(a, first)
    states = [s.copy() for s in layer.states]
    np.testing.assert_allclose(layer(x), fresh([x, *states]), atol=1e-6)
    layer.reset_states()
    assert all(not s.any() for s in layer.states)
    layer.reset_state([np.ones((2, 4))] * len(layer.state_names))
    assert all((s == 1).all() for s in layer.states)


def test_stateful_wrong_batch_size_and_unknown_batch():
    layer = layers.LSTM(4, stateful=True, batch_input_shape=(2, 3, 2))
    layer(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="batch size 2"):
        layer(np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="static"):
        layers.SimpleRNN(4, stateful=True).build_for((None, 3, 2))
    built = layers.SimpleRNN(4, stateful=True)
    built.build_for((5, 3, 2))                               # batch known from the shape
    assert built.states[0].shape == (5, 4)


def test_stateful_backward_has_no_gradient_into_stored_state(float64):
    layer = layers.SimpleRNN(3, stateful=True, batch_input_shape=(2, 4, 2))
    x = _x(2, 4, 2)
    layer(x)
    y = layer(x)
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape                                # a single array, no state grad


# ------------------------------------------------------------------ errors and config
def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="ndim=3"):
        layers.LSTM(3, name="enc")(np.ones((2, 3)))
    layer = layers.SimpleRNN(3, name="rnn")
    layer(np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="rnn"):
        layer(np.ones((2, 4, 6)))
    with pytest.raises(ValueError, match="initial state"):
        layer([np.ones((2, 4, 5)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)


def test_get_config_round_trip():
    layer = layers.LSTM(6, return_sequences=True, go_backwards=True, unit_forget_bias=False)
    config = layer.get_config()
    assert config["units"] == 6 and config["recurrent_activation"] == "sigmoid"
    clone = layers.LSTM.from_config(config)
    assert clone.get_config() == config
    gru = layers.GRU.from_config(layers.GRU(2, stateful=True).get_config())
    assert gru.stateful and gru.reset_after


def test_unroll_has_no_effect(float64):
    a, b = layers.SimpleRNN(3), layers.SimpleRNN(3, unroll=True)
    x = _x()
    a.build_for(x.shape)
    b.build_for(x.shape)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x), b(x))


@pytest.mark.parametrize("first", ["Input(batch_shape)", "Input(batch_size)", "InputLayer",
                                   "batch_input_shape"])
def test_stateful_batch_size_from_every_model_spelling(first):
    import minikeras

    B, T, D = 3, 4, 2
    head = {"Input(batch_shape)": lambda: [minikeras.Input(batch_shape=(B, T, D))],
            "Input(batch_size)": lambda: [minikeras.Input((T, D), batch_size=B)],
            "InputLayer": lambda: [layers.InputLayer(batch_input_shape=(B, T, D))],
            "batch_input_shape": lambda: []}[first]()
    kw = {"batch_input_shape": (B, T, D)} if not head else {}
    model = minikeras.Sequential([*head, layers.LSTM(5, stateful=True, **kw), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = _x(B, T, D).astype("float32")
    a = model.predict(x, verbose=0)
    assert not np.allclose(a, model.predict(x, verbose=0))   # state carried across calls
    model.reset_states()
    np.testing.assert_allclose(model.predict(x, verbose=0), a, rtol=1e-6)
    with pytest.raises(ValueError, match=f"batch size {B}"):
        model.predict(_x(B + 1, T, D), batch_size=B + 1, verbose=0)
    with pytest.raises(ValueError, match="static"):
        minikeras.Sequential([minikeras.Input((T, D)), layers.LSTM(5, stateful=True)])


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_saturated_sigmoid_gates_give_zero_without_a_warning(cls):
    """The cells' in-place sigmoid computes exp(-z) without a guard of its own: the layer
    enters ``backend.overflow_to_inf()`` once per call. exp(-z) overflows for z < -88.7
    (float32); the gate is then exactly 0, and no NumPy RuntimeWarning reaches the user."""
    kwargs = {"activation": "sigmoid"} if cls is layers.SimpleRNN else {}
    layer = cls(3, return_sequences=True, kernel_initializer="ones",
                recurrent_initializer="zeros", **kwargs)
    x = np.full((2, 4, 1), -1e4, dtype=np.float32)   # every pre-activation is -1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = np.asarray(layer(x))
    assert np.isfinite(y).all()
    if cls is layers.SimpleRNN:
        assert (y == 0).all()          # sigmoid(-1e4) = 0 exactly
    if cls is layers.LSTM:             # i = f = o = 0: c_t = 0, h_t = 0
        assert (y == 0).all()
    # outside a layer call the in-place form is unguarded: NumPy's warning shows (it is
    # only ever called inside one; this pins down where the guard lives)
    sigmoid = activations.get("sigmoid")
    with pytest.warns(RuntimeWarning, match="overflow"):
        sigmoid.forward(np.array([-1e4], dtype=np.float32), out=np.empty(1, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert activations.sigmoid(np.array([-1e4], dtype=np.float32))[0] == 0
