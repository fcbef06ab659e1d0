"""Bidirectional: one recurrent layer reads the sequence forwards, a twin reads it backwards."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.layers.layer import InputSpec, Layer, Shape
from minikeras.layers.rnn_base import with_initial_state

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Run ``layer`` over the sequence forwards and a copy of it backwards, and merge the two.

    The forward layer is a fresh copy of ``layer`` named ``forward_<name>``; the backward
    layer is ``backward_layer`` when given, else a copy of ``layer`` with ``go_backwards``
    flipped, named ``backward_<name>`` (as in Keras 3, the wrapped instance itself is not
    used, so its weights are not shared). With y = forward(x) and y_rev = backward(x), the
    latter flipped back along time when sequences are returned (so that y_rev[:, t] has seen
    x_t ... x_T), the output is, by ``merge_mode``:

        "concat": [y | y_rev]       "sum": y + y_rev       "ave": (y + y_rev) / 2
        "mul":    y * y_rev         None:  the list [y, y_rev]

    followed, with ``return_state``, by the forward layer's final states and then the
    backward layer's. ``initial_state``: its first half goes to the forward layer, the second
    half to the backward layer. Weights: the forward layer's, then the backward layer's.

    Backward pass (``backward``), given dout = dL/d(output): the merge's derivative gives
    dy = dL/dy and dy_rev = dL/dy_rev (u = the forward layer's units),

        "concat": dy = dout[..., :u],    dy_rev = dout[..., u:]
        "sum":    dy = dout,             dy_rev = dout
        "ave":    dy = dout / 2,         dy_rev = dout / 2
        "mul":    dy = dout * y_rev,     dy_rev = dout * y
        None:     dy, dy_rev = the gradients of the two outputs

    dy_rev is flipped back into the backward layer's reading order, each layer runs its own
    BPTT (dx_fwd, dx_bwd, and the gradients of its initial states), and since both layers
    read the same x, dL/dx = dx_fwd + dx_bwd.
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should "
                             'be one of {"sum", "mul", "ave", "concat", None}')
        if "batch_input_shape" not in kwargs and "input_shape" not in kwargs and \
                layer._batch_input_shape is not None:
            kwargs["batch_input_shape"] = layer._batch_input_shape   # Keras 2 models did this
        super().__init__(**kwargs)
        self.forward_layer = self._track(_copy(layer, "forward_" + _strip(layer.name,
                                                                          "forward_")))
        if backward_layer is None:
            backward_layer = _copy(layer, "backward_" + _strip(layer.name, "backward_"),
                                   go_backwards=not layer.go_backwards)
        self.backward_layer = self._track(backward_layer)
        self._verify_layer_config()
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.input_spec = InputSpec(ndim=3)

    def _verify_layer_config(self) -> None:
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. "
                f"Received: forward_layer.go_backwards {fwd.go_backwards}, "
                f"backward_layer.go_backwards={bwd.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for "
                    f'attribute "{attr}", got "{getattr(fwd, attr)}" for forward layer and '
                    f'"{getattr(bwd, attr)}" for backward layer')

    # ------------------------------------------------------------------ shapes
    def _split(self, items: list[Any]) -> tuple[list[Any], list[Any]]:
        """[x, *states] -> ([x, *forward states], [x, *backward states])."""
        x, states = items[0], list(items[1:])
        if len(states) % 2:
            raise ValueError(f"Layer '{self.name}': `initial_state` must hold the forward "
                             "layer's states then the backward layer's (an even number), "
                             f"received {len(states)}.")
        half = len(states) // 2
        return [x, *states[:half]], [x, *states[half:]]

    def build(self, input_shape: Any) -> None:
        x_shape = tuple(input_shape[0]) if isinstance(input_shape, list) else tuple(input_shape)
        for layer in (self.forward_layer, self.backward_layer):
            if layer._batch_input_shape is None and self._batch_input_shape is not None:
                layer._batch_input_shape = self._batch_input_shape   # a stateful batch size
            layer.build_for(x_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def check_input_shape(self, shape: Any, index: int = 0) -> None:
        if isinstance(shape, list):
            fwd, bwd = self._split(shape)
            self.forward_layer.check_input_shape(fwd)
            self.backward_layer.check_input_shape(bwd)
        elif index == 0:
            super().check_input_shape(shape, 0)

    def compute_output_shape(self, input_shape: Any) -> Any:
        x_shape = tuple(input_shape[0]) if isinstance(input_shape, list) else tuple(input_shape)
        out = self.forward_layer.compute_output_shape(x_shape)
        states: list[Shape] = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        if self.merge_mode == "concat":
            out = (*out[:-1], out[-1] * 2)
        merged = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            return merged + states + states
        return merged if self.merge_mode is None else out

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs: Any, *args: Any, initial_state: Any = None, **kwargs: Any) -> Any:
        """``layer(x, initial_state=[...])`` is the same call as ``layer([x, ...])``."""
        kwargs.pop("mask", None)
        return super().__call__(with_initial_state(inputs, initial_state), *args, **kwargs)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        xp = backend.xp
        given = isinstance(inputs, list | tuple)
        fwd_in, bwd_in = self._split(list(inputs)) if given else (inputs, inputs)
        fwd_out = self.forward_layer.forward(fwd_in, training=training)
        fwd_cache = self.forward_layer.cache
        bwd_out = self.backward_layer.forward(bwd_in, training=training)
        states: list[Any] = []
        if self.return_state:
            states = [*fwd_out[1:], *bwd_out[1:]]
            fwd_out, bwd_out = fwd_out[0], bwd_out[0]
        y = fwd_out
        # back in reading order: y_rev[:, t] is the backward layer's output after reading x_t
        y_rev = xp.flip(bwd_out, axis=1) if self.return_sequences else bwd_out
        # the inner caches ride along in ours, so a shared Bidirectional can swap them back
        self.cache = (given, fwd_cache, self.backward_layer.cache, y, y_rev)
        output = self._merge(y, y_rev)
        if self.return_state or self.merge_mode is None:
            return output + states
        return output[0]

    def _merge(self, y: Any, y_rev: Any) -> list[Any]:
        """The output(s) by ``merge_mode`` (the class docstring's table)."""
        if self.merge_mode == "concat":
            return [backend.xp.concatenate([y, y_rev], axis=-1)]
        if self.merge_mode == "sum":
            return [y + y_rev]
        if self.merge_mode == "ave":
            return [(y + y_rev) / 2]
        if self.merge_mode == "mul":
            return [y * y_rev]
        return [y, y_rev]

    def backward(self, grad_output: Any) -> Any:
        """dL/d(outputs) -> dL/dx (and dL/d(initial states)), as in the class docstring:

            dy, dy_rev = the merge's derivative of dout
            dy_rev     = flip(dy_rev) along time      (the backward layer's reading order)
            dx_fwd     = forward_layer's BPTT of dy
            dx_bwd     = backward_layer's BPTT of dy_rev
            dx         = dx_fwd + dx_bwd              (both layers read x)
        """
        given, fwd_cache, bwd_cache, y, y_rev = self.cache
        grads = (list(grad_output) if self.return_state or self.merge_mode is None
                 else [grad_output])
        n_outputs = 2 if self.merge_mode is None else 1
        douts, dstates = grads[:n_outputs], grads[n_outputs:]   # outputs', then states'
        dy, dy_rev = self._merge_backward(douts, y, y_rev)
        if self.return_sequences and dy_rev is not None:
            dy_rev = backend.xp.flip(dy_rev, axis=1)
        half = len(dstates) // 2      # the forward layer's states, then the backward layer's
        dx_fwd, dstates_fwd = self._inner_backward(self.forward_layer, fwd_cache, dy,
                                                   dstates[:half], given)
        dx_bwd, dstates_bwd = self._inner_backward(self.backward_layer, bwd_cache, dy_rev,
                                                   dstates[half:], given)
        dx = None if dx_fwd is None else dx_fwd + dx_bwd
        return [dx, *dstates_fwd, *dstates_bwd] if given else dx

    def _merge_backward(self, douts: list[Any], y: Any, y_rev: Any) -> tuple[Any, Any]:
        """(dy, dy_rev) from the outputs' gradients by ``merge_mode`` (the class docstring's
        table); (None, None) when only the returned states reach the loss."""
        if self.merge_mode is None:
            return douts[0], douts[1]
        dout = douts[0]
        if dout is None:
            return None, None
        if self.merge_mode == "concat":
            u = y.shape[-1]
            return dout[..., :u], dout[..., u:]
        if self.merge_mode == "sum":
            return dout, dout
        if self.merge_mode == "ave":
            dy = dy_rev = dout / 2
            return dy, dy_rev
        return dout * y_rev, dout * y     # "mul"

    def _inner_backward(self, layer: Any, cache: Any, dy: Any, dstates: list[Any],
                        given: bool) -> tuple[Any, list[Any]]:
        """One inner layer's BPTT on its own cache of this call: (dx, dL/d(its initial
        states)); states only when they were given."""
        layer.cache = cache
        layer.input_grad_needed = self.input_grad_needed
        try:
            grads = layer.backward([dy, *dstates] if self.return_state else dy)
        finally:
            layer.input_grad_needed = True
        if given:
            dx, *dinitial = grads
            return dx, dinitial
        return grads, []

    # ------------------------------------------------------------------ stateful
    @property
    def states(self) -> Any:
        fwd, bwd = self.forward_layer.states, self.backward_layer.states
        return tuple(fwd + bwd) if fwd and bwd else None

    def reset_state(self, states: Any = None) -> None:
        """Zero both layers' stored states (stateful only), or set them: forward's first."""
        if not self.stateful:
            return
        if states is None:
            self.forward_layer.reset_state()
            self.backward_layer.reset_state()
            return
        fwd, bwd = self._split([None, *states])
        self.forward_layer.reset_state(fwd[1:])
        self.backward_layer.reset_state(bwd[1:])

    def reset_states(self, states: Any = None) -> None:
        """Alias of ``reset_state`` (Keras 2 name)."""
        self.reset_state(states)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from minikeras.layers.serialization import serialize_layer

        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_layer(self.forward_layer),
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        from minikeras.layers.serialization import deserialize_layer

        config = dict(config)
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_layer(config[key])
        return super().from_config(config)   # type: ignore[return-value]


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


def _copy(layer: Layer, name: str, **changes: Any) -> Layer:
    """A fresh, unbuilt layer with ``layer``'s configuration (Keras clones through the
    config too), renamed and with ``changes`` applied."""
    return type(layer).from_config({**layer.get_config(), "name": name, **changes})
