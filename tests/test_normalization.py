"""BatchNormalization and LayerNormalization: gradients (both modes), formulas, moving
statistics, trainable=False, the cache contract, configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras
from minikeras.layers import BatchNormalization, Dense, LayerNormalization
from minikeras.layers.batch_normalization import BatchNormCache
from minikeras.utils import check_layer_gradients


def _x(shape, seed=0, shift=0.0, spread=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * spread + shift


def _randomize(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name or "gamma"
                       in w.name else rng.standard_normal(w.shape) for w in layer.weights])


# --------------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("shape,axis", [((6, 4), -1), ((3, 5, 4), -1), ((2, 3, 4, 5), 1),
                                        ((2, 4, 3, 3), -1), ((2, 3, 4, 5), 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients(float64, shape, axis, training):
    layer = BatchNormalization(axis=axis)
    layer.build_for(shape)
    _randomize(layer)
    check_layer_gradients(layer, _x(shape, shift=0.5, spread=2.0), training=training)


@pytest.mark.parametrize("center,scale", [(False, True), (True, False), (False, False)])
def test_batch_norm_without_center_or_scale(float64, center, scale):
    layer = BatchNormalization(center=center, scale=scale)
    layer.build_for((5, 3))
    assert len(layer.trainable_weights) == center + scale
    check_layer_gradients(layer, _x((5, 3)), training=True)
    check_layer_gradients(layer, _x((5, 3)), training=False)


def test_batch_norm_formulas_and_moving_statistics(float64):
    x = _x((8, 2, 3), shift=3.0, spread=2.0)
    layer = BatchNormalization(momentum=0.9, epsilon=0.01)
    layer.build_for(x.shape)
    _randomize(layer)
    gamma, beta, mm, mv = layer.get_weights()
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))   # biased variance, as Keras
    y = layer(x, training=True)
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 0.01) + beta, atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.value, mm * 0.9 + mean * 0.1, atol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.value, mv * 0.9 + var * 0.1, atol=1e-12)
    # inference: the moving statistics, which inference never changes
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    y = layer(x, training=False)
    np.testing.assert_allclose(y, gamma * (x - mm) / np.sqrt(mv + 0.01) + beta, atol=1e-12)
    np.testing.assert_array_equal(layer.moving_mean.value, mm)


def test_batch_norm_defaults_and_weight_order():
    layer = BatchNormalization()
    assert (layer.axis, layer.momentum, layer.epsilon) == (-1, 0.99, 1e-3)
    layer.build_for((None, 3))
    assert [w.name.split("/")[-1] for w in layer.weights] == [
        "gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name.split("/")[-1] for w in layer.trainable_weights] == ["gamma", "beta"]
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones(3))
    np.testing.assert_array_equal(layer.get_weights()[3], np.ones(3))
    assert layer.count_params() == 12


def test_frozen_batch_norm_runs_in_inference_mode(float64):
    x = _x((6, 3), shift=2.0)
    layer = BatchNormalization()
    layer.build_for(x.shape)
    _randomize(layer)
    before = layer.get_weights()
    layer.trainable = False
    np.testing.assert_array_equal(layer(x, training=True), layer(x, training=False))
    for a, b in zip(before, layer.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    check_layer_gradients(layer, x, training=True)   # inference-mode dx, no weight grads
    layer.zero_grads()
    layer.forward(x, training=True)
    layer.backward(np.ones_like(x))
    assert layer.gamma.grad is None


def test_batch_norm_cache_is_a_named_contract(float64):
    """The exercise subclasses BatchNormalization and writes backward from these names."""
    x = _x((4, 3))
    layer = BatchNormalization()
    layer(x, training=True)
    cache = layer.cache
    assert isinstance(cache, BatchNormCache) and cache.batch_statistics is True
    assert cache._fields == ("x_hat", "inv_std", "batch_statistics")
    assert cache.x_hat.shape == x.shape and cache.inv_std.shape == (1, 3)
    np.testing.assert_allclose(cache.x_hat.mean(axis=0), 0, atol=1e-12)
    layer(x, training=False)
    assert layer.cache.batch_statistics is False


def test_batch_norm_in_a_model_trains_and_updates_statistics():
    minikeras.utils.set_random_seed(0)
    x = _x((64, 4), shift=5.0, spread=3.0).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 20).astype("float32")
    model = minikeras.Sequential([minikeras.Input((4,)), BatchNormalization(),
                                  Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
    bn = model.layers[0]
    assert np.all(bn.moving_mean.numpy() > 0.5)   # moved from 0 towards the data's mean 5
    assert bn.moving_mean.numpy().dtype == np.float32


def test_batch_norm_errors():
    with pytest.raises(TypeError, match="BatchNormalization: `axis` must be an integer"):
        BatchNormalization(axis=[1, 2])
    with pytest.raises(TypeError, match="`momentum` must be a number.*'high'"):
        BatchNormalization(momentum="high")
    with pytest.raises(TypeError, match="`center` must be True or False"):
        BatchNormalization(center=1)
    with pytest.raises(NotImplementedError, match="renorm"):
        BatchNormalization(renorm=True)
    with pytest.raises(NotImplementedError, match="gamma_regularizer"):
        BatchNormalization(gamma_regularizer="l2")
    with pytest.warns(UserWarning, match="momentum=1.5"):
        BatchNormalization(momentum=1.5)
    layer = BatchNormalization(axis=3, name="bn")
    with pytest.raises(ValueError, match="'bn'.*axis 3 is out of bounds.*\\(2, 4\\)"):
        layer(np.zeros((2, 4)))
    layer = BatchNormalization(name="bn2")
    layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="bn2.*expected axis -1 of input shape to have value 4"):
        layer(np.zeros((2, 5)))


def test_batch_norm_config_round_trip():
    layer = BatchNormalization(axis=1, momentum=0.9, epsilon=1e-2, center=False, name="b")
    again = BatchNormalization.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    assert again.get_config()["gamma_initializer"]["class_name"] == "Ones"


# --------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("shape,axis", [((4, 5), -1), ((2, 3, 4), -1), ((2, 3, 4), [1, 2]),
                                        ((2, 3, 4, 2), 1), ((2, 3, 4, 2), [-2, -1])])
def test_layer_norm_gradients(float64, shape, axis):
    layer = LayerNormalization(axis=axis)
    layer.build_for(shape)
    _randomize(layer)
    check_layer_gradients(layer, _x(shape, shift=-1.0, spread=3.0))


def test_layer_norm_formula_and_shapes(float64):
    x = _x((3, 4, 5), shift=2.0)
    layer = LayerNormalization(axis=[1, 2], epsilon=0.1)
    layer.build_for(x.shape)
    _randomize(layer)
    gamma, beta = layer.get_weights()
    assert gamma.shape == (4, 5)
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(layer(x), gamma * (x - mean) / np.sqrt(var + 0.1) + beta,
                               atol=1e-12)
    np.testing.assert_array_equal(layer(x, training=True), layer(x))


def test_layer_norm_without_center_or_scale(float64):
    layer = LayerNormalization(center=False, scale=False)
    layer.build_for((3, 4))
    assert layer.weights == []
    check_layer_gradients(layer, _x((3, 4)))


def test_layer_norm_errors_and_config():
    with pytest.raises(TypeError, match="LayerNormalization.*'axis'.*'last'"):
        LayerNormalization(axis="last")
    with pytest.raises(NotImplementedError, match="rms_scaling"):
        LayerNormalization(rms_scaling=True)
    layer = LayerNormalization(axis=2, name="ln")
    with pytest.raises(ValueError, match="'ln'.*axis 2 is out of bounds"):
        layer(np.zeros((2, 4)))
    layer = LayerNormalization(axis=[1], epsilon=0.01, name="ln2")
    again = LayerNormalization.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
