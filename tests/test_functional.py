"""Functional API: graph walking, gradients through fan-out/merges/shared layers, errors."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers as L
from minikeras.utils import check_layer_gradients


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_fan_out_and_merges_gradients(float64):
    a, b = mk.Input((4,), name="a"), mk.Input((4,), name="b")
    h = L.Dense(5, activation="tanh")(a)            # h feeds four layers below (fan-out)
    g = L.Dense(5, activation="sigmoid")(b)
    merged = [L.Add()([h, g]), L.Subtract()([h, g]), L.Multiply()([h, g, h]),
              L.Average()([h, g]), L.Maximum()([h, g]), L.Minimum()([h, g])]
    cat = L.Concatenate()(merged)
    out1 = L.Dense(3)(cat)
    out2 = L.Dense(2, activation="tanh")(h)
    model = mk.Model([a, b], [out1, out2])
    x = [_rng().standard_normal((6, 4)), _rng().standard_normal((6, 4)) + 0.3]
    report = check_layer_gradients(model, x)
    assert "input0" in report and "input1" in report


def test_shared_layer_and_nested_model_gradients(float64):
    inner = mk.Sequential([mk.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(3)])
    a, b = mk.Input((3,)), mk.Input((3,))
    shared = L.Dense(3, activation="tanh")
    ya, yb = shared(a), shared(b)                   # one layer, two calls
    za, zb = inner(ya), inner(yb)                   # a nested model, called twice
    out = L.Concatenate()([za, zb, shared(zb)])     # and the shared layer a third time
    model = mk.Model(inputs=[a, b], outputs=out)
    assert len(model.trainable_weights) == 6
    check_layer_gradients(model, [_rng().standard_normal((5, 3)),
                                  _rng().standard_normal((5, 3))])


def test_rnn_initial_state_and_return_state_gradients(float64):
    seq, ctx = mk.Input((5, 2)), mk.Input((3,))
    h0 = L.Dense(4, activation="tanh")(ctx)
    c0 = L.Dense(4)(ctx)
    y, h, c = L.LSTM(4, return_sequences=True, return_state=True)(seq, initial_state=[h0, c0])
    out = L.Concatenate()([L.Flatten()(y), h])       # c is returned but unused downstream
    model = mk.Model([seq, ctx], [out, c])
    check_layer_gradients(model, [_rng().standard_normal((3, 5, 2)),
                                  _rng().standard_normal((3, 3))])


def _measured_graph():
    """Two inputs through a nested Sequential, a shared Dense, Add and Concatenate, two
    outputs: the graph whose layer order and summary were measured in Keras 3.15.1."""
    enc = mk.Sequential([mk.Input((4,)), L.Dense(3)], name="enc")
    a, b = mk.Input((4,), name="a"), mk.Input((4,), name="b")
    ea, eb = enc(a), enc(b)
    d = L.Dense(3, name="shared")
    s = L.Add()([d(ea), d(eb)])
    c = L.Concatenate()([ea, s])
    return mk.Model([a, b], [L.Dense(2, activation="softmax", name="cls")(c),
                             L.Dense(1, name="reg")(s)])


def test_layer_order_matches_keras():
    # measured in Keras 3.15.1 for this graph: a, b, enc, shared, add, concatenate, cls, reg
    m = _measured_graph()
    assert [la.name for la in m.layers] == ["a", "b", "enc", "shared", "add", "concatenate",
                                            "cls", "reg"]
    assert m.output_names == ["cls", "reg"]


def _two_output_model():
    inp = mk.Input((4,), name="x")
    h = L.Dense(8, activation="relu")(inp)
    cls = L.Dense(3, activation="softmax", name="cls")(h)
    reg = L.Dense(1, name="reg")(h)
    return mk.Model(inp, {"cls": cls, "reg": reg})


def test_multi_output_training_matches_manual_sum():
    rng = _rng()
    x = rng.random((16, 4)).astype("float32")
    y = {"cls": np.eye(3)[rng.integers(0, 3, 16)], "reg": rng.random((16, 1))}
    model = _two_output_model()
    model.compile("sgd", {"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5})
    logs = model.test_on_batch(x, y, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert set(pred) == {"cls", "reg"}
    ce = -np.mean(np.sum(y["cls"] * np.log(pred["cls"]), axis=-1))
    mse = np.mean((pred["reg"] - y["reg"]) ** 2)
    np.testing.assert_allclose(logs["loss"], ce + 0.5 * mse, rtol=1e-5)
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(),
                                                        strict=True))


def test_functional_equals_sequential_step():
    """Same weights, same batch: a functional chain and a Sequential take the same step."""
    rng = _rng()
    x = rng.random((32, 6)).astype("float32")
    y = np.eye(4)[rng.integers(0, 4, 32)]
    seq = mk.Sequential([mk.Input((6,)), L.Dense(5, activation="relu"),
                         L.Dense(4, activation="softmax")])
    inp = mk.Input((6,))
    fun = mk.Model(inp, L.Dense(4, activation="softmax")(L.Dense(5, activation="relu")(inp)))
    fun.set_weights(seq.get_weights())
    for m in (seq, fun):
        m.compile(mk.optimizers.Adam(), "categorical_crossentropy", metrics=["accuracy"])
    for _ in range(3):
        assert seq.train_on_batch(x, y) == fun.train_on_batch(x, y)
    for a, b in zip(seq.get_weights(), fun.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_autoencoder_pair_shares_weights():
    inp = mk.Input((20,))
    h = L.Dense(8, activation="relu")(inp)
    code = L.Dense(2)(h)
    out = L.Dense(20, activation="tanh")(L.Dense(8, activation="relu")(code))
    auto, enc = mk.Model(inp, out), mk.Model(inp, code)
    assert enc.layers[1] is auto.layers[1]
    x = _rng().random((64, 20)).astype("float32")
    before = enc.predict(x, verbose=0)
    auto.compile("adam", "mse")
    auto.fit(x, x, batch_size=16, epochs=2, verbose=0)
    after = enc.predict(x, verbose=0)
    assert np.abs(after - before).max() > 1e-3
    manual = x
    for w, b in zip(auto.get_weights()[0:4:2], auto.get_weights()[1:4:2], strict=True):
        manual = manual @ w + b
        if w.shape[1] != 2:
            manual = np.maximum(manual, 0)
    np.testing.assert_allclose(after, manual, rtol=1e-5, atol=1e-6)


def test_errors_are_clear():
    inp = mk.Input((3,))
    out = L.Dense(2)(inp)
    with pytest.raises(TypeError, match="symbolic tensor"):
        mk.Model(np.zeros((1, 3)), out)
    with pytest.raises(ValueError, match="Graph disconnected|not connected"):
        mk.Model(inp, L.Dense(2)(mk.Input((3,))))
    model = mk.Model(inp, out)
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="symbolic"):
        model.predict(inp)
    with pytest.raises(TypeError, match="symbolic|data"):
        L.Add()([inp, np.zeros((1, 3))])
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(np.zeros((2, 4)), verbose=0)


def test_keras2_input_output_keywords_warn():
    inp = mk.Input((3,))
    out = L.Dense(2)(inp)
    with pytest.warns(DeprecationWarning, match="inputs"):
        model = mk.Model(input=inp, output=out)
    assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 2)


def test_training_kwarg_and_dict_inputs():
    a, b = mk.Input((3,), name="a"), mk.Input((3,), name="b")
    drop = L.Dropout(0.5)(a, training=True)      # always on, even in predict (Keras too)
    model = mk.Model({"a": a, "b": b}, L.Add()([drop, b]))
    x = {"a": np.ones((50, 3)), "b": np.zeros((50, 3))}
    out = model.predict(x, verbose=0)
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any()


KERAS_GRAPH_SUMMARY = """\
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ a (InputLayer)      │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ b (InputLayer)      │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ enc (Sequential)    │ (None, 3)         │         15 │ a[0][0], b[0][0]  │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ shared (Dense)      │ (None, 3)         │         12 │ enc[0][0],        │
│                     │                   │            │ enc[1][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 3)         │          0 │ shared[0][0],     │
│                     │                   │            │ shared[1][0]      │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate         │ (None, 6)         │          0 │ enc[0][0],        │
│ (Concatenate)       │                   │            │ add[0][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ cls (Dense)         │ (None, 2)         │         14 │ concatenate[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ reg (Dense)         │ (None, 1)         │          4 │ add[0][0]         │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 45 (180.00 B)
 Trainable params: 45 (180.00 B)
 Non-trainable params: 0 (0.00 B)"""


def test_summary_graph_layout_matches_keras():
    """Keras 3.15.1's text for this graph (80-column terminal), before compiling."""
    m = _measured_graph()
    lines: list[str] = []
    m.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "functional"'
    assert "\n".join(lines[1:]) == KERAS_GRAPH_SUMMARY


def test_summary_chain_has_input_row_and_no_connections():
    inp = mk.Input((784,))
    m = mk.Model(inp, L.Dense(10)(L.Dense(32, activation="relu")(inp)))
    lines: list[str] = []
    m.summary(print_fn=lines.append)
    assert "Connected to" not in lines[2]
    assert lines[4].startswith("│ input_layer (InputLayer)        │ (None, 784)  ")
