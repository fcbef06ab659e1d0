"""Model: compile, and one training step read top to bottom.

``train_on_batch`` is the whole algorithm:

    1. forward   outputs = each layer's forward, in order (layers cache what backward needs)
    2. loss      L = Σ wᵢ lᵢ / n and dL/d(output)   (or dL/d(logits) after a softmax/sigmoid)
    3. backward  each layer's backward, in reverse order: dL/d(input), and weight gradients
    4. update    the optimizer moves each weight using its gradient
    5. metrics   running means of the loss and metrics, from the outputs of step 1

``fit``/``evaluate``/``predict`` (in ``trainer.py``) only cut the data into batches, call
these steps and report progress. Subclasses (``Sequential``, ``Functional``) say how data
flows through their layers: ``_forward``, ``_backward`` and ``_output_logits``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend, losses, metrics, optimizers
from minikeras.layers.layer import Layer
from minikeras.models.trainer import TrainerMixin
from minikeras.utils import validation


def layer_backward(layer: Layer, grad: Any, from_logits: bool, input_grad_needed: bool) -> Any:
    """``layer.backward(dL/dy)``, or ``layer.backward_from_logits(dL/dz)`` when ``from_logits``,
    with ``layer.input_grad_needed`` set for this one call (False: its input is the model's
    data, whose gradient nobody reads, so the layer returns None for it)."""
    layer.input_grad_needed = input_grad_needed
    try:
        return layer.backward_from_logits(grad) if from_logits else layer.backward(grad)
    finally:
        layer.input_grad_needed = True


class Model(TrainerMixin, Layer):
    """Base of Sequential and Functional. ``Model(inputs, outputs)`` builds a Functional."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs
                             or "input" in kwargs or "output" in kwargs):
            from minikeras.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *, name: str | None = None, trainable: bool = True, **kwargs: Any) -> None:
        prefix = "sequential" if type(self).__name__ == "Sequential" else "functional"
        super().__init__(name=name or backend.unique_name(prefix), trainable=trainable, **kwargs)
        self.optimizer: optimizers.Optimizer | None = None
        self.compiled = False
        self.stop_training = False
        self.stop_evaluating = False   # a callback ends evaluate early by setting it (Keras)
        self.stop_predicting = False   # and predict
        self.history: Any = None
        self._losses: list[losses.Loss] = []
        self._loss_weights: list[float] = []
        self._metric_specs: list[Any] = []
        self._metrics: list[list[metrics.Metric]] | None = None
        self._loss_tracker = metrics.Mean("loss")
        self._output_trackers: list[metrics.Metric] = []
        self._output_losses: list[Any] = []

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        raise NotImplementedError

    @property
    def _sublayers(self) -> list[Layer]:
        return self.layers

    @_sublayers.setter
    def _sublayers(self, value: list[Layer]) -> None:
        pass  # a model's sub-layers are its layers; Layer.__init__'s empty list is ignored

    @property
    def cache(self) -> Any:
        """A model used as a layer: its per-call state is its layers' caches (so a model
        called twice in a graph can have them swapped per call, like any shared layer)."""
        return [layer.cache for layer in self.layers]

    @cache.setter
    def cache(self, value: Any) -> None:
        if value is not None:
            for layer, c in zip(self.layers, value, strict=True):
                layer.cache = c

    def compute_output_shape(self, input_shape: Any) -> Any:
        """A built model used as a layer: its output shape(s), with the caller's batch size."""
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        batch = first[0] if first else None
        shapes = [(batch, *tuple(s)[1:]) for s in self._output_shapes()]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[la.name for la in self.layers]}.")

    @property
    def output_names(self) -> list[str]:
        return [self.layers[-1].name] if self.layers else []

    def _forward(self, inputs: list[Any], training: bool) -> list[Any]:
        raise NotImplementedError

    def _backward(self, grads: list[Any], wrt_logits: list[bool],
                  input_grads: bool = True) -> list[Any]:
        """dL/d(outputs) (or dL/d(logits) where ``wrt_logits``) -> dL/d(inputs), adding each
        weight's gradient on the way. ``input_grads=False`` (training): the inputs are data,
        so no layer computes dL/d(data) (the layers reading them return None)."""
        raise NotImplementedError

    def _output_logits(self) -> list[Any]:
        raise NotImplementedError

    def forward(self, inputs: Any, training: bool = False) -> Any:
        outs = self._forward(inputs if isinstance(inputs, list) else [inputs], training)
        return outs if len(outs) > 1 else outs[0]

    def backward(self, grad_output: Any) -> Any:
        grads = grad_output if isinstance(grad_output, list) else [grad_output]
        dxs = self._backward(grads, [False] * len(grads))
        return dxs if len(dxs) > 1 else dxs[0]

    def output_logits(self) -> Any:
        logits = self._output_logits()
        return logits[0] if len(logits) == 1 else None

    def output_activation(self) -> str | None:
        activations = self._output_activations()
        return activations[0] if len(activations) == 1 else None

    def _output_activations(self) -> list[str | None]:
        raise NotImplementedError

    def backward_from_logits(self, grad_logits: Any) -> Any:
        dxs = self._backward([grad_logits], [True])
        return dxs if len(dxs) > 1 else dxs[0]

    def reset_states(self) -> None:
        """Zero the state of every stateful layer (Keras 2 API; Keras 3 dropped it)."""
        for layer in self.layers:
            layer.reset_state()

    reset_state = reset_states

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        from minikeras import graph

        if graph.is_symbolic(inputs):
            return graph.call_layer(self, inputs, *args, **kwargs)
        training = bool(kwargs.pop("training", False))
        xs = [backend.to_device(x) for x in self._standardize_x(inputs, f"{self.name}(x)")]
        self._ensure_built(xs)
        outs = self._forward(xs, training)
        outs = [backend.to_numpy(o) for o in outs]
        return outs if len(outs) > 1 else outs[0]

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, weighted_metrics: Any = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto",
                auto_scale_loss: bool = True, **kwargs: Any) -> None:
        """Choose the optimizer, the loss (one per output, or one for all) and metrics."""
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(kwargs)}.")
        if isinstance(loss_weights, list) and loss_weights and isinstance(loss_weights[0], str):
            raise ValueError(
                "compile(): the third positional argument is `loss_weights` in Keras 3 (Keras 2 "
                "had `metrics` there). Pass metrics by keyword: compile(opt, loss, "
                f"metrics={loss_weights!r})."
            )
        if loss is None:
            raise ValueError("compile() needs a `loss` (e.g. loss='mse') for minikeras to train.")
        # Resolve everything first, assign after: a bad name leaves the model as it was.
        new_optimizer = optimizers.get(optimizer)
        n_out = max(len(self.output_names), 1)
        new_losses = self._per_output(loss, n_out, "loss", losses.get)
        validation.check_loss_weights(loss_weights)
        lw = loss_weights if loss_weights is not None else 1.0
        new_loss_weights = [float(w) for w in self._per_output(lw, n_out, "loss_weights",
                                                                lambda w: w)]
        new_specs = self._per_output(metrics or [], n_out, "metrics",
                                     lambda m: list(m) if isinstance(m, list | tuple) else [m],
                                     nested=True)
        from minikeras.metrics import get as get_metric

        for spec in (s for group in new_specs for s in group if s is not None):
            get_metric(spec, (1, 1), (1, 1))  # an unknown name fails now, not after a step
        self.optimizer, self._losses = new_optimizer, new_losses
        self._loss_weights, self._metric_specs = new_loss_weights, new_specs
        self._metrics = None
        self.compiled = True
        self._compile_config = {"optimizer": optimizers.serialize(self.optimizer),
                                "loss": loss, "loss_weights": loss_weights, "metrics": metrics}

    def _per_output(self, value: Any, n: int, what: str, convert: Any,
                    nested: bool = False) -> list:
        names = self.output_names
        if isinstance(value, dict):
            unknown = set(value) - set(names)
            if unknown:
                raise ValueError(f"compile(): {what} given for unknown outputs {sorted(unknown)};"
                                 f" the model's outputs are {names}.")
            return [convert(value.get(name, [] if nested else None)) for name in names]
        if isinstance(value, list | tuple) and not (nested and (not value or not isinstance(
                value[0], list | tuple | dict))):
            if len(value) != n:
                raise ValueError(f"compile(): {len(value)} {what} given for a model with {n} "
                                 f"output(s) {names}.")
            return [convert(v) for v in value]
        return [convert(value) for _ in range(n)]

    def _build_metrics(self, ys: list[Any], outs: list[Any]) -> None:
        self._metrics = []
        for specs, y, out in zip(self._metric_specs, ys, outs, strict=True):
            self._metrics.append([metrics.get(s, tuple(y.shape), tuple(out.shape))
                                  for s in specs if s is not None])
        if len(self._metrics) > 1:   # several outputs: Keras names them <output>_<metric>
            for name, group in zip(self.output_names, self._metrics, strict=True):
                for m in group:
                    m.name = f"{name}_{m.name}"

    def reset_metrics(self) -> None:
        self._loss_tracker.reset_state()
        for tracker in self._output_trackers:
            tracker.reset_state()
        for group in self._metrics or []:
            for m in group:
                m.reset_state()

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", "compile_metrics"] if any(self._metric_specs) else ["loss"]

    # ------------------------------------------------------------------ one step
    def _require_compiled(self) -> None:
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")

    def _loss_and_grads(self, ys: list[Any], outs: list[Any], sample_weight: Any) -> tuple:
        """Step 2: the weighted batch loss L, and dL/d(output) (or dL/d(logits)) per output.

        For output i, its loss gives per-sample values lᵢ (n entries: one per sample, or per
        sample and time step) and dlᵢ; with wᵢ the sample weights (1 when none) and λᵢ the
        output's loss weight (``sum_over_batch_size``, as Keras):

            Lᵢ = Σ wᵢ·lᵢ / n                   L = Σᵢ λᵢ·Lᵢ
            dL/dŷᵢ = dlᵢ · wᵢ · λᵢ / n          (wᵢ broadcast along each sample's entries)

        dlᵢ is dl/dŷᵢ, except after the loss' own activation (softmax for the categorical
        cross-entropies, sigmoid for the binary one): there the loss reads that layer's logits
        zᵢ and dlᵢ is dl/dzᵢ (``wrt_logits``), so the backward starts at that layer's
        ``backward_from_logits``.
        """
        logits = self._output_logits()
        activations = self._output_activations()
        L: Any = 0.0
        self._output_losses = [None] * len(self._losses)  # Lᵢ per output, for <name>_loss logs
        grads, flags = [], []
        for i, (loss_fn, lw, y, out) in enumerate(zip(self._losses, self._loss_weights, ys,
                                                      outs, strict=True)):
            z = logits[i] if loss_fn.logits_of == activations[i] else None   # the shortcut?
            l, dl, wrt_logits = loss_fn.compute(y, out, z)
            n = l.size
            if sample_weight is None:
                L_i = l.sum() / n
                dL = dl * out.dtype.type(lw / n)
            else:
                w = backend.to_device(sample_weight, out.dtype)
                w = w.reshape(w.shape + (1,) * (l.ndim - w.ndim))   # one weight per sample
                L_i = (l * w).sum() / n
                dL = dl * (w * (lw / n))[..., None]
            L = L + lw * L_i
            self._output_losses[i] = L_i
            grads.append(dL)
            flags.append(wrt_logits)
        return L, grads, flags

    def _update_metrics(self, ys: list[Any], outs: list[Any], loss: Any, n: int,
                        sample_weight: Any) -> None:
        if self._metrics is None:
            self._build_metrics(ys, outs)
        self._loss_tracker.update_state(loss, n)
        if len(self._losses) > 1:   # Keras logs each output's own loss as <output>_loss
            if not self._output_trackers:
                self._output_trackers = [metrics.Mean(f"{name}_loss")
                                         for name in self.output_names]
            for tracker, value in zip(self._output_trackers, self._output_losses, strict=True):
                tracker.update_state(value, n)
        # Keras 3 updates compile(metrics=...) *without* sample weights (only
        # weighted_metrics use them): a weighted fit/evaluate reports the plain accuracy.
        for group, y, out in zip(self._metrics or [], ys, outs, strict=True):
            for m in group:
                m.update_state(y, out)

    def _train_step(self, xs: list[Any], ys: list[Any], sample_weight: Any = None) -> None:
        for w in self.weights:
            w.zero_grad()
        outs = self._forward(xs, training=True)                              # 1. forward
        loss, grads, wrt_logits = self._loss_and_grads(ys, outs, sample_weight)  # 2. loss
        self._backward(grads, wrt_logits, input_grads=False)  # 3. backward (xs are data)
        params = [w for w in self.trainable_weights if w.grad is not None]
        self.optimizer.apply([w.grad for w in params], params)              # 4. update
        self._update_metrics(ys, outs, loss, int(xs[0].shape[0]), sample_weight)  # 5. metrics

    def _release_caches(self) -> None:
        """Forget what the layers kept for a backward pass. ``predict`` and ``evaluate``
        never run one: released after each batch, a batch's arrays (the CNN's patch matrix,
        160 MB at batch 256) are not still held while the next batch computes its own."""
        def release(layer: Layer) -> None:
            for sub in layer._sublayers:
                release(sub)
            layer.cache = None   # a Sequential ignores None; a Functional empties its nodes

        release(self)

    def _test_step(self, xs: list[Any], ys: list[Any], sample_weight: Any = None) -> None:
        outs = self._forward(xs, training=False)
        loss, _, _ = self._loss_and_grads(ys, outs, sample_weight)
        self._update_metrics(ys, outs, loss, int(xs[0].shape[0]), sample_weight)

    def _logs(self, prefix: str = "") -> dict[str, float]:
        """Current running values as Python floats (the one device->host read)."""
        logs = {prefix + "loss": backend.to_float(self._loss_tracker.result())}
        for tracker in self._output_trackers:
            logs[prefix + tracker.name] = backend.to_float(tracker.result())
        for group in self._metrics or []:
            for m in group:
                result = m.result()   # an array for Precision(thresholds=[...]), as in Keras
                logs[prefix + m.name] = (backend.to_float(result) if result.ndim == 0
                                         else backend.to_numpy(result))
        return dict(sorted(logs.items()))

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def summary(self, line_length: int | None = None, positions: Any = None,
                print_fn: Any = None, show_flops: bool = False, show_memory: bool = False,
                **kwargs: Any) -> None:
        """Keras' table; ``show_flops``/``show_memory`` add FLOPs and memory (minikeras only)."""
        from minikeras.models.summary import print_summary

        print_summary(self, print_fn or print, show_flops=show_flops, show_memory=show_memory)

    # ------------------------------------------------------------------ saving (minikeras/saving)
    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """``.keras`` (architecture + weights + optimizer state) or legacy ``.h5``."""
        from minikeras import saving

        saving.save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Weights (and optimizer state) in Keras 3's ``.weights.h5`` layout."""
        from minikeras import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False) -> None:
        from minikeras import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs: Any) -> str:
        from minikeras import saving

        return saving.model_to_json(self, **kwargs)

    def get_compile_config(self) -> dict[str, Any] | None:
        return getattr(self, "_compile_config", None)
