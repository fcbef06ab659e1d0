"""Arithmetic on symbolic tensors (x + y, x * 2.0, x @ W, -x ...): values, gradients with
broadcasting, summary text, saving and loading, errors, and a Keras 3 style script."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import minikeras as mk
from minikeras import as_keras, ops
from minikeras import layers as L
from minikeras.ops.operation import sum_to_shape
from minikeras.utils import check_layer_gradients

SCRIPTS = Path(__file__).resolve().parent / "keras3_scripts"


def _rng() -> np.random.Generator:
    return np.random.default_rng(3)


def _chain_of_ops() -> mk.Model:
    """The model measured in Keras 3.15.1 for the summary text below."""
    inp = mk.Input((4,))
    x = L.Dense(4, name="d1")(inp)
    y = x + inp
    y = y * 2.0
    y = -y
    y = y - x
    y = y / 3
    y += x
    z = 1.0 - y
    m = z @ np.ones((4, 3), "float32")
    return mk.Model(inp, L.Dense(2, name="d2")(m))


def _broadcasting_graph() -> tuple[mk.Model, list[np.ndarray]]:
    """Every operation, tensors and constants on either side, broadcasting on every axis."""
    a, b, c, d = mk.Input((3, 1)), mk.Input((1, 4)), mk.Input((4,)), mk.Input((2, 5))
    y = a + b                                    # (N, 3, 1) + (N, 1, 4) -> (N, 3, 4)
    y = y * L.Reshape((1, 4))(L.Dense(4)(c))     # (N, 3, 4) * (N, 1, 4)
    y = y - np.arange(4, dtype="float32")        # a constant row
    y = 2.0 / (y * y + 1.0)                      # a constant numerator
    y = y ** (0.5 + 0.25 * y)                    # tensor ** tensor (a positive base)
    y = y**1.5 + 0.5**y - abs(y - 1.0)           # tensor ** number, number ** tensor, |.|
    y = -y @ W_CONST                             # (N, 3, 4) @ (4, 2)
    y = y @ d                                    # (N, 3, 2) @ (N, 2, 5)
    y = V_CONST @ y                              # 1-D on the left: (3,) @ (N, 3, 5) -> (N, 5)
    y = (y @ np.ones((5, 1), "float32")) - 0.5 * y   # (N, 1) - (N, 5)
    model = mk.Model([a, b, c, d], y)
    rng = _rng()
    data = [rng.standard_normal((2, 3, 1)), rng.standard_normal((2, 1, 4)),
            rng.standard_normal((2, 4)), rng.standard_normal((2, 2, 5))]
    return model, data


W_CONST = (np.arange(8, dtype="float32").reshape(4, 2) / 8).astype("float32")
V_CONST = np.linspace(-1, 1, 3).astype("float32")


def test_values_follow_numpy():
    model, data = _broadcasting_graph()
    a, b, c, d = (x.astype("float32") for x in data)
    dense = [la for la in model.layers if isinstance(la, L.Dense)][0]
    kernel, bias = dense.get_weights()
    y = a + b
    y = y * (c @ kernel + bias)[:, None, :]
    y = y - np.arange(4, dtype="float32")
    y = 2.0 / (y * y + 1.0)
    y = y ** (0.5 + 0.25 * y)
    y = y**1.5 + 0.5**y - abs(y - 1.0)
    y = -y @ W_CONST
    y = y @ d
    y = V_CONST @ y
    y = (y @ np.ones((5, 1), "float32")) - 0.5 * y
    out = model.predict([a, b, c, d], verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, y, rtol=1e-5, atol=1e-6)


def test_gradients_through_every_operation(float64):
    model, data = _broadcasting_graph()
    report = check_layer_gradients(model, data)
    assert {"input0", "input1", "input2", "input3"} <= set(report)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 4), (4,), (1, 4), (3, 1), (2, 1, 1), ()])
def test_sum_to_shape_is_the_adjoint_of_broadcasting(shape):
    rng = _rng()
    b = rng.standard_normal(shape)
    g = rng.standard_normal((2, 3, 4))
    # <g, broadcast(b)> = <sum_to_shape(g), b> for every b: the definition of the adjoint
    assert np.isclose((g * np.broadcast_to(b, g.shape)).sum(), (sum_to_shape(g, shape) * b).sum())
    assert sum_to_shape(g, shape).shape == shape


def test_operations_are_nodes_not_layers():
    model = _chain_of_ops()
    assert [la.name for la in model.layers] == ["input_layer", "d1", "d2"]   # as in Keras
    assert [op.name for op in model.operations] == [
        "input_layer", "d1", "add", "multiply", "negative", "subtract", "true_divide", "add_1",
        "subtract_1", "matmul", "d2"]
    assert len(model.weights) == 4


KERAS_SUMMARY = """\
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ input_layer         │ (None, 4)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ d1 (Dense)          │ (None, 4)         │         20 │ input_layer[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 4)         │          0 │ d1[0][0],         │
│                     │                   │            │ input_layer[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ multiply (Multiply) │ (None, 4)         │          0 │ add[0][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ negative (Negative) │ (None, 4)         │          0 │ multiply[0][0]    │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ subtract (Subtract) │ (None, 4)         │          0 │ negative[0][0],   │
│                     │                   │            │ d1[0][0]          │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ true_divide         │ (None, 4)         │          0 │ subtract[0][0]    │
│ (TrueDivide)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add_1 (Add)         │ (None, 4)         │          0 │ true_divide[0][0… │
│                     │                   │            │ d1[0][0]          │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ subtract_1          │ (None, 4)         │          0 │ add_1[0][0]       │
│ (Subtract)          │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ matmul (Matmul)     │ (None, 3)         │          0 │ subtract_1[0][0]  │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ d2 (Dense)          │ (None, 2)         │          8 │ matmul[0][0]      │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 28 (112.00 B)
 Trainable params: 28 (112.00 B)
 Non-trainable params: 0 (0.00 B)"""


def test_summary_prints_operations_as_keras_does():
    """Keras 3.15.1's text for the same model (80-column terminal)."""
    lines: list[str] = []
    _chain_of_ops().summary(print_fn=lines.append)
    assert lines[0] == 'Model: "functional"'
    assert "\n".join(lines[1:]) == KERAS_SUMMARY


def test_config_is_keras_format():
    config = _chain_of_ops().get_config()
    entries = {e["name"]: e for e in config["layers"]}
    add = entries["add"]
    assert (add["module"], add["class_name"], add["registered_name"], add["config"]) == (
        "keras.src.ops.numpy", "Add", "Add", {"name": "add"})
    assert "build_config" not in add
    assert [a["config"]["keras_history"] for a in add["inbound_nodes"][0]["args"]] == [
        ["d1", 0, 0], ["input_layer", 0, 0]]
    assert entries["multiply"]["inbound_nodes"][0]["args"][1] == 2.0
    assert entries["subtract_1"]["inbound_nodes"][0]["args"][0] == 1.0
    const = entries["matmul"]["inbound_nodes"][0]["args"][1]
    assert const == {"class_name": "__numpy__",
                     "config": {"value": np.ones((4, 3)).tolist(), "dtype": "float32"}}


def test_save_load_and_json_round_trip(tmp_path):
    model = _chain_of_ops()
    x = _rng().standard_normal((5, 4)).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((5, 2)), epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = mk.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [op.name for op in loaded.operations] == [op.name for op in model.operations]
    # training goes on from the same state on both
    y = np.ones((5, 2))
    assert loaded.train_on_batch(x, y) == pytest.approx(model.train_on_batch(x, y), rel=1e-6)
    rebuilt = mk.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    assert json.loads(rebuilt.to_json())["config"]["layers"][2]["class_name"] == "Add"


def test_numpy_on_the_left_and_eager_ops():
    x = mk.Input((4,))
    y = np.ones((1, 4), "float32") + x          # NumPy steps aside: x.__radd__
    assert isinstance(y, type(x)) and y.shape == (None, 4)
    assert y.node.layer.arguments[0].shape == (1, 4)
    np.testing.assert_array_equal(ops.add(np.ones(3), 2.0), np.full(3, 3.0))
    np.testing.assert_array_equal(ops.matmul(np.eye(2), np.ones(2)), np.ones(2))


def test_shapes_and_dtypes():
    a, b = mk.Input((3, 1)), mk.Input((1, 5))
    assert (a + b).shape == (None, 3, 5)
    assert (a @ b).shape == (None, 3, 5)
    assert (mk.Input((3,)) @ np.ones(3, "float32")).shape == (None,)   # as Keras
    assert (mk.Input((3,)) * 2.0).dtype == "float32"                   # a number is weak
    assert (mk.Input((3,)) + np.ones((1, 3))).dtype == "float64"      # as Keras promotes


def test_clear_errors():
    with pytest.raises(ValueError, match=r"cannot broadcast shapes \(None, 3\) and \(None, 4\)"):
        mk.Input((3,)) + mk.Input((4,))
    with pytest.raises(ValueError, match="inner dimensions"):
        mk.Input((3,)) @ np.ones((4, 2))
    with pytest.raises(TypeError, match="Operation add.*received str 'a'"):
        mk.Input((3,)) + "a"
    with pytest.raises(TypeError, match="received NoneType None"):
        None * mk.Input((3,))
    op = ops.Add()
    op(mk.Input((2,)), 1.0)
    with pytest.raises(ValueError, match="already called"):
        op(mk.Input((2,)), 1.0)


def test_residual_mlp_script_learns():
    mk.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ns = as_keras.run_script(str(SCRIPTS / "residual_mlp.py"), ["8"])
    adds = [op for op in ns["model"].operations if isinstance(op, ops.Add)]
    assert len(adds) == 2                                 # the two `x += residual`
    assert ns["score"][0] < 0.5 * ns["first_loss"] and ns["score"][1] > 0.9, ns["score"]


def test_loading_an_unknown_operation_is_a_clear_error():
    config = json.loads(_chain_of_ops().to_json())
    entry = next(e for e in config["config"]["layers"] if e["name"] == "negative")
    entry["class_name"] = entry["registered_name"] = "Exp"
    with pytest.raises(ValueError, match=r"Unknown operation 'Exp' \(keras.ops\)"):
        mk.models.model_from_json(json.dumps(config))
    assert (mk.Input((2,), dtype="int32") * 2.5).dtype == "float32"


def _indexing_model() -> mk.Model:
    inp = mk.Input((3, 4))
    return mk.Model(inp, [inp[:, 0] * 2.0, inp[:, 1:3, ::2], inp[..., -1], inp[:, None, 0],
                          inp[:, np.int64(2)]])


def test_indexing_shapes_values_and_gradients(float64):
    model = _indexing_model()
    # shapes measured in Keras 3.15.1 for the first three
    assert [t.shape for t in model.outputs] == [(None, 4), (None, 2, 2), (None, 3),
                                                (None, 1, 4), (None, 4)]
    x = _rng().standard_normal((2, 3, 4))
    outs = model.predict(x, verbose=0)
    for got, want in zip(outs, [x[:, 0] * 2, x[:, 1:3, ::2], x[..., -1], x[:, None, 0],
                                x[:, 2]], strict=True):
        np.testing.assert_array_equal(got, want)
    check_layer_gradients(model, x)


def test_indexing_config_is_keras_format_and_loads(tmp_path):
    model = _indexing_model()
    entries = {e["name"]: e for e in model.get_config()["layers"]}
    assert entries["get_item_1"]["inbound_nodes"][0]["args"][1] == [   # as Keras writes it
        {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}},
        {"class_name": "__slice__", "config": {"start": 1, "stop": 3, "step": None}},
        {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": 2}}]
    assert entries["get_item_2"]["inbound_nodes"][0]["args"][1] == [
        {"class_name": "__ellipsis__", "config": {}}, -1]
    model.save(tmp_path / "m.keras")
    loaded = mk.models.load_model(tmp_path / "m.keras")
    x = _rng().standard_normal((2, 3, 4)).astype("float32")
    for a, b in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="integers, slices"):
        mk.Input((3,))[[0, 1]]


def test_keras_ops_shim_reexports_the_operations_and_refuses_the_rest() -> None:
    """Under ``as_keras``, ``keras.ops.add`` is minikeras' operation; ``keras.ops.mean`` (no
    hand-written backward here) is refused with the no-autodiff error."""
    import minikeras
    from minikeras._keras_shim import ops as keras_ops

    a = minikeras.Input((3,))
    b = minikeras.Input((3,))
    model = minikeras.Model([a, b], keras_ops.add(keras_ops.divide(a, 2.0), b))
    out = model.predict([np.ones((2, 3)), np.ones((2, 3))], verbose=0)
    np.testing.assert_allclose(out, np.full((2, 3), 1.5))
    with pytest.raises(NotImplementedError, match="keras.ops.mean"):
        keras_ops.mean(a)
