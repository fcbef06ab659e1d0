"""Normalization: adapt() to the data's mean and variance, y = (x - mean) / max(std, eps),
its backward, invert, given constants, batches, files and errors."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk
from minikeras import backend, layers
from minikeras.utils import check_layer_gradients

RNG = np.random.default_rng(0)
DATA = (RNG.standard_normal((40, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 0.0]).astype(np.float32)


def adapted(**kwargs) -> layers.Normalization:
    layer = layers.Normalization(**kwargs)
    layer.adapt(DATA)
    return layer


def test_adapt_sets_the_mean_and_the_population_variance():
    layer = adapted()
    mean, variance, count = layer.get_weights()
    np.testing.assert_array_equal(mean, DATA.mean(axis=0))
    np.testing.assert_array_equal(variance, DATA.var(axis=0))
    assert count == 0 and count.dtype == np.int64     # Keras' unused count weight
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    y = layer(DATA)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1, rtol=1e-4)


def test_batches_merge_to_the_whole_data_statistics():
    whole = adapted()
    batched = layers.Normalization()
    batched.adapt([(DATA[i:i + 16], None) for i in range(0, 40, 16)])   # (x, y) batches
    for a, b in zip(whole.get_weights()[:2], batched.get_weights()[:2], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6)
    generated = layers.Normalization()
    generated.adapt(DATA[i:i + 7] for i in range(0, 40, 7))
    np.testing.assert_allclose(generated.get_weights()[1], whole.get_weights()[1], rtol=1e-5)

    class Batches(mk.utils.PyDataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int):
            return DATA[index * 16:(index + 1) * 16], None

    from_dataset = layers.Normalization()
    from_dataset.adapt(Batches())
    for a, b in zip(batched.get_weights(), from_dataset.get_weights(), strict=True):
        np.testing.assert_array_equal(b, a)   # the same batches as the list above


def test_axes_none_and_several():
    images = RNG.random((6, 4, 4, 2)).astype(np.float32)
    per_pixel = layers.Normalization(axis=(1, 2))
    per_pixel.adapt(images)
    assert per_pixel.get_weights()[0].shape == (4, 4)
    np.testing.assert_array_equal(per_pixel.get_weights()[0], images.mean(axis=(0, 3)))
    overall = layers.Normalization(axis=None)
    overall.adapt(images)
    assert overall.get_weights()[0].shape == ()
    np.testing.assert_allclose(overall(images).std(), 1, rtol=1e-4)


def test_given_constants_invert_and_a_zero_variance():
    layer = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.0, 9.0])
    x = np.array([[3.0, 2.0, 0.0]], np.float32)
    eps = backend.epsilon()
    np.testing.assert_allclose(layer(x), [[1.0, 0.0 / eps, -1.0]])
    assert layer.weights == []                       # constants, not weights (as Keras)
    undo = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 9.0], invert=True)
    np.testing.assert_allclose(undo(np.array([[1.0, 0.0, -1.0]], np.float32)), [[3.0, 2.0, 0.0]])
    scalar = layers.Normalization(mean=3.0, variance=4.0)
    np.testing.assert_allclose(scalar(np.array([[5.0, 1.0]], np.float32)), [[1.0, -1.0]])


@pytest.mark.parametrize("make", [
    lambda: adapted(), lambda: adapted(invert=True), lambda: adapted(axis=None),
    lambda: layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.5, 9.0])],
    ids=["adapted", "invert", "axis_none", "given"])
def test_gradients(float64: None, make) -> None:
    check_layer_gradients(make(), RNG.standard_normal((4, 3)))


def test_in_a_model_it_trains_nothing_and_saves_its_statistics(tmp_path):
    mk.utils.set_random_seed(0)
    norm = adapted()
    model = mk.Sequential([mk.Input((3,)), norm, layers.Dense(1)])
    model.compile("adam", "mse")
    before = [w.copy() for w in norm.get_weights()]
    model.fit(DATA, DATA[:, :1], epochs=2, verbose=0)
    for a, b in zip(norm.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)          # adapt-time constants, not trained
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = mk.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(DATA, verbose=0), model.predict(DATA, verbose=0))
    clone = layers.Normalization.from_config(norm.get_config())
    assert clone.get_config()["axis"] == (-1,) and clone.get_config()["mean"] is None


@pytest.mark.parametrize("call, match", [
    (lambda: layers.Normalization(mean=1.0), "both `mean` and `variance`"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0]), "same shape"),
    (lambda: layers.Normalization(axis=-1, mean=np.ones((2, 2)), variance=np.ones((2, 2))),
     "rank of `mean`"),
    (lambda: layers.Normalization(axis="last"), "`axis`"),
    (lambda: layers.Normalization().adapt([]), "empty iterable"),
    (lambda: layers.Normalization().adapt("data"), "Unsupported data type"),
    (lambda: layers.Normalization(mean=1.0, variance=1.0).adapt(DATA), "adapt"),
    (lambda: layers.Normalization(axis=3).adapt(DATA), "range"),
    (lambda: adapted().adapt(np.ones((4, 5), np.float32)), "incompatible shape"),
])
def test_bad_arguments_and_data_are_refused(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_a_failed_adapt_changes_nothing():
    layer = adapted()
    before = [w.copy() for w in layer.get_weights()]
    with pytest.raises(ValueError):
        layer.adapt([DATA[:10], np.ones((4, 5), np.float32)])   # second batch is wrong
    for a, b in zip(layer.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
