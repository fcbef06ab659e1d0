"""The new layers in models: training with fit (the noise only while training), configs that
rebuild each layer, `.keras`/`.h5`/JSON round trips of a functional model holding all of
them, and their Keras 1 argument names."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers
from minikeras.utils import set_random_seed

NEW = [lambda: layers.Dot(axes=(1, 2), normalize=True),
       lambda: layers.Rescaling([0.5, 2.0], offset=-1),
       lambda: layers.SpatialDropout1D(0.2, seed=3),
       lambda: layers.SpatialDropout2D(0.3, data_format="channels_first"),
       lambda: layers.GaussianNoise(0.1, seed=1), lambda: layers.GaussianDropout(0.25),
       lambda: layers.Identity(), lambda: layers.ZeroPadding1D((2, 0)),
       lambda: layers.Cropping1D(1), lambda: layers.UpSampling1D(4)]


@pytest.mark.parametrize("make", NEW)
def test_config_rebuilds_the_layer(make) -> None:
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    again = mk.layers.deserialize_layer(mk.layers.serialize_layer(layer))
    assert type(again) is type(layer) and again.get_config() == config


def _model() -> mk.Model:
    a, b = mk.Input((8,), name="a"), mk.Input((4, 2), name="b")
    x = layers.Rescaling(0.5, offset=0.1)(a)
    x = layers.GaussianNoise(0.1)(layers.Identity()(x))
    x = layers.Reshape((4, 2))(layers.GaussianDropout(0.2)(x))
    x = layers.SpatialDropout1D(0.3)(x)
    x = layers.UpSampling1D(2)(layers.Cropping1D((1, 1))(layers.ZeroPadding1D((1, 1))(x)))
    x = layers.Dot(axes=(1, 1), normalize=True)([x, layers.UpSampling1D(2)(b)])
    img = layers.Reshape((2, 2, 1))(layers.Flatten()(x))
    out = layers.Dense(3)(layers.Flatten()(layers.SpatialDropout2D(0.1)(img)))
    return mk.Model([a, b], out)


def _data(n: int = 16) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    return ([rng.standard_normal((n, 8)).astype(np.float32),
             rng.standard_normal((n, 4, 2)).astype(np.float32)],
            rng.standard_normal((n, 3)).astype(np.float32))


def test_fit_trains_and_predict_is_deterministic() -> None:
    set_random_seed(0)
    model = _model()
    model.compile(mk.optimizers.Adam(0.01), "mse")
    x, y = _data()
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert model.get_layer("dot").output_shape == (None, 2, 2)


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_model_saves_and_loads(tmp_path, ext: str) -> None:
    model = _model()
    x, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / f"m{ext}")
        loaded = mk.models.load_model(tmp_path / f"m{ext}")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(la).__name__ for la in loaded.layers] == [
        type(la).__name__ for la in model.layers]


def test_model_from_json() -> None:
    model = _model()
    rebuilt = mk.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    x, _ = _data()
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    assert rebuilt.get_layer("dot").get_config()["axes"] == [1, 1]


def test_keras_1_argument_names() -> None:
    with pytest.warns(DeprecationWarning, match="`sigma=0.2` is Keras 1/2 spelling"):
        assert layers.GaussianNoise(sigma=0.2).stddev == 0.2
    with pytest.warns(DeprecationWarning, match="`p=0.1`"):
        assert layers.GaussianDropout(p=0.1).rate == 0.1
    with pytest.warns(DeprecationWarning) as record:
        layer = layers.SpatialDropout2D(p=0.2, dim_ordering="th")
    assert ["`p=0.2`" in str(r.message) or "`dim_ordering='th'`" in str(r.message)
            for r in record] == [True, True]
    assert (layer.rate, layer.data_format) == (0.2, "channels_first")
    with pytest.warns(DeprecationWarning, match="`length=3`"):
        assert layers.UpSampling1D(length=3).size == 3


def test_dot_shortcut() -> None:
    a, b = mk.Input((3, 4)), mk.Input((5, 4))
    out = layers.dot([a, b], axes=2)
    assert out.shape == (None, 3, 5)
    with pytest.raises(ValueError, match="list of 2 inputs"):
        layers.Dot(1)(a)


def test_keras_2_module_paths_serve_the_new_layers() -> None:
    from minikeras._keras_shim.layers import convolutional, core, merge, noise

    assert (noise.GaussianNoise, noise.GaussianDropout) == (layers.GaussianNoise,
                                                            layers.GaussianDropout)
    assert (merge.Dot, merge.dot, core.SpatialDropout1D, convolutional.UpSampling1D) == (
        layers.Dot, layers.dot, layers.SpatialDropout1D, layers.UpSampling1D)
