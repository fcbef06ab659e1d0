"""What SimpleRNN, LSTM and GRU share: the time loop's bookkeeping around a cell.

A recurrent layer reads a sequence x of shape (N, T, D) one step at a time, carrying a state
(h for SimpleRNN/GRU, h and c for LSTM) from step to step:

    state_t = cell(x_t, state_{t-1}),   state_0 = zeros (or `initial_state`, or the stored
                                                           state of a stateful layer)

The cell itself (its weights, its step formula and that formula's derivative) lives in the
subclass, as two methods:

* ``_cell_forward(x, states0, x_mask, h_mask) -> (hs, finals, cache)``: ``x`` is the input
  in time-major layout (T, N, D), already reversed when ``go_backwards``; ``x_mask`` and
  ``h_mask`` the dropout masks of the inputs and of h_{t-1} (``None``: no dropout; see
  ``dropout_masks``); ``hs`` is every h_t, (T, N, u); ``finals`` the final states; ``cache``
  the layer's named cache (``SimpleRNNCache``, ``LSTMCache``, ``GRUCache``: the contract
  between forward and backward, documented field by field with its shapes).
* ``backward(grad_output)``: backpropagation through time (BPTT), the loop over reversed
  time in plain sight. ``_unpack_output_grads`` gives it dy_t = dL/dh_t from the outputs for
  every t (time-major (T, N, u), zero where no output received a gradient), the gradients
  arriving at the final states (zeros when none) and the cache; it adds the weight
  gradients and hands dL/dx (time-major; ``None`` when the layer is first in a model and its
  input is data) and dL/dstate_0 to ``_pack_input_grads``.

This base class does everything around that: argument checks, shapes, the time-major
transpose, ``go_backwards``, ``return_sequences``/``return_state``, ``initial_state``, and
the stored state of ``stateful=True`` layers, and the dropout masks.

Dropout (Keras 3): with ``dropout`` the inputs x_t and with ``recurrent_dropout`` the
carried h_{t-1} are multiplied by a mask of 0 and 1/(1 - rate), drawn once per batch and the
same at every step; only in training. Where Keras draws one mask per gate (LSTM and GRU when
``recurrent_dropout`` is set: 4 and 3 masks), so does minikeras.

Time-major (T, N, ...) arrays are used inside because each step then reads and writes one
contiguous (N, ...) block, which is what a matrix product wants.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from minikeras import backend
from minikeras.layers.layer import InputSpec, Layer, Shape, reject_unsupported
from minikeras.layers.rnn_ops import matmul_steps, sum_over_steps

__all__ = ["RNNBase", "matmul_steps", "sum_over_steps"]

_UNSUPPORTED = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                "bias_constraint")


def with_initial_state(inputs: Any, initial_state: Any) -> Any:
    """``layer(x, initial_state=s)`` is the call ``layer([x, *s])``: the inputs as one list."""
    if initial_state is None:
        return inputs
    states = list(initial_state) if isinstance(initial_state, list | tuple) else [initial_state]
    return [inputs, *states]


class RNNBase(Layer):
    """Base of the recurrent layers. Subclasses set ``state_names`` and write the cell."""

    #: one name per carried state; LSTM has ("h", "c")
    state_names: tuple[str, ...] = ("h",)
    #: gates with their own dropout masks when ``recurrent_dropout`` is set (LSTM 4, GRU 3)
    gate_count = 1
    #: numbers per time step and unit that the forward pass holds for backward (its cache and
    #: the x W products), counted from each layer's cache: SimpleRNN z, h, xW: 3
    cached_per_step_unit = 3

    def __init__(self, units: int, *, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 use_cudnn: Any = "auto", **kwargs: Any) -> None:
        reject_unsupported(type(self).__name__, **{a: kwargs.pop(a, None) for a in _UNSUPPORTED})
        # Keras arguments with no effect here: zero_output_for_mask only changes masked steps
        # (minikeras has no masking; Bidirectional sets it), LSTM/GRU's implementation (1 or 2)
        # only the order of float additions.
        self.zero_output_for_mask = bool(kwargs.pop("zero_output_for_mask", False))
        if self.gate_count > 1:
            self.implementation = int(kwargs.pop("implementation", 2))
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                "Received an invalid value for argument `units`, expected a positive integer, "
                f"got {units!r}.")
        self.units = int(units)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        # Keras unrolls the Python loop instead of using tf.while_loop: no numeric effect, and
        # our loop is a Python loop anyway.
        self.unroll = bool(unroll)
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
                raise ValueError(f"{type(self).__name__}: `{arg}` must be a float in [0, 1]; "
                                 f"received {arg}={rate!r}.")
            if not 0 <= rate <= 1:
                warnings.warn(f"{type(self).__name__}: {arg}={rate!r} is outside [0, 1]; it is "
                              "clipped into it, as Keras does.", UserWarning, stacklevel=3)
        # Keras clips the rates into [0, 1]
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        for arg, rate in (("dropout", self.dropout), ("recurrent_dropout", self.recurrent_dropout)):
            if rate == 1:
                warnings.warn(
                    f"{type(self).__name__}: {arg}=1.0 drops every unit in training, so the layer "
                    "learns nothing from that input (Keras' LSTM and GRU silently apply no "
                    "dropout at rate 1; minikeras follows the math, see parity_report.md).",
                    UserWarning, stacklevel=3)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None
        self.use_cudnn = use_cudnn
        #: the stored state of a stateful layer: plain arrays, not weights (as in Keras)
        self.states: list[Any] | None = None
        self.input_spec = InputSpec(ndim=3)

    # ------------------------------------------------------------------ the cell (subclasses)
    def build_cell(self, input_dim: int) -> None:
        raise NotImplementedError

    def _cell_forward(self, x: Any, states0: list[Any], x_mask: Any,
                      h_mask: Any) -> tuple[Any, list[Any], Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ dropout
    def dropout_masks(self, n: int, input_dim: int, training: bool) -> tuple[Any, Any]:
        """(x_mask, h_mask) for one batch: each ``None`` (no dropout) or (K, N, d) with K = 1
        (one mask for every gate) or K = ``gate_count`` (one per gate), as Keras 3 draws them:
        a gated cell with ``recurrent_dropout`` switches to one mask per gate for both.
        Only in training, and only for a rate above 0."""
        per_gate = self.gate_count if self.recurrent_dropout > 0 else 1
        x_mask = h_mask = None
        if training and self.dropout > 0:
            x_mask = self.draw_dropout_mask((per_gate, n, input_dim), self.dropout)
        if training and self.recurrent_dropout > 0:
            h_mask = self.draw_dropout_mask((per_gate, n, self.units), self.recurrent_dropout)
        return x_mask, h_mask

    def draw_dropout_mask(self, shape: tuple[int, ...], rate: float) -> Any:
        """A mask of the given shape: 0 with probability ``rate``, else 1 / (1 - rate).
        The one place masks are drawn: a test can replace it to give minikeras and Keras the
        same masks."""
        if rate >= 1:   # every unit dropped (1 / (1 - rate) does not exist; nothing is kept)
            return backend.xp.zeros(shape, dtype=self.dtype)
        keep = backend.random_uniform(shape, self.dtype, self._rng) >= rate
        # 1/(1 - rate) rounded once to the dtype, as tf.nn.dropout scales
        return keep.astype(self.dtype) * np.dtype(self.dtype).type(1 / (1 - rate))

    # ------------------------------------------------------------------ shapes
    def _split_shapes(self, input_shape: Any) -> tuple[Shape, list[Shape]]:
        if isinstance(input_shape, list):
            return tuple(input_shape[0]), [tuple(s) for s in input_shape[1:]]
        return tuple(input_shape), []

    def build(self, input_shape: Any) -> None:
        x_shape, _ = self._split_shapes(input_shape)
        if len(x_shape) != 3:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"ndim=3, found ndim={len(x_shape)}. Full shape received: {x_shape}")
        if x_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': the last axis of its "
                             f"input must be known, got input shape {x_shape}.")
        self.build_cell(int(x_shape[-1]))
        self.input_spec = InputSpec(ndim=3, axes={-1: x_shape[-1]})
        if self.stateful:
            batch = x_shape[0]
            if self._batch_input_shape is not None and self._batch_input_shape[0] is not None:
                batch = self._batch_input_shape[0]
            if batch is None:
                raise ValueError(
                    f"Layer '{self.name}': if a RNN is stateful, the batch size must be static. "
                    "Give it with `Input(shape, batch_size=B)`, `Input(batch_shape=(B, T, D))` "
                    f"or `batch_input_shape=`. Received input shape {x_shape}.")
            self.batch_size = int(batch)
            self.states = self._zero_states()

    def compute_output_shape(self, input_shape: Any) -> Any:
        x_shape, _ = self._split_shapes(input_shape)
        n, t = x_shape[0], x_shape[1]
        out = (n, t, self.units) if self.return_sequences else (n, self.units)
        if self.return_state:
            return [out] + [(n, self.units) for _ in self.state_names]
        return out

    def forward_bytes_per_sample(self) -> int:
        """Bytes a forward pass holds per input sequence besides its output: T steps of
        ``cached_per_step_unit * units`` numbers. ``predict`` slices its batches so that no
        layer's exceeds a bound (``Trainer._inference_slice``). 0 unbuilt or T unknown."""
        if not self.built or self._input_shape is None:
            return 0
        x_shape, _ = self._split_shapes(self._input_shape)
        if len(x_shape) < 3 or x_shape[1] is None:
            return 0
        itemsize = backend.xp.dtype(backend.floatx()).itemsize
        return x_shape[1] * self.cached_per_step_unit * self.units * itemsize

    def check_input_shape(self, shape: Any, index: int = 0) -> None:
        """The sequence goes through the InputSpec; each initial state must be (N, units)."""
        if isinstance(shape, list):
            super().check_input_shape(tuple(shape[0]), 0)
            self._check_states_shapes(tuple(shape[0]), [tuple(s) for s in shape[1:]])
        elif index == 0:
            super().check_input_shape(shape, 0)

    def _check_states_shapes(self, x_shape: Shape, shapes: list[Shape]) -> None:
        if len(shapes) != len(self.state_names):
            raise ValueError(
                f"Layer '{self.name}' expects {len(self.state_names)} initial state(s) "
                f"({', '.join(self.state_names)}), received {len(shapes)}.")
        for name, s in zip(self.state_names, shapes, strict=True):
            if len(s) != 2 or s[-1] != self.units or (
                    None not in (s[0], x_shape[0]) and s[0] != x_shape[0]):
                raise ValueError(
                    f"Layer '{self.name}': initial state {name} must have shape "
                    f"({x_shape[0]}, {self.units}), received {s}.")

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs: Any, *args: Any, initial_state: Any = None, **kwargs: Any) -> Any:
        """``layer(x, initial_state=[h0(, c0)])`` is the same call as ``layer([x, h0(, c0)])``."""
        kwargs.pop("mask", None)
        return super().__call__(with_initial_state(inputs, initial_state), *args, **kwargs)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        xp = backend.xp
        given = isinstance(inputs, list | tuple)
        x = inputs[0] if given else inputs
        if x.ndim != 3:
            raise ValueError(f"Layer '{self.name}' expects a 3-D input (batch, time, features), "
                             f"received shape {tuple(x.shape)}.")
        n = x.shape[0]
        if self.stateful and n != self.batch_size:
            raise ValueError(
                f"Layer '{self.name}' is stateful with batch size {self.batch_size}, but "
                f"received a batch of {n} samples (input shape {tuple(x.shape)}). Every batch "
                f"must have exactly {self.batch_size} samples (and the data a multiple of it).")
        if given:
            self._check_states_shapes(tuple(x.shape), [tuple(s.shape) for s in inputs[1:]])
            states0 = list(inputs[1:])
        elif self.stateful:
            states0 = self.states
        else:
            states0 = [xp.zeros((n, self.units), dtype=x.dtype) for _ in self.state_names]
        # time-major (T, N, D); go_backwards reads the sequence from its last step
        xt = xp.swapaxes(x, 0, 1)
        if self.go_backwards:
            xt = xt[::-1]
        x_mask, h_mask = self.dropout_masks(n, x.shape[-1], training)
        with backend.overflow_to_inf():   # the cells' in-place sigmoid: exp(-z) = inf is right
            hs, finals, cell_cache = self._cell_forward(xp.ascontiguousarray(xt), states0,
                                                        x_mask, h_mask)
        if self.stateful:
            # the next call starts where this one ended. The copy detaches the stored state
            # from this call's cache buffers (a view would share their memory and keep them
            # alive). No gradient crosses batches: with no autograd there is no graph to cut,
            # backward simply ends at this call's h_0.
            self.states = [f.copy() for f in finals]
        self.cache = (given, cell_cache)
        # Keras returns the outputs in processing order: reversed in time when go_backwards
        out = xp.ascontiguousarray(xp.swapaxes(hs, 0, 1)) if self.return_sequences else finals[0]
        return [out, *finals] if self.return_state else out

    def _unpack_output_grads(self, grad_output: Any) -> tuple[Any, list[Any], Any]:
        """dL/d(output) (and dL/d(final states) with return_state) -> (dY, dfinals, cache).

        dY[t] = dy_t, the gradient arriving at h_t from the layer's outputs, time-major
        (T, N, u): the output sequence's gradient, or zeros when only h_T is returned.
        dfinals: the gradients arriving at the final states from
        ``return_state`` (zeros when none), plus dL/dh_T from the output when it is h_T itself.
        cache: what ``_cell_forward`` stored."""
        xp = backend.xp
        _, cell_cache = self.cache
        h_last = cell_cache.h[-1]
        if self.return_state:
            dout, *dfinals = list(grad_output)
        else:
            dout, dfinals = grad_output, [None] * len(self.state_names)
        dfinals = [xp.zeros_like(h_last) if d is None else d for d in dfinals]
        if self.return_sequences and dout is not None:
            dY = xp.ascontiguousarray(xp.swapaxes(dout, 0, 1))
        else:
            # no output sequence: dy_t = 0 at every step (a read-only view of one zero row: no
            # (T, N, u) array to allocate), and the output h_T's gradient joins the final state's
            dY = xp.broadcast_to(xp.zeros_like(h_last), cell_cache.h[1:].shape)
            if dout is not None:
                dfinals[0] = dfinals[0] + dout
        return dY, dfinals, cell_cache

    def _pack_input_grads(self, dxt: Any, dstates0: list[Any]) -> Any:
        """Time-major dL/dx back to (N, T, D) (and in reading order for go_backwards), plus
        dL/d(initial states) when they were given as inputs."""
        xp = backend.xp
        given, _ = self.cache
        dx = None
        if dxt is not None:
            if self.go_backwards:
                dxt = dxt[::-1]
            dx = xp.ascontiguousarray(xp.swapaxes(dxt, 0, 1))
        return [dx, *dstates0] if given else dx

    # ------------------------------------------------------------------ stateful
    def reset_state(self, states: Any = None) -> None:
        """Zero the stored state of a stateful layer, or set it to ``states`` ([h(, c)])."""
        if not self.stateful:
            return
        if self.states is None:
            raise ValueError(f"Layer '{self.name}' must be built before its state is reset.")
        if states is None:
            self.states = self._zero_states()
            return
        shape = (self.batch_size, self.units)
        states = list(states) if isinstance(states, list | tuple) else [states]
        if len(states) != len(self.state_names):
            raise ValueError(f"Layer '{self.name}' has {len(self.state_names)} state(s), "
                             f"received {len(states)} values.")
        new = [backend.to_device(s, self.dtype) for s in states]
        for s in new:
            if tuple(s.shape) != shape:
                raise ValueError(f"Layer '{self.name}': each state must have shape {shape}, "
                                 f"received {tuple(s.shape)}.")
        self.states = new

    def _zero_states(self) -> list[Any]:
        shape = (self.batch_size, self.units)
        return [backend.xp.zeros(shape, dtype=self.dtype) for _ in self.state_names]

    def reset_states(self, states: Any = None) -> None:
        """Alias of ``reset_state`` (Keras 2 name)."""
        self.reset_state(states)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}

    def _config_initializers(self) -> dict[str, Any]:
        from minikeras import initializers

        return {key: initializers.serialize(initializers.get(getattr(self, key)))
                for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer")}
