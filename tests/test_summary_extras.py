"""``model.summary(show_flops=True, show_memory=True)``: numbers worked out by hand.

The default summary is Keras' text byte for byte (``test_training.py`` checks it); here the
extra columns must leave it alone and count right.
"""

from __future__ import annotations

import numpy as np
from test_training import SUMMARY

import minikeras as mk
from minikeras import layers
from minikeras.models.summary import layer_flops, readable_count


def _mlp() -> mk.Sequential:
    return mk.Sequential([mk.Input((784,)), layers.Dense(32, activation="relu"),
                          layers.Dense(10, activation="softmax")])


def _lines(model: mk.Model, **kwargs: bool) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_default_is_still_keras_text() -> None:
    model = _mlp()
    assert "\n".join(_lines(model, show_flops=False, show_memory=False)) == SUMMARY


def test_mlp_flops_and_memory() -> None:
    model = _mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    lines = _lines(model, show_flops=True, show_memory=True)
    # Dense(32) on 784 features: 2*784*32 multiply-add flops + 32 bias adds
    assert layer_flops(model.layers[0]) == 2 * 784 * 32 + 32
    assert layer_flops(model.layers[1]) == 2 * 32 * 10 + 10
    assert "FLOPs" in lines[2] and "Output mem" in lines[2]
    row = next(line for line in lines if line.startswith("│ dense (Dense)"))
    assert row.endswith("│      50.2K │   128.00 B │")      # 32 float32 outputs
    assert " Forward FLOPs per sample: 50.9K (a training step: about 3x, backward computes " \
           "dL/dW and dL/dx)" in lines
    weights = (784 * 32 + 32 + 32 * 10 + 10) * 4
    assert f" Weights memory: {weights / 1024:.2f} KB" in lines
    # Adam keeps m and v per weight (+ the iteration count and learning rate): before the
    # first step the summary predicts the size; after it, it counts the real arrays
    predicted = next(line for line in lines if line.startswith(" Optimizer state memory"))
    assert predicted.endswith("(from the first step: 2 per weight)")
    model.train_on_batch(np.zeros((2, 784), "float32"), np.eye(10, dtype="float32")[:2])
    actual = next(line for line in _lines(model, show_memory=True)
                  if line.startswith(" Optimizer state memory"))
    assert actual == predicted.split(" (from")[0]
    assert " Activations memory per sample: 168.00 B (layer outputs; x batch size, + backward " \
           "caches)" in lines


def test_conv_rnn_time_distributed_and_pooling_counts() -> None:
    conv = mk.Sequential([mk.Input((8, 8, 3)), layers.Conv2D(4, 3, padding="same"),
                          layers.MaxPooling2D(2), layers.Flatten()])
    c, pool, flat = conv.layers
    assert layer_flops(c) == 8 * 8 * 4 * (2 * 3 * 3 * 3) + 8 * 8 * 4
    assert layer_flops(pool) == 4 * 4 * 4 * 4 and layer_flops(flat) == 0
    rnn = mk.Sequential([mk.Input((5, 3)), layers.LSTM(6, return_sequences=True),
                         layers.TimeDistributed(layers.Dense(2)), layers.SimpleRNN(4)])
    lstm, td, simple = rnn.layers
    assert layer_flops(lstm) == 5 * (2 * (3 + 6) * 24 + 24)        # 4 gates of 6 units
    assert layer_flops(td) == 5 * (2 * 6 * 2 + 2)
    assert layer_flops(simple) == 5 * (2 * (2 + 4) * 4 + 4)
    assert readable_count(1_234_567) == "1.23M" and readable_count(None) == "?"


def test_functional_with_connections_and_unbuilt() -> None:
    a, b = mk.Input((4,)), mk.Input((4,))
    out = layers.Dense(3)(layers.Add()([a, b]))
    lines = _lines(mk.Model([a, b], out), show_flops=True)
    assert any("Connected to" in line and "FLOPs" in line for line in lines)
    add_row = next(line for line in lines if line.startswith("│ add (Add)"))
    assert "│          4 │" in add_row                  # one add per output element
    unbuilt = mk.Sequential([layers.Dense(2)])
    lines = _lines(unbuilt, show_flops=True, show_memory=True)
    assert " Forward FLOPs per sample: ? (a training step: about 3x, backward computes " \
           "dL/dW and dL/dx)" in lines
