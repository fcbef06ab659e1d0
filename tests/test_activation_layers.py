"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU), RepeatVector and Permute:
float64 gradient checks, the forward formulas, shapes, errors, configs and save/load; and
the refusals of what needs autodiff (Lambda, keras.backend math, loss functions)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers, losses
from minikeras.no_autodiff import NoAutodiffError
from minikeras.utils import check_layer_gradients


def _x(shape: tuple[int, ...], seed: int = 0, scale: float = 2.0) -> np.ndarray:
    """Inputs away from the kinks (|x - k| > 0.05 for the kinks k used below)."""
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    for kink in (0.0, 0.5, 1.0, 1.5):
        near = np.abs(x - kink) < 0.05
        x[near] += 0.1
    return x


RELU_CASES = [{}, {"max_value": 1.5}, {"negative_slope": 0.2}, {"threshold": 0.5},
              {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.5}, {"max_value": 6.0}]


# ------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("kwargs", RELU_CASES, ids=str)
def test_relu_gradients(float64: None, kwargs: dict) -> None:
    report = check_layer_gradients(layers.ReLU(**kwargs), _x((4, 6)), max_entries=24)
    assert set(report) == {"input0"}


@pytest.mark.parametrize("layer", [lambda: layers.LeakyReLU(), lambda: layers.LeakyReLU(0.05),
                                   lambda: layers.ELU(), lambda: layers.ELU(alpha=0.5),
                                   lambda: layers.Softmax(), lambda: layers.Softmax(axis=1),
                                   lambda: layers.Softmax(axis=(1, 2))],
                         ids=["leaky", "leaky.05", "elu", "elu.5", "softmax", "softmax1",
                              "softmax12"])
def test_activation_layer_gradients(float64: None, layer) -> None:
    check_layer_gradients(layer(), _x((3, 4, 5)), max_entries=24)


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2], 2])
def test_prelu_gradients(float64: None, shared_axes) -> None:
    layer = layers.PReLU(alpha_initializer="random_normal", shared_axes=shared_axes)
    report = check_layer_gradients(layer, _x((3, 4, 5)), max_entries=24)
    assert set(report) == {"input0", "p_re_lu/alpha"}
    expected = {None: (4, 5), (1,): (1, 5), (1, 2): (1, 1), (2,): (4, 1)}
    key = None if shared_axes is None else tuple(np.atleast_1d(shared_axes))
    assert layer.alpha.shape == expected[key]


def test_repeat_vector_and_permute_gradients(float64: None) -> None:
    check_layer_gradients(layers.RepeatVector(3), _x((4, 5)), max_entries=20)
    check_layer_gradients(layers.Permute((2, 1)), _x((2, 3, 4)), max_entries=20)
    check_layer_gradients(layers.Permute((3, 1, 2)), _x((2, 3, 4, 5)), max_entries=20)


# ------------------------------------------------------------------------------ formulas
def test_relu_formula_pieces() -> None:
    x = np.array([[-2.0, -0.5, 0.0, 0.3, 0.7, 2.0, 9.0]], dtype=np.float32)
    np.testing.assert_allclose(layers.ReLU()(x), [[0, 0, 0, 0.3, 0.7, 2, 9]])
    np.testing.assert_allclose(layers.ReLU(max_value=1.0)(x), [[0, 0, 0, 0.3, 0.7, 1, 1]])
    np.testing.assert_allclose(layers.ReLU(threshold=0.5)(x), [[0, 0, 0, 0, 0.7, 2, 9]])
    np.testing.assert_allclose(layers.ReLU(negative_slope=0.1, threshold=0.5)(x),
                               [[-0.25, -0.1, -0.05, -0.02, 0.7, 2, 9]], rtol=1e-6)
    np.testing.assert_allclose(layers.LeakyReLU()(x)[0, :2], [-0.6, -0.15], rtol=1e-6)
    np.testing.assert_allclose(layers.ELU(alpha=0.5)(x)[0, 0], 0.5 * (np.exp(-2) - 1),
                               rtol=1e-6)


def test_softmax_axes_sum_to_one() -> None:
    x = _x((2, 3, 4)).astype(np.float32)
    assert np.allclose(layers.Softmax(axis=1)(x).sum(axis=1), 1)
    assert np.allclose(layers.Softmax(axis=[1, 2])(x).sum(axis=(1, 2)), 1)


def test_repeat_vector_and_permute_shapes() -> None:
    model = mk.Sequential([mk.Input((5,)), layers.RepeatVector(3), layers.Permute((2, 1))])
    assert model.output_shape == (None, 5, 3)
    x = _x((2, 5)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  np.repeat(x[:, None], 3, axis=1).transpose(0, 2, 1))


