"""The Layer contract every minikeras layer follows.

A layer is built once, from the shape of its first input (or eagerly, from ``input_shape=``),
which is when it creates its weights. After that, training is two calls per batch:

* ``forward(x, training)`` computes the output and keeps in ``self.cache`` what the backward
  pass will need (inputs, pre-activations, masks...);
* ``backward(dy)`` receives dL/d(output), adds dL/d(weight) to each weight's ``grad`` and
  returns dL/d(input).

A layer never changes its own weights while training: the optimizer does, from ``grad``.
Everything a backward pass needs lives in ``self.cache`` and nowhere else, so a model that
calls one layer twice (shared layers) can keep one cache per call and swap it in.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any

import numpy as np

from minikeras import backend, initializers, registry
from minikeras.utils import validation
from minikeras.variable import Variable

Shape = tuple[int | None, ...]


def snake_case(name: str) -> str:
    """``Dense`` -> ``dense``, ``MaxPooling2D`` -> ``max_pooling2d``, ``SimpleRNN`` ->
    ``simple_rnn``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def reject_unsupported(layer: str, **arguments: Any) -> None:
    """Regularizers, constraints...: accepted names, but minikeras does not implement them,
    so passing one is a clear NotImplementedError rather than a silently ignored setting."""
    for arg, value in arguments.items():
        if value is not None:
            raise NotImplementedError(f"{layer}: `{arg}` is not supported by minikeras yet.")


class InputSpec:
    """What a layer accepts: an exact rank, a minimum rank, and fixed sizes on some axes."""

    def __init__(
        self, ndim: int | None = None, min_ndim: int | None = None, axes: dict | None = None
    ) -> None:
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})


