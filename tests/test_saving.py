"""Saving and loading: round trips (same predictions, same next step) and clear errors."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as mk
from minikeras import layers as L

rng = np.random.default_rng(3)


def _graph_model():
    a, b = mk.Input((4,), name="a"), mk.Input((3, 2), name="b")
    seq = L.LSTM(4)(b)
    shared = L.Dense(3, activation="tanh")
    h = L.Add()([shared(a), shared(seq)])
    cls = L.Dense(2, activation="softmax", name="cls")(L.Concatenate()([h, seq]))
    reg = L.TimeDistributed(L.Dense(1), name="reg")(b)
    return mk.Model([a, b], [cls, reg])


def _data(n=8):
    x = [rng.random((n, 4)).astype("float32"), rng.random((n, 3, 2)).astype("float32")]
    y = [np.eye(2)[rng.integers(0, 2, n)], rng.random((n, 3, 1))]
    return x, y


def _trained():
    model = _graph_model()
    model.compile(mk.optimizers.Adam(learning_rate=0.01),
                  ["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.3],
                  metrics=[["accuracy"], []])
    x, y = _data()
    model.train_on_batch(x, y)
    return model, x, y


def _same_weights(m1, m2):
    for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_whole_model_round_trip_continues_training(tmp_path, ext):
    model, x, y = _trained()
    path = tmp_path / f"m{ext}"
    if ext == ".h5":
        with pytest.warns(UserWarning, match="legacy"):
            model.save(path)
    else:
        model.save(path)
    loaded = mk.models.load_model(path)
    assert [la.name for la in loaded.layers] == [la.name for la in model.layers]
    for p1, p2 in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(p1, p2)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 1
    assert model.train_on_batch(x, y) == loaded.train_on_batch(x, y)
    _same_weights(model, loaded)


def test_keras_zip_contents(tmp_path):
    model, _, _ = _trained()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert set(zf.namelist()) == {"metadata.json", "config.json", "model.weights.h5"}
        config = json.loads(zf.read("config.json"))
    assert set(config) >= {"module", "class_name", "config", "registered_name",
                           "build_config", "compile_config"}
    assert config["class_name"] == "Functional"


def test_weights_file_layout_and_round_trip(tmp_path):
    model, x, y = _trained()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert f["vars"].attrs["name"] == model.name
        assert set(f["layers"].keys()) == {"input_layer", "input_layer_1", "lstm", "dense",
                                            "add", "concatenate", "dense_1",
                                            "time_distributed"}
        assert len(f["layers/lstm/cell/vars"]) == 3 and len(f["layers/lstm/vars"]) == 0
        assert f["layers/time_distributed/layer/vars"].attrs["name"] == "dense_1"
        assert int(f["optimizer/vars/0"][()]) == 1
    other = _graph_model()
    other.compile(mk.optimizers.Adam(learning_rate=0.01), ["categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.3], metrics=[["accuracy"], []])
    other.train_on_batch(x, y)           # builds the optimizer, so its state is loaded too
    other.load_weights(path)
    _same_weights(model, other)
    assert model.train_on_batch(x, y) == other.train_on_batch(x, y)


def test_json_round_trip(tmp_path):
    model, x, _ = _trained()
    text = model.to_json()
    assert isinstance(text, str)
    rebuilt = mk.models.model_from_json(text)
    assert rebuilt.compiled
    assert [la.name for la in rebuilt.layers] == [la.name for la in model.layers]
    model.save_weights(tmp_path / "w.weights.h5")
    rebuilt.load_weights(tmp_path / "w.weights.h5")
    for p1, p2 in zip(model.predict(x, verbose=0), rebuilt.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(p1, p2)


def test_sequential_round_trip_and_config(tmp_path):
    model = mk.Sequential([mk.Input((5,)), L.Dense(4, activation="relu"), L.Dropout(0.0),
                           L.Dense(2, activation="softmax")])
    model.compile(mk.optimizers.RMSprop(momentum=0.5), "categorical_crossentropy")
    x, y = rng.random((6, 5)), np.eye(2)[rng.integers(0, 2, 6)]
    model.train_on_batch(x, y)
    model.save(tmp_path / "s.keras")
    loaded = mk.models.load_model(tmp_path / "s.keras")
    assert type(loaded).__name__ == "Sequential"
    assert model.train_on_batch(x, y) == loaded.train_on_batch(x, y)
    clone = type(model).from_config(model.get_config())
    assert [type(la) for la in clone.layers] == [type(la) for la in model.layers]


def test_functional_get_config_from_config():
    model, x, _ = _trained()
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    for p1, p2 in zip(model.predict(x, verbose=0), clone.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(p1, p2)


def test_errors_leave_model_unchanged(tmp_path):
    model, x, _ = _trained()
    before = model.get_weights()
    # a different architecture (one more unit in the LSTM) and a missing layer
    other = mk.Sequential([mk.Input((4,)), L.Dense(3)])
    other.save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError, match="architectures differ|expects|shape"):
        model.load_weights(tmp_path / "other.weights.h5")
    bigger = mk.Sequential([mk.Input((4,)), L.Dense(5)])
    small = mk.Sequential([mk.Input((4,)), L.Dense(3)])
    bigger.save_weights(tmp_path / "big.weights.h5")
    small_before = small.get_weights()
    with pytest.raises(ValueError, match="shape"):
        small.load_weights(tmp_path / "big.weights.h5")
    _same_weights_list(small_before, small.get_weights())
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "missing.weights.h5")
    with pytest.raises(FileNotFoundError):
        mk.models.load_model(tmp_path / "missing.keras")
    good = tmp_path / "good.keras"
    model.save(good)
    data = good.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt|truncated"):
        mk.models.load_model(tmp_path / "cut.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    raw = (tmp_path / "w.weights.h5").read_bytes()
    (tmp_path / "cut.weights.h5").write_bytes(raw[:1000])
    with pytest.raises(ValueError, match="HDF5"):
        model.load_weights(tmp_path / "cut.weights.h5")
    with pytest.raises(ValueError, match=".weights.h5"):
        model.save_weights(tmp_path / "bad.h5x")
    with pytest.raises(ValueError, match="extension"):
        model.save(tmp_path / "bad.txt")
    _same_weights_list(before, model.get_weights())


def _same_weights_list(a, b):
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
