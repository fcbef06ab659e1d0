"""A convolution lets go of its last patch matrix before it makes the next one.

A model keeps each layer's cache from a step's forward to its backward, and then until the
next step. If the old patch matrix were still alive while ``Conv2D.forward`` makes the new
one, a training step would hold two of them at its peak (the tutorial CNN: two 40 MB
matrices). These tests catch the moment ``im2col`` is called for the second step and check
that the first step's patch matrix is gone by then, in a Sequential and in a functional model.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers
from minikeras.layers import im2col as ic


def _conv_model(kind: str, conv: type) -> mk.Model:
    if conv is layers.Conv2D:
        shape, pool, kernel = (8, 8, 1), layers.MaxPooling2D(), 3
    else:
        shape, pool, kernel = (12, 2), layers.MaxPooling1D(), 3
    if kind == "sequential":
        model = mk.Sequential([layers.Input(shape), conv(4, kernel, activation="relu"), pool,
                               layers.Flatten(), layers.Dense(3, activation="softmax")])
    else:
        inp = mk.Input(shape)
        h = layers.Flatten()(pool(conv(4, kernel, activation="relu")(inp)))
        model = mk.Model(inp, layers.Dense(3, activation="softmax")(h))
    model.compile("adam", "categorical_crossentropy")
    return model


@pytest.mark.parametrize("conv", [layers.Conv2D, layers.Conv1D])
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_last_patch_matrix_is_gone_when_the_next_is_made(kind: str, conv: type,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    model = _conv_model(kind, conv)
    rng = np.random.default_rng(0)
    shape = (6, *model.input_shape[1:])
    x = rng.random(shape, dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)]
    model.train_on_batch(x, y)
    conv_layer = next(la for la in model.layers if isinstance(la, conv))
    old = weakref.ref(conv_layer.cache[0])   # the first step's patch matrix (cols)
    seen: list[bool] = []
    make = ic.im2col

    def watching_im2col(*args, **kwargs):  # type: ignore[no-untyped-def]
        gc.collect()
        seen.append(old() is None)
        return make(*args, **kwargs)

    monkeypatch.setattr(ic, "im2col", watching_im2col)
    model.train_on_batch(x, y)
    assert seen == [True], "the last step's patch matrix was still alive when the next was made"
    # and the step still trains: the new cache is the one backward used
    assert conv_layer.cache[0] is not None and old() is None
