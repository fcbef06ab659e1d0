"""A model's analytic working set: the bytes one training step must hold, counted by hand.

Peak RSS mixes the interpreter, the framework's own start-up (TensorFlow's is hundreds of
MB) and the data with the model, so a ratio of peak RSS says little about how a framework
handles *the model*. The suite therefore also reports each worker's peak RSS above its
start-up baseline (measured right after importing the framework, before data and model)
next to this analytic working set of the model at the training batch size:

* weights and their gradients: 2 x parameters;
* optimizer state: 2 x parameters for Adam (m, v), 1 x for RMSprop (mean square), 0 for SGD
  without momentum;
* activations kept for the backward pass: for each layer its output (and z as well as y when
  it has an activation); an RNN keeps, per time step, its input, state and gates (LSTM: x_t,
  h, c, i, f, g, o, tanh c; SimpleRNN: x_t, h; GRU: x_t, h, z, r, h~); a TimeDistributed layer
  holds its inner layer's for batch x steps samples;
* patch matrices: a Conv2D's im2col rows and their gradient (2 x N*oh*ow*kh*kw*C numbers).

All float32 (4 bytes). It is what any framework must hold with these algorithms (a direct or
Winograd convolution holds no patch matrix: then the patches are the part it saves).
"""

from __future__ import annotations

import math
from typing import Any

BYTES = 4
RNN_PER_STEP = {"LSTM": 7, "SimpleRNN": 1, "GRU": 4}  # numbers per unit besides x_t
OPTIMIZER_SLOTS = {"Adam": 2, "AdamW": 2, "Nadam": 2, "Adamax": 2, "RMSprop": 1,
                   "Adagrad": 1, "Adadelta": 2, "SGD": 0}


def _elements(shape: Any) -> int:
    return int(math.prod(d for d in shape[1:] if d is not None))


def _layer_bytes(layer: Any, batch: int) -> tuple[int, int]:
    """(activation bytes, patch bytes) one layer keeps for ``batch`` samples."""
    name = type(layer).__name__
    if name == "TimeDistributed":
        steps = layer._input_shape[1]
        act, patch = _layer_bytes(layer.layer, batch * steps)
        return act, patch
    out = _elements(layer._output_shape) if layer._output_shape is not None else 0
    if name in RNN_PER_STEP:
        steps, features = layer._input_shape[1], layer._input_shape[2]
        per_step = features + RNN_PER_STEP[name] * layer.units
        return batch * steps * per_step * BYTES, 0
    activation = getattr(getattr(layer, "activation", None), "name", "linear")
    act = out * (2 if activation != "linear" else 1)  # z and y
    patch = 2 * layer.forward_bytes_per_sample() * batch if name == "Conv2D" else 0
    return batch * act * BYTES, patch


def working_set(model: Any, batch: int) -> dict[str, float]:
    """MB of weights+gradients, optimizer state, activations, patch matrices, and total."""
    params = sum(int(math.prod(w.shape)) for w in model.weights)
    slots = OPTIMIZER_SLOTS.get(type(model.optimizer).__name__, 2)
    act = patch = 0
    for layer in model.layers:
        a, p = _layer_bytes(layer, batch)
        act, patch = act + a, patch + p
    first = model.layers[0]
    inputs = batch * _elements(first._input_shape) * BYTES if first._input_shape else 0
    mb = 2**20
    out = {"weights_and_grads_mb": 2 * params * BYTES / mb,
           "optimizer_state_mb": slots * params * BYTES / mb,
           "activations_mb": (act + inputs) / mb, "patch_matrices_mb": patch / mb}
    out["total_mb"] = sum(out.values())
    return out
