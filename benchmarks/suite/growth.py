"""The models learners grow into (issue 18), described once, built in Keras or minikeras.

These are not tutorials of this repository, so they are not in ``parity_tests/models.py``;
they are the keras-io examples as published, in the same ``ModelSpec`` form, so that the
suite's workers, the scaling run and the parity harness's ``fresh_session`` treat them as
they treat the six tutorials:

* ``convnet``: keras-io "Simple MNIST convnet": Conv2D(32, 3x3, relu), MaxPooling2D(2),
  Conv2D(64, 3x3, relu), MaxPooling2D(2), Flatten, Dropout(0.5), Dense(10, softmax);
  categorical crossentropy, Adam (Keras' defaults), batch 128.
* ``hrnn``: keras-io "MNIST hierarchical RNN": TimeDistributed(LSTM(128)) encodes each of the
  28 rows of an image (28 steps of 1 pixel), LSTM(128) runs over the 28 row codes, then
  Dense(10, softmax); categorical crossentropy, RMSprop (Keras' defaults), batch 32.
"""

from __future__ import annotations

from typing import Any

from parity_tests.harness import mnist_data
from parity_tests.models import Built, ModelSpec


def build_convnet(fw: Any) -> Built:
    L = fw.layers
    return Built(fw.Sequential([
        fw.Input((28, 28, 1)),
        L.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Flatten(),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ]))


def build_hrnn(fw: Any) -> Built:
    L = fw.layers
    return Built(fw.Sequential([
        fw.Input((28, 28, 1)),
        L.TimeDistributed(L.LSTM(128)),   # each row: 28 steps of 1 pixel -> a 128-vector
        L.LSTM(128),                      # over the 28 row vectors
        L.Dense(10, activation="softmax"),
    ]))


GROWTH_SPECS: dict[str, ModelSpec] = {s.key: s for s in [
    ModelSpec("convnet", "keras-io simple MNIST convnet, Adam, batch 128",
              ("Sequential", "optimizers.Adam", "layers.Conv2D", "layers.MaxPooling2D",
               "layers.Dropout"), build_convnet, lambda fw: fw.optimizers.Adam(),
              "categorical_crossentropy", ("accuracy",), lambda: mnist_data((28, 28, 1)),
              batch_size=128, ci_steps=4, long_steps=100, eval_batch_size=256),
    ModelSpec("hrnn", "keras-io hierarchical RNN (TimeDistributed(LSTM(128)), LSTM(128)), "
              "RMSprop, batch 32",
              ("Sequential", "optimizers.RMSprop", "layers.LSTM", "layers.TimeDistributed"),
              build_hrnn, lambda fw: fw.optimizers.RMSprop(), "categorical_crossentropy",
              ("accuracy",), lambda: mnist_data((28, 28, 1)), batch_size=32, ci_steps=4,
              long_steps=100, eval_batch_size=256),
]}


def all_specs() -> dict[str, ModelSpec]:
    """The six tutorials' specs and these, by key."""
    from parity_tests.models import SPECS

    return {**SPECS, **GROWTH_SPECS}


def build_compiled(key: str, fw: Any, metrics: bool = True) -> Any:
    """Model ``key`` (a tutorial or a growth model) built in ``fw`` and compiled as its
    source compiles it (``parity_tests.models.build_compiled`` for the growth models too)."""
    spec = all_specs()[key]
    model = spec.build(fw).model
    model.compile(optimizer=spec.optimizer(fw), loss=spec.loss,
                  metrics=list(spec.metrics) if metrics else None)
    return model