def test_softmax_layer_gives_the_loss_its_logits() -> None:
    """Softmax last + cross-entropy: the same training step as Activation('softmax')."""
    x, y = _x((8, 4)).astype(np.float32), np.eye(3)[np.arange(8) % 3].astype(np.float32)
    out = []
    for last in (layers.Softmax(), layers.Activation("softmax")):
        mk.utils.set_random_seed(1)
        model = mk.Sequential([mk.Input((4,)), layers.Dense(3), last])
        model.compile("sgd", "categorical_crossentropy")
        out.append((model.train_on_batch(x, y), model.get_weights()))
    assert out[0][0] == out[1][0]
    for a, b in zip(out[0][1], out[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("make,match", [
    (lambda: layers.ReLU(max_value=-1), "max_value of a ReLU layer cannot be a negative"),
    (lambda: layers.ReLU(negative_slope=-0.1), "negative_slope of a ReLU layer"),
    (lambda: layers.ReLU(threshold=-1), "threshold of a ReLU layer"),
    (lambda: layers.LeakyReLU(negative_slope=-1), "negative_slope value of a Leaky ReLU"),
    (lambda: layers.RepeatVector(0), "should be a positive integer"),
    (lambda: layers.Permute((1, 3)), "must be consecutive and start from 1"),
])
def test_bad_arguments(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_name_the_layer() -> None:
    with pytest.raises(TypeError, match="integer value for `n`"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="repeat_vector.*expected ndim=2"):
        layers.RepeatVector(2)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="permute.*expected ndim=3"):
        layers.Permute((2, 1))(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shared_axes must name axes 1 to 2"):
        layers.PReLU(shared_axes=[3])(np.zeros((2, 3, 4)))


def test_leaky_relu_keras2_alpha_warns() -> None:
    with pytest.warns(DeprecationWarning, match="`alpha=0.1` is Keras 1/2 spelling; use "
                                                "`negative_slope=0.1`"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


# ------------------------------------------------------------------------------ config, saving
def test_configs_round_trip() -> None:
    made = [layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
            layers.LeakyReLU(0.2), layers.ELU(alpha=0.4), layers.Softmax(axis=1),
            layers.PReLU(alpha_initializer="ones", shared_axes=[1]), layers.RepeatVector(4),
            layers.Permute((2, 1))]
    for layer in made:
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": config["name"]}


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_model_with_new_layers_saves_and_loads(tmp_path, ext: str) -> None:
    model = mk.Sequential([mk.Input((6,)), layers.Dense(8), layers.PReLU(
        alpha_initializer="random_uniform"), layers.RepeatVector(2), layers.Permute((2, 1)),
        layers.ReLU(max_value=3.0, threshold=0.1), layers.Flatten(), layers.Dense(3),
        layers.ELU(alpha=0.5), layers.LeakyReLU(0.1), layers.Dense(2), layers.Softmax()])
    model.compile("adam", "categorical_crossentropy")
    x = _x((8, 6)).astype(np.float32)
    y = np.eye(2)[np.arange(8) % 2].astype(np.float32)
    model.fit(x, y, epochs=2, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / f"m{ext}")
        loaded = mk.models.load_model(tmp_path / f"m{ext}")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[7].alpha == 0.5


# ------------------------------------------------------------------------------ no autodiff
def test_lambda_is_refused_with_a_recipe() -> None:
    with pytest.raises(NotImplementedError, match="automatic differentiation") as info:
        layers.Lambda(lambda t: t * 2)
    assert isinstance(info.value, NoAutodiffError)
    assert "def backward(self, dy)" in str(info.value)


def test_loss_functions_are_refused_with_a_recipe() -> None:
    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean()

    model = mk.Sequential([mk.Input((3,)), layers.Dense(1)])
    with pytest.raises(NoAutodiffError, match=r"(?s)compile\(loss=my_loss\).*def compute"):
        model.compile("sgd", my_loss)

    class CallOnly(losses.Loss):
        def call(self, y_true, y_pred):
            return y_pred

    with pytest.raises(NoAutodiffError, match="value and its gradient"):
        model.compile("sgd", CallOnly())
    model.compile("sgd", losses.mean_squared_error)   # a named loss function still works


def test_the_recipe_loss_trains() -> None:
    """The loss of the error message, as written there, trains like 'mse'."""

    class MyMSE(losses.Loss):
        def compute(self, y_true, y_pred, logits=None):
            diff = y_pred - y_true
            return ((diff * diff).mean(axis=-1), diff * (2 / y_pred.shape[-1]), False)

    x, y = _x((8, 3)).astype(np.float32), _x((8, 2), seed=1).astype(np.float32)
    results = []
    for loss in (MyMSE(), "mse"):
        mk.utils.set_random_seed(3)
        model = mk.Sequential([mk.Input((3,)), layers.Dense(2)])
        model.compile("sgd", loss)
        results.append([model.train_on_batch(x, y) for _ in range(3)])
    assert results[0] == results[1]


def test_keras_backend_math_is_refused_under_as_keras() -> None:
    from minikeras import as_keras

    with as_keras.installed():
        from keras import backend as K  # noqa: N812 (the classic spelling)

        assert K.image_data_format() == "channels_last" and K.epsilon() == 1e-7
        with pytest.raises(NoAutodiffError, match="keras.backend.mean.*automatic diff"):
            K.mean(1.0)
        import keras

        with pytest.raises(NoAutodiffError, match="keras.ops.square"):
            keras.ops.square(2.0)
        with pytest.raises(NotImplementedError, match="Lambda"):
            keras.layers.Lambda(lambda t: t)


def test_keras_backend_shape_and_value_helpers() -> None:
    from minikeras import as_keras

    with as_keras.installed():
        from keras import backend as K  # noqa: N812

        model = mk.Sequential([mk.Input((3,)), layers.Dense(2)])
        model.compile(mk.optimizers.SGD(0.1), "mse")
        assert K.int_shape(mk.Input((5, 4))) == (None, 5, 4)
        assert K.get_value(model.optimizer.learning_rate) == pytest.approx(0.1)
        K.set_value(model.layers[0].bias, [1.0, 2.0])
        np.testing.assert_array_equal(model.layers[0].get_weights()[1], [1.0, 2.0])
        with pytest.raises(TypeError, match="model.optimizer.learning_rate = value"):
            K.set_value(model.optimizer.learning_rate, 0.01)
