"""Wrappers: layers that apply another layer in a new way."""

from __future__ import annotations

from typing import Any

from minikeras.layers.layer import InputSpec, Layer, Shape


class TimeDistributed(Layer):
    """Apply ``layer`` to every time step of a sequence, with the same weights for all steps.

    The trick is to fold time into the batch: an input (N, T, ...) is reshaped to
    (N*T, ...), the inner layer sees N*T independent samples, and its output (N*T, ...) is
    reshaped back to (N, T, ...). The backward pass is the same three moves on the gradient:

        dy (N, T, ...) -> (N*T, ...) -> inner.backward -> (N*T, ...) -> dx (N, T, ...)

    The inner layer sums its weight gradients over all N*T rows, which is exactly the sum
    over batch and time that sharing the weights across steps calls for. The weights are the
    inner layer's own (``TimeDistributed(Dense(k))`` has Dense's kernel and bias).
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a `Layer` "
                             f"instance. Received: {layer!r}")
        self.layer = self._track(layer)
        self.input_spec = InputSpec(min_ndim=3)

    def _inner_shape(self, input_shape: Shape) -> Shape:
        n, t = input_shape[0], input_shape[1]
        return (None if n is None or t is None else n * t, *input_shape[2:])

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 3:
            raise ValueError(
                f"`TimeDistributed` Layer '{self.name}' should be passed an `input_shape` with "
                f"at least 3 dimensions, received: {input_shape}")
        self.layer.build_for(self._inner_shape(input_shape))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *tuple(inner)[1:])

    def forward_bytes_per_sample(self) -> int:
        """One sample of T steps is T samples of the inner layer: T times what the inner layer
        holds per sample (``Trainer._inference_slice`` bounds predict's slices by it)."""
        inner = getattr(self.layer, "forward_bytes_per_sample", lambda: 0)()
        if not self.built or self._input_shape is None or self._input_shape[1] is None:
            return 0
        return self._input_shape[1] * inner

    def forward(self, inputs: Any, training: bool = False) -> Any:
        n, t = inputs.shape[0], inputs.shape[1]
        folded = inputs.reshape((n * t, *inputs.shape[2:]))
        self.layer.check_input_shape(tuple(folded.shape))
        y = self.layer.forward(folded, training=training)
        # the inner layer's cache rides along in ours, so a shared TimeDistributed can swap it
        self.cache = (n, t, inputs.shape, self.layer.cache)
        return y.reshape((n, t, *y.shape[1:]))

    def backward(self, grad_output: Any) -> Any:
        """y[:, t] = f(x[:, t]) for every t, with one set of weights: time is folded into the
        batch, so dx = unfold(f.backward(fold(dy))) and the inner layer's dW = Σ_n Σ_t dW[n, t]
        (its ``backward`` already sums over the rows it sees).
        """
        n, t, in_shape, inner_cache = self.cache
        self.layer.cache = inner_cache
        d = self._inner(self.layer.backward, grad_output)
        return None if d is None else d.reshape(in_shape)

    def output_activation(self) -> str | None:
        return self.layer.output_activation()

    def output_logits(self) -> Any:
        """The inner layer's logits, unfolded to (N, T, ...), when it ends in softmax/sigmoid."""
        if self.cache is None:
            return None
        n, t, _, inner_cache = self.cache
        self.layer.cache = inner_cache
        z = self.layer.output_logits()
        return None if z is None else z.reshape((n, t, *z.shape[1:]))

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """As ``backward``, from dz = dL/dz of the inner layer's logits:
        dx = unfold(f.backward_from_logits(fold(dz))).
        """
        n, t, in_shape, inner_cache = self.cache
        self.layer.cache = inner_cache
        d = self._inner(self.layer.backward_from_logits, grad_logits)
        return None if d is None else d.reshape(in_shape)

    def _inner(self, backward: Any, grad: Any) -> Any:
        """Run an inner backward on the folded gradient, passing on ``input_grad_needed``."""
        n, t = self.cache[0], self.cache[1]
        self.layer.input_grad_needed = self.input_grad_needed
        try:
            return backward(grad.reshape((n * t, *grad.shape[2:])))
        finally:
            self.layer.input_grad_needed = True

    def get_config(self) -> dict[str, Any]:
        from minikeras.layers.serialization import serialize_layer

        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        from minikeras.layers.serialization import deserialize_layer

        config = dict(config)
        inner = config.pop("layer")
        return cls(deserialize_layer(inner) if isinstance(inner, dict) else inner, **config)
