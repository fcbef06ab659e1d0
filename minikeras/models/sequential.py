"""Sequential: a plain stack of layers, each feeding the next.

Forward runs the layers in order; backward runs them in reverse, each turning dL/d(output)
into dL/d(input). If the last layer ends in a softmax/sigmoid and the loss is a
cross-entropy, the loss hands over dL/d(logits) and the last layer starts from there.
"""

from __future__ import annotations

from typing import Any

from minikeras import graph
from minikeras.layers.core import InputLayer
from minikeras.layers.layer import Layer
from minikeras.models.model import Model, layer_backward


class Sequential(Model):
    def __init__(self, layers: list[Any] | None = None, trainable: bool = True,
                 name: str | None = None) -> None:
        super().__init__(name=name, trainable=trainable)
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._shape_walked: tuple | None = None   # (data shape, layers) last checked
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        """The layers, without the InputLayer (as in Keras)."""
        return list(self._layers)

    def add(self, layer: Any) -> None:
        """Append a layer (or an ``Input(...)`` tensor, which sets the input shape)."""
        if isinstance(layer, graph.KerasTensor):
            layer = layer.node.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() expects a Layer instance; received {layer!r} "
                            f"of type {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("Sequential: an InputLayer can only be the first layer.")
            self._input_layer = layer
            return
        if any(la is layer for la in self._layers):
            raise ValueError(f"Sequential: layer '{layer.name}' is already in this model.")
        self._layers.append(layer)
        shape = self._declared_input_shape()
        if shape is not None:
            self._build_chain(shape)

    def pop(self) -> Layer:
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        self._output_shape = None
        if self._layers and self.built:
            self._output_shape = self._layers[-1].output_shape
        return layer

    def _declared_input_shape(self) -> tuple | None:
        if self._input_layer is not None:
            return self._input_layer.batch_shape
        if self._layers and self._layers[0]._batch_input_shape is not None:
            return self._layers[0]._batch_input_shape
        return None

    def _build_chain(self, shape: tuple) -> None:
        """Build every layer from the shape its predecessor produces (no data needed)."""
        for layer in self._layers:
            layer.build_for(shape)
            layer.check_input_shape(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True
        self._input_shape = self._declared_input_shape() or self._input_shape
        self._output_shape = shape

    def build(self, input_shape: Any = None) -> None:
        shape = tuple(input_shape) if input_shape is not None else self._declared_input_shape()
        if shape is None:
            raise ValueError("Sequential.build() needs an input shape (or an Input layer).")
        self._input_shape = shape
        self._build_chain(shape)

    def _ensure_built(self, xs: list[Any]) -> None:
        if not self._layers:
            raise ValueError("Sequential model has no layers: add some before using it.")
        if not self.built or any(not la.built for la in self._layers):
            shape = self._declared_input_shape() or (None, *tuple(xs[0].shape[1:]))
            self._input_shape = shape
            self._build_chain(shape)
        # Walk the data's shape through every layer (shapes only, no arithmetic): a wrong
        # feature count fails here, before fit touches any weight (even in validation data).
        # Once per input shape and set of layers: every batch of a fit has the same shape.
        shape = (None, *tuple(xs[0].shape[1:]))
        key = (shape, tuple(map(id, self._layers)))
        if key == self._shape_walked:
            return
        self._check_model_input(shape)
        for layer in self._layers:
            layer.check_input_shape(shape)
            shape = layer.compute_output_shape(shape)
        self._shape_walked = key

    def _check_model_input(self, shape: tuple) -> None:
        """The data must fit the declared ``Input`` shape (batch size aside)."""
        if self._input_layer is None:
            return
        self._input_layer.check_input_shape(shape)
        expected = self._input_layer.batch_shape
        if len(expected) != len(shape) or any(
                e is not None and e != g for e, g in zip(expected[1:], shape[1:], strict=True)):
            raise ValueError(
                f'Input 0 of layer "{self._layers[0].name}" is incompatible with the layer: '
                f"expected shape={expected}, found shape={shape}"
            )

    def _output_shapes(self) -> list[tuple]:
        return [self._output_shape]

    def _expected_input_shapes(self) -> list[tuple] | None:
        """The declared input shape, or the one the model was built from (Keras 3 adjusts
        data rank against it); None before either exists."""
        shape = self._declared_input_shape()
        if shape is None and self.built and self._layers and all(
                la.built for la in self._layers):
            shape = self._input_shape
        return None if shape is None else [tuple(shape)]

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name] if self._layers else ["output"]

    # ------------------------------------------------------------------ data flow
    def _forward(self, inputs: list[Any], training: bool) -> list[Any]:
        if len(inputs) != 1:
            raise ValueError(f"Sequential model '{self.name}' takes one input; got {len(inputs)}.")
        x = inputs[0]
        self._ensure_built([x])
        self._check_model_input(tuple(x.shape))
        for layer in self._layers:
            layer.check_input_shape(tuple(x.shape))
            x = layer.forward(x, training=training)
        return [x]

    def _backward(self, grads: list[Any], wrt_logits: list[bool],
                  input_grads: bool = True) -> list[Any]:
        """The chain rule down the stack: the last layer gets dL/d(output) (or dL/dz, its
        logits' gradient, from a cross-entropy shortcut: ``backward_from_logits``); each
        layer's dL/d(input) is the dL/d(output) of the layer before it."""
        dy = grads[0]
        last = len(self._layers) - 1
        for i, layer in enumerate(reversed(self._layers)):
            from_logits = i == 0 and wrt_logits[0]
            input_grad_needed = input_grads or i != last   # the first layer's input is data
            dy = layer_backward(layer, dy, from_logits, input_grad_needed)
        return [dy]

    def _output_logits(self) -> list[Any]:
        return [self._layers[-1].output_logits()]

    def _output_activations(self) -> list[str | None]:
        return [self._layers[-1].output_activation()]

    def get_config(self) -> dict[str, Any]:
        from minikeras.layers import serialize_layer

        layers = [serialize_layer(la) for la in self._layers]
        if self._input_layer is not None:
            layers.insert(0, serialize_layer(self._input_layer))
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from minikeras.layers import deserialize_layer

        return cls([deserialize_layer(c) for c in config["layers"]], name=config.get("name"))

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, built={self.built}>"