class Layer:
    """Base class: naming, building, weights, shape checks and the forward/backward contract."""

    #: registry key = prefix + class name ("ops." for operations, whose names repeat layers')
    _registry_prefix = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("minikeras."):  # so that loading, Input, legacy find it
            registry.register(cls, cls._registry_prefix + cls.__name__)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def wrapped(self: Layer, *args: Any, **kw: Any) -> None:
            # Keras 1/2 spellings (output_dim=, border_mode=, ...) become modern ones here,
            # each with a DeprecationWarning, before the real constructor sees them.
            from minikeras import legacy

            args, kw = legacy.convert_layer_arguments(type(self), init, args, kw)
            init(self, *args, **kw)

        cls.__init__ = wrapped  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype: str | None = None,
        input_shape: Shape | None = None,
        input_dim: int | None = None,
        batch_input_shape: Shape | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        validation.check_layer_args(type(self).__name__, dtype, input_shape, batch_input_shape,
                                    input_dim, batch_size)
        self.name = name or backend.unique_name(snake_case(type(self).__name__))
        self.trainable = trainable
        self.dtype = str(np.dtype(dtype)) if dtype is not None else backend.floatx()
        self.built = False
        self.cache: Any = None
        #: False while this layer is the first of a model being trained: its input is data,
        #: so backward may skip dL/dx (and return None).
        self.input_grad_needed = True
        self.input_spec: InputSpec | None = None
        self._own_weights: list[Variable] = []
        self._sublayers: list[Layer] = []
        self._input_shape: Shape | None = None
        self._output_shape: Any = None
        self._inbound_nodes: list[Any] = []
        self._batch_input_shape: Shape | None = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size, *tuple(input_shape))
        if self._batch_input_shape is not None and not isinstance(self, _NoInputWarning):
            warnings.warn(
                f"Do not pass an `input_shape`/`input_dim` argument to a layer ({self.name}). "
                "When using Sequential models, prefer using an `Input(shape)` object as the "
                "first layer in the model instead.",
                UserWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ weights
    def add_weight(
        self,
        name: str,
        shape: tuple[int, ...],
        initializer: Any = "glorot_uniform",
        trainable: bool = True,
    ) -> Variable:
        """Create a weight: drawn on the host by the initializer, then moved to the device."""
        init = initializers.get(initializer)
        host = np.asarray(init(tuple(int(s) for s in shape), dtype=self.dtype))
        var = Variable(backend.to_device(host, self.dtype), name=f"{self.name}/{name}",
                       trainable=trainable)
        self._own_weights.append(var)
        return var

    def _track(self, layer: Layer) -> Layer:
        """Register a sub-layer (TimeDistributed's inner layer) so its weights are ours."""
        self._sublayers.append(layer)
        return layer

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [w for w in self._own_weights if w.trainable]
        return _unique(own + [w for s in self._sublayers for w in s.trainable_weights])

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        own = [w for w in self._own_weights if not w.trainable]
        return _unique(own + [w for s in self._sublayers for w in s.non_trainable_weights])

    @property
    def weights(self) -> list[Variable]:
        """Keras order: own trainable, own non-trainable, then sub-layers' (recursively)."""
        own = [w for w in self._own_weights if w.trainable]
        own += [w for w in self._own_weights if not w.trainable]
        return _unique(own + [w for s in self._sublayers for w in s.weights])

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy values in, in ``get_weights()`` order; all shapes are checked before any copy."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(own)} weights."
            )
        for var, value in zip(own, weights, strict=True):
            shape = tuple(np.shape(value))
            if shape != var.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {var.shape} is not compatible with provided "
                    f"weight shape {shape} (variable '{var.name}')."
                )
        for var, value in zip(own, weights, strict=True):
            var.assign(backend.to_numpy(value) if not isinstance(value, np.ndarray) else value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(batch_input_shape)`."
            )
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def zero_grads(self) -> None:
        for w in self.weights:
            w.zero_grad()

    # ------------------------------------------------------------------ building and shapes
    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Any:
        return tuple(input_shape)

    def build_for(self, input_shape: Any) -> None:
        """Build once (if needed) and remember the input and output shapes."""
        input_shape = _as_shape(input_shape)
        if not self.built:
            self.check_input_shape(input_shape)
            self.build(input_shape)
            self.built = True
            self._input_shape = input_shape
            self._output_shape = self.compute_output_shape(input_shape)

    @property
    def input_shape(self) -> Any:
        if self._input_shape is None:
            raise AttributeError(f"The layer {self.name} has never been called.")
        return self._input_shape

    @property
    def output_shape(self) -> Any:
        if self._output_shape is None:
            raise AttributeError(
                f"The layer {self.name} has never been called and thus has no defined output "
                "shape."
            )
        return self._output_shape

    def check_input_shape(self, shape: Any, index: int = 0) -> None:
        """Raise a ValueError naming this layer when ``shape`` does not fit its InputSpec."""
        spec = self.input_spec
        if spec is None or not isinstance(shape, tuple):
            return
        head = f'Input {index} of layer "{self.name}" is incompatible with the layer: '
        if spec.ndim is not None and len(shape) != spec.ndim:
            raise ValueError(
                f"{head}expected ndim={spec.ndim}, found ndim={len(shape)}. "
                f"Full shape received: {shape}"
            )
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ValueError(
                f"{head}expected min_ndim={spec.min_ndim}, found ndim={len(shape)}. "
                f"Full shape received: {shape}"
            )
        for axis, size in spec.axes.items():
            got = shape[axis] if -len(shape) <= axis < len(shape) else None
            if size is not None and got is not None and got != size:
                raise ValueError(
                    f"{head}expected axis {axis} of input shape to have value {size}, but "
                    f"received input with shape {shape}"
                )

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Eager call on data (returns data), or symbolic call on ``Input`` tensors (graph)."""
        from minikeras import graph

        if graph.is_symbolic(inputs):
            return graph.call_layer(self, inputs, *args, **kwargs)
        training = bool(kwargs.pop("training", False))
        if kwargs or args:
            raise TypeError(f"Layer {self.name} got unexpected arguments {args} {kwargs}.")
        x = _to_backend(inputs, self.dtype)
        self.build_for(_shape_of(x))
        self.check_input_shape(_shape_of(x))
        return self.forward(x, training=training)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward().")

    def backward(self, grad_output: Any) -> Any:
        """The contract: given dy = dL/dy for the output of the last ``forward`` call,
        return dx = dL/dx (``None`` when ``input_grad_needed`` is False: the input is data),
        and add dW = dL/dW to each trainable weight's ``grad`` (``Variable.add_grad`` sums,
        so a layer shared by two calls collects both gradients). The chain rule, one layer:
        dx = (dy/dx)ᵀ·dy and dW = (dy/dW)ᵀ·dy, never forming the Jacobians themselves.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define backward().")

    def output_logits(self) -> Any:
        """The pre-activation of the last forward call if this layer ends in softmax/sigmoid.

        ``None`` otherwise. Cross-entropy losses use it (as Keras' TensorFlow backend does)
        and then call ``backward_from_logits`` instead of ``backward``.
        """
        return None

    def output_activation(self) -> str | None:
        """The activation whose input ``output_logits()`` returns (``"softmax"``,
        ``"sigmoid"``), or ``None``: a cross-entropy takes the shortcut only after its own."""
        activation = getattr(self, "activation", None)
        return activation.name if getattr(activation, "has_logits", False) else None

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """Like ``backward``, but given dz = dL/dz for the logits z of ``output_logits()``:
        the loss has already gone through the softmax/sigmoid (dz = p - y for cross-entropy),
        so the activation's own Jacobian is skipped. Returns dx = dL/dx.
        """
        raise NotImplementedError(f"{type(self).__name__} has no logits to backpropagate from.")

    def reset_state(self) -> None:
        """Stateless layers have nothing to reset (recurrent layers override this)."""

    reset_states = reset_state

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class _NoInputWarning:
    """Marker mixin: layers (InputLayer) for which an input shape argument is the norm."""


def _unique(variables: list[Variable]) -> list[Variable]:
    seen: set[int] = set()
    out = []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _as_shape(shape: Any) -> Any:
    if isinstance(shape, list) and shape and isinstance(shape[0], tuple | list):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _shape_of(x: Any) -> Any:
    if isinstance(x, list | tuple):
        return [tuple(a.shape) for a in x]
    return tuple(x.shape)


def _to_backend(inputs: Any, dtype: str) -> Any:
    if isinstance(inputs, list | tuple):
        return [_to_backend(a, dtype) for a in inputs]
    arr = backend.to_device(inputs)
    if arr.dtype.kind in "fiub" and arr.dtype != np.dtype(dtype):
        arr = arr.astype(dtype)
    return arr
