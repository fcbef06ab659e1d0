"""Losses: values against written NumPy formulas (Keras 3 semantics) and float64
finite-difference checks of ``Loss.compute``'s derivative, on every path: probabilities
(clipped, renormalised), the softmax/sigmoid logits shortcut, ``from_logits=True``, sparse
labels (N,) and (N, 1), and sample weights through ``Model._loss_and_grads``."""

from __future__ import annotations

import numpy as np
import pytest

from minikeras import Sequential, backend, layers, losses
from minikeras.activations import sigmoid, softmax
from minikeras.utils import gradient_check

EPS = 1e-7


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _probs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Unnormalised positive 'probabilities' well inside (eps, 1 - eps)."""
    return _rng(seed).uniform(0.05, 0.9, shape)


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def _check_grad(fn, point: np.ndarray, analytic: np.ndarray, upstream: np.ndarray,
                eps: float = 1e-6) -> None:
    """d(Σ upstream·fn(point))/d point by central differences == upstream-weighted analytic."""
    expected = analytic * upstream.reshape(upstream.shape + (1,) * (analytic.ndim - upstream.ndim))
    numeric = np.zeros_like(point)
    flat, num = point.reshape(-1), numeric.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = (upstream * fn(point)).sum()
        flat[i] = old - eps
        down = (upstream * fn(point)).sum()
        flat[i] = old
        num[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(numeric, expected, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------ values
def test_mse_mae_values() -> None:
    y, p = _rng(1).standard_normal((4, 3, 5)), _rng(2).standard_normal((4, 3, 5))
    for loss, ref in ((losses.MeanSquaredError(), ((y - p) ** 2).mean(-1)),
                      (losses.MeanAbsoluteError(), np.abs(y - p).mean(-1))):
        np.testing.assert_allclose(loss.values(y, p), ref, rtol=1e-12)
        # sum_over_batch_size on (B, T, D): the mean over all B·T per-step values
        np.testing.assert_allclose(loss(y, p), ref.mean(), rtol=1e-12)


def test_categorical_crossentropy_renormalises_and_clips() -> None:
    y = _onehot(np.array([0, 2, 1]), 3)
    p = _probs((3, 3))
    q = p / p.sum(-1, keepdims=True)
    ref = -(y * np.log(q)).sum(-1)
    np.testing.assert_allclose(losses.CategoricalCrossentropy().values(y, p), ref, rtol=1e-12)
    zero = np.array([[0.0, 1.0, 0.0]])
    value = losses.CategoricalCrossentropy().values(np.array([[1.0, 0, 0]]), zero)
    np.testing.assert_allclose(value, [-np.log(EPS)], rtol=1e-6)  # 16.1181, the clip floor


def test_sparse_categorical_crossentropy_clips_first() -> None:
    labels = np.array([0, 2, 1])
    p = _probs((3, 3))
    pc = np.clip(p, EPS, 1 - EPS)
    ref = -np.log(pc[np.arange(3), labels] / pc.sum(-1))
    loss = losses.SparseCategoricalCrossentropy()
    np.testing.assert_allclose(loss.values(labels, p), ref, rtol=1e-12)
    np.testing.assert_allclose(loss.values(labels[:, None], p), ref, rtol=1e-12)
    # same numbers as categorical on normalised probabilities
    q = p / p.sum(-1, keepdims=True)
    np.testing.assert_allclose(loss.values(labels, q),
                               losses.CategoricalCrossentropy().values(_onehot(labels, 3), q),
                               rtol=1e-10)


def test_binary_crossentropy_values() -> None:
    y = _rng(3).integers(0, 2, (4, 2)).astype(float)
    p = _rng(4).uniform(0.01, 0.99, (4, 2))
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)
    np.testing.assert_allclose(losses.BinaryCrossentropy().values(y, p), ref, rtol=1e-12)
    z = _rng(5).standard_normal((4, 2)) * 3
    ref_logits = -(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z))).mean(-1)
    np.testing.assert_allclose(losses.BinaryCrossentropy(from_logits=True).values(y, z),
                               ref_logits, rtol=1e-9)
    # (N,) targets against (N, 1) predictions are reshaped, as Keras does
    np.testing.assert_allclose(losses.BinaryCrossentropy().values(y[:, 0], p[:, :1]),
                               losses.BinaryCrossentropy().values(y[:, :1], p[:, :1]))


def test_logits_shortcut_is_unclipped() -> None:
    """Confident ±40 logits: log-softmax gives 40, the clipped probability path 16.118."""
    z = np.array([[40.0, -40.0]])
    y = np.array([[0.0, 1.0]])
    cce = losses.CategoricalCrossentropy()
    from_logits, _, wrt_logits = cce.compute(y, softmax(z), logits=z)
    assert wrt_logits
    np.testing.assert_allclose(from_logits, [80.0], rtol=1e-12)
    np.testing.assert_allclose(cce.values(y, softmax(z)), [-np.log(EPS)], rtol=1e-6)
    bce = losses.BinaryCrossentropy()
    value, _, wrt = bce.compute(np.array([[0.0]]), sigmoid(np.array([[40.0]])),
                                logits=np.array([[40.0]]))
    assert wrt
    np.testing.assert_allclose(value, [40.0], rtol=1e-12)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_reductions_and_sample_weight(reduction: str) -> None:
    y, p = _rng(6).standard_normal((5, 2)), _rng(7).standard_normal((5, 2))
    w = np.array([1.0, 0.0, 2.0, 0.5, 1.0])
    per = ((y - p) ** 2).mean(-1) * w
    got = losses.MeanSquaredError(reduction=reduction)(y, p, sample_weight=w)
    ref = {"sum_over_batch_size": per.sum() / 5, "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_function_forms() -> None:
    y, p = np.array([[0.0, 1.0]]), np.array([[0.25, 0.75]])
    np.testing.assert_allclose(losses.categorical_crossentropy(y, p), [-np.log(0.75)], rtol=1e-7)
    np.testing.assert_allclose(losses.mse(y, p), [0.0625])
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(np.array([1]), p),
                               [-np.log(0.75)], rtol=1e-7)
    assert losses.get("MSE").name == "mean_squared_error"
    assert isinstance(losses.get(losses.mse), losses.MeanSquaredError)


# ------------------------------------------------------------------------------ gradients
GRAD_CASES = {
    "mse": (losses.MeanSquaredError(), "dense"),
    "mae": (losses.MeanAbsoluteError(), "dense"),
    "bce": (losses.BinaryCrossentropy(), "binary"),
    "cce": (losses.CategoricalCrossentropy(), "onehot"),
    "scce": (losses.SparseCategoricalCrossentropy(), "labels"),
    "scce_n1": (losses.SparseCategoricalCrossentropy(), "labels_n1"),
}


def _targets(kind: str, shape: tuple[int, ...], seed: int = 11) -> np.ndarray:
    rng = _rng(seed)
    labels = rng.integers(0, shape[-1], shape[:-1])
    return {"dense": rng.standard_normal(shape), "binary": rng.uniform(0, 1, shape),
            "onehot": _onehot(labels, shape[-1]), "labels": labels,
            "labels_n1": labels[..., None]}[kind]


@pytest.mark.parametrize("case", list(GRAD_CASES))
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
def test_probability_path_gradient(case: str, shape: tuple[int, ...]) -> None:
    loss, kind = GRAD_CASES[case]
    y = _targets(kind, shape)
    p = _probs(shape, seed=12)
    if case == "mae":
        p = p + np.where(np.abs(p - y) < 1e-3, 0.01, 0.0)  # stay off |.|'s kink
    values, grad, wrt_logits = loss.compute(y, p)
    assert not wrt_logits and values.shape == shape[:-1] and grad.shape == shape
    upstream = _rng(13).standard_normal(shape[:-1])
    _check_grad(lambda q: loss.compute(y, q)[0], p, grad, upstream)


@pytest.mark.parametrize("case", ["bce", "cce", "scce", "scce_n1"])
def test_logits_path_gradient(case: str) -> None:
    loss, kind = GRAD_CASES[case]
    shape = (5, 1) if case == "bce" else (5, 4)
    act = sigmoid if case == "bce" else softmax
    y = _targets(kind, shape)
    z = _rng(14).standard_normal(shape) * 3
    values, grad, wrt_logits = loss.compute(y, act(z), logits=z)
    assert wrt_logits
    # without confident logits the shortcut and the probability path agree
    np.testing.assert_allclose(values, loss.compute(y, act(z))[0], rtol=1e-9)
    upstream = _rng(15).standard_normal(shape[:-1])
    _check_grad(lambda zz: loss.compute(y, act(zz), logits=zz)[0], z, grad, upstream)


@pytest.mark.parametrize("cls", [losses.BinaryCrossentropy, losses.CategoricalCrossentropy,
                                 losses.SparseCategoricalCrossentropy])
def test_from_logits_true_gradient(cls: type) -> None:
    loss = cls(from_logits=True)
    shape = (4, 3)
    kind = {"BinaryCrossentropy": "binary", "CategoricalCrossentropy": "onehot"}.get(
        cls.__name__, "labels")
    y = _targets(kind, shape)
    z = _rng(16).standard_normal(shape) * 2
    values, grad, wrt_logits = loss.compute(y, z)
    assert not wrt_logits  # the gradient is already with respect to the model's output
    _check_grad(lambda zz: loss.compute(y, zz)[0], z, grad, _rng(17).standard_normal(4))


def test_clipped_entries_get_zero_gradient() -> None:
    y = np.array([[0.0, 1.0]])
    p = np.array([[1.0, 0.0]])  # true class at probability 0: clipped
    _, grad, _ = losses.BinaryCrossentropy().compute(y, p)
    np.testing.assert_array_equal(grad, 0.0)
    _, grad, _ = losses.SparseCategoricalCrossentropy().compute(np.array([1]), p)
    assert grad[0, 1] == 0.0


# ------------------------------------------------------------------------------ in a model
@pytest.mark.parametrize("loss,activation,kind,units", [
    ("categorical_crossentropy", "softmax", "onehot", 3),
    ("sparse_categorical_crossentropy", "softmax", "labels", 3),
    ("sparse_categorical_crossentropy", "softmax", "labels_n1", 3),
    ("binary_crossentropy", "sigmoid", "binary", 1),
    ("mse", "tanh", "dense", 2),
    ("categorical_crossentropy", "relu", "onehot", 3),  # probability path inside a model
])
def test_model_loss_and_grads_with_sample_weight(float64: None, loss: str, activation: str,
                                                 kind: str, units: int) -> None:
    """L = Σ wᵢlᵢ / n, and backprop of its gradient matches finite differences of L."""
    model = Sequential([layers.Input((4,)), layers.Dense(units, activation=activation,
                                                         bias_initializer="ones")])
    model.compile("sgd", loss)
    x = _rng(20).standard_normal((6, 4))
    y = _targets(kind, (6, units))
    w = np.array([1.0, 0.5, 0.0, 2.0, 1.0, 0.25])

    def total() -> float:
        outs = model._forward([x], training=True)
        return float(model._loss_and_grads([y], outs, w)[0])

    outs = model._forward([x], training=True)
    value, grads, flags = model._loss_and_grads([y], outs, w)
    per = losses.get(loss).values(y, outs[0]).reshape(6)
    np.testing.assert_allclose(value, (per * w).sum() / 6, rtol=1e-12)
    assert flags == [activation in ("softmax", "sigmoid") and "crossentropy" in loss]
    model.zero_grads()
    model._backward(grads, flags)
    kernel = model.layers[0].kernel
    analytic = kernel.grad.copy()
    numeric = np.zeros_like(analytic)
    for idx in np.ndindex(analytic.shape):
        old = kernel.value[idx]
        kernel.value[idx] = old + 1e-6
        up = total()
        kernel.value[idx] = old - 1e-6
        down = total()
        kernel.value[idx] = old
        numeric[idx] = (up - down) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)
    assert backend.floatx() == "float64"


@pytest.mark.parametrize("activation,loss,kind", [
    ("sigmoid", "categorical_crossentropy", "onehot"),
    ("sigmoid", "sparse_categorical_crossentropy", "labels"),
    ("softmax", "binary_crossentropy", "binary"),
])
def test_other_activation_gets_the_loss_of_its_outputs(activation: str, loss: str,
                                                       kind: str) -> None:
    """No shortcut through another activation's logits (Keras takes one: parity_report.md):
    the loss is the cross-entropy of the outputs, and training follows its gradient."""
    model = Sequential([layers.Input((4,)), layers.Dense(3, activation=activation)])
    model.compile("sgd", loss)
    x = _rng(21).standard_normal((6, 4))
    y = _targets(kind, (6, 3))
    outs = model._forward([backend.to_device(x.astype("float32"))], training=True)
    value, _, flags = model._loss_and_grads([y], outs, None)
    assert flags == [False]
    np.testing.assert_allclose(value, losses.get(loss).values(y, outs[0]).mean(), rtol=1e-6)
    report = gradient_check(model, x, y, verbose=False)
    assert max(report.values()) < 1e-6, report
