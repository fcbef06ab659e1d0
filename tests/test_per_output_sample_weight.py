"""One weight array per output (Keras' list/dict ``sample_weight``) is refused clearly.

GAN scripts (Keras 2's ``mnist_acgan.py``) weight each output's loss by its own array; minikeras
weights every output by one ``(N,)`` array. The refusal must say so, and change nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers as L


def two_output_model() -> mk.Model:
    x = mk.Input((3,))
    h = L.Dense(4, activation="relu")(x)
    model = mk.Model(x, [L.Dense(1, activation="sigmoid", name="real")(h),
                         L.Dense(5, activation="softmax", name="cls")(h)])
    model.compile("adam", ["binary_crossentropy", "sparse_categorical_crossentropy"])
    return model


@pytest.mark.parametrize("as_dict", [False, True])
def test_per_output_sample_weight_is_refused_and_changes_nothing(as_dict: bool) -> None:
    rng = np.random.default_rng(0)
    model = two_output_model()
    x = rng.standard_normal((6, 3)).astype("float32")
    y = [rng.integers(0, 2, 6).astype("float32"), rng.integers(0, 5, 6)]
    model.train_on_batch(x, y)   # builds the optimizer state
    before = [w.copy() for w in model.get_weights()]
    weights = [np.ones(6), np.r_[np.full(3, 2.0), np.zeros(3)]]
    sw = dict(zip(["real", "cls"], weights, strict=True)) if as_dict else weights
    for call in (lambda: model.train_on_batch(x, y, sample_weight=sw),
                 lambda: model.fit(x, y, sample_weight=sw, verbose=0),
                 lambda: model.evaluate(x, y, sample_weight=sw, verbose=0)):
        with pytest.raises(NotImplementedError, match="one array per output"):
            call()
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # one (N,) array still weights every output's loss, as before
    model.train_on_batch(x, y, sample_weight=weights[1])
