"""The four stages for an exercise whose piece is a layer's backward pass.

Stage 2's truth is computed without the learner's code: the *reference* layer (minikeras'
own class) with the same float64 weights gives L = sum(G * y), and every entry of every
weight and of the input is nudged by ±eps (central differences, all entries: the shapes
are small). Only then is the learner's ``backward(G)`` compared with it, array by array,
and a mismatch goes through ``diagnose.explain`` with the exercise's regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.base import (
    Exercise,
    FailedStageError,
    Options,
    check_array,
    learner,
)

EPS = 1e-6


@dataclass
class Config:
    """One random configuration: constructor arguments and the input's shape."""

    kwargs: dict[str, Any]
    input_shape: tuple[int, ...]
    note: str = ""
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    """Everything the diagnosis of one configuration may look at (all float64)."""

    config: Config
    layer: Any          # the reference layer, after forward on x
    x: np.ndarray
    G: Any              # the upstream gradient (list when several outputs)
    inputs: Any = None  # every input (x and initial states), when several


def as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list | tuple) else [v]


def numeric_gradient(scalar: Any, array: np.ndarray, eps: float = EPS) -> np.ndarray:
    """dL/d(array) by central differences, entry by entry (``array`` is nudged in place)."""
    flat = array.reshape(-1)
    out = np.empty(flat.size)
    for i in range(flat.size):
        old = float(flat[i])
        flat[i] = old + eps
        up = scalar()
        flat[i] = old - eps
        down = scalar()
        flat[i] = old
        out[i] = (up - down) / (2 * eps)
    return out.reshape(array.shape)


class LayerExercise(Exercise):
    """Grades a subclass of a minikeras layer whose backward the learner wrote."""

    layer_name = ""          # the class in minikeras.layers and keras.layers
    tutorial = ""            # key of tutorial_models.TUTORIALS
    model_needs_keras = False
    inputs_first = False     # diagnose dL/dx before the weights' gradients
    checks_forward = False   # the learner writes forward too: its outputs are checked first

    def reference(self) -> Any:
        from minikeras import layers

        return getattr(layers, self.layer_name)

    # ------------------------------------------------------------------ per exercise
    def configs(self) -> list[Config]:
        raise NotImplementedError

    def make_input(self, config: Config, rng: np.random.Generator) -> Any:
        """The input: one array, or a list (x and initial states) named by input_names."""
        return rng.standard_normal(config.input_shape)

    def input_names(self, config: Config) -> list[str]:
        return ["dL/dx"]

    def keras_configs(self) -> list[Config]:
        return self.configs()[:2]

    def build_shape(self, config: Config) -> Any:
        return config.input_shape

    def make(self, cls: Any, config: Config, dtype: str) -> Any:
        layer = cls(**config.kwargs, dtype=dtype)
        layer.build_for(self.build_shape(config))
        return layer

    def before_forward(self, layer: Any) -> None:
        """Called before every forward (a stateful layer's state is reset here)."""

    def input_truth(self, name: str, numeric: np.ndarray, config: Config, xs: list[Any],
                    G: list[Any]) -> np.ndarray:
        """The truth for an input's gradient (finite differences, unless a kink is hit)."""
        return numeric

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        return []

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        return []

    def factors(self, what: str, case: Case) -> dict[float, str]:
        return {}

    def combos(self, what: str) -> dict[frozenset[str], str]:
        return {}

    def hint(self, what: str) -> str:
        return ""

    def forward_lookalikes(self, case: Case) -> list[diagnose.Lookalike]:
        """What common slips in forward would output (the layer's first output), for
        ``checks_forward`` exercises."""
        return []

    def keras_layer(self, keras: Any, config: Config) -> Any:
        return getattr(keras.layers, self.layer_name)(**config.kwargs)

    def swaps(self, piece: Any) -> dict[str, Any]:
        return {f"layers.{self.layer_name}": piece}

    # ------------------------------------------------------------------ helpers
    def _weights(self, layer: Any, rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.uniform(-0.5, 0.5, w.shape) for w in layer.get_weights()]

    def training_mode(self, config: Config) -> bool:
        """Whether forward runs with training=True (BatchNormalization's batch statistics)."""
        return False

    def _forward(self, layer: Any, x: Any, training: bool = False) -> list[Any]:
        self.before_forward(layer)
        return as_list(layer.forward(x if not isinstance(x, list) or len(x) > 1 else x[0],
                                     training=training))

    def _backward(self, layer: Any, G: list[Any]) -> list[Any]:
        layer.zero_grads()
        return as_list(layer.backward(G if len(G) > 1 else G[0]))

    def _name(self, var: Any) -> str:
        return "dL/d" + var.name.split("/")[-1]

    # ------------------------------------------------------------------ stages
    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        cfg = self.configs()[0]
        rng = np.random.default_rng(cfg.seed)
        layer = learner(f"{self.layer_name}(...) / build", self.make, piece, cfg, "float32")
        layer.set_weights([w.astype(np.float32) for w in self._weights(layer, rng)])
        xs = [a.astype(np.float32) for a in as_list(self.make_input(cfg, rng))]
        ys = learner("forward", self._forward, layer, xs, self.training_mode(cfg))
        if self.checks_forward:
            ref = self.make(self.reference(), cfg, "float32")
            ref.set_weights(layer.get_weights())
            for i, (y, r) in enumerate(zip(ys, self._forward(ref, xs), strict=False)):
                check_array(f"{self.layer_name}: forward's output {i}", y, r.shape, np.float32)
        G = [rng.standard_normal(y.shape).astype(np.float32) for y in ys]
        dx = learner("backward", self._backward, layer, G)
        x = xs[0]
        try:
            check_array(f"{self.layer_name}: dL/dx (what backward returns)", dx[0], x.shape,
                        np.float32)
        except FailedStageError as e:
            raise FailedStageError(f"{e} {self.hint('dL/dx')}".strip()) from None
        for var in layer.trainable_weights:
            if var.grad is None:
                raise FailedStageError(f"{self.layer_name}: {self._name(var)} was never set: call "
                                       f"self.{var.name.split('/')[-1]}.add_grad(...) in backward.")
            check_array(f"{self.layer_name}: {self._name(var)}", var.grad, var.shape, np.float32)
        names = ", ".join(self._name(v) for v in layer.trainable_weights)
        return [f"dL/dx {tuple(x.shape)} float32" + (f"; {names} shaped like their weights"
                                                     if names else "")]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        lines = []
        for i, cfg in enumerate(self.configs()):
            worst = self._check_config(piece, cfg)
            lines.append(f"config {i + 1} ({cfg.note or cfg.kwargs}): largest relative error "
                         f"{worst:.1e}")
        return lines

    def _check_config(self, piece: Any, cfg: Config) -> float:
        rng = np.random.default_rng(cfg.seed)
        ref = self.make(self.reference(), cfg, "float64")
        mine = learner(f"{self.layer_name}(...) / build", self.make, piece, cfg, "float64")
        weights = self._weights(ref, rng)
        ref.set_weights(weights)
        mine.set_weights(weights)
        xs = as_list(self.make_input(cfg, rng))
        mode = self.training_mode(cfg)
        G = [rng.standard_normal(y.shape) for y in self._forward(ref, xs, mode)]

        def scalar() -> float:
            return float(sum((y * g).sum() for y, g in zip(self._forward(ref, xs, mode), G,
                                                           strict=True)))

        weights = {self._name(v): numeric_gradient(scalar, v.value)
                   for v in ref.trainable_weights}
        names = self.input_names(cfg)
        inputs = {name: self.input_truth(name, numeric_gradient(scalar, x), cfg, xs, G)
                  for name, x in zip(names, xs, strict=True)}
        # weights first (their blocks locate a term), unless dL/dx says more (a wrapper)
        truths = {**inputs, **weights} if self.inputs_first else {**weights, **inputs}
        ys_ref = self._forward(ref, xs, mode)
        ys = learner("forward", self._forward, mine, xs, mode)
        case = Case(cfg, ref, xs[0], G)
        case.inputs = xs
        if self.checks_forward:
            message = diagnose.explain("the output", ys[0], ys_ref[0],
                                       lookalikes=self.forward_lookalikes(case))
            if message:
                raise FailedStageError(f"{self.layer_name}: forward: {message} "
                                       f"[config: {cfg.note}]")
        dxs = learner("backward", self._backward, mine, G)
        got = dict(zip(names, dxs + [None] * (len(names) - len(dxs)), strict=True))
        for var in mine.trainable_weights:
            got[self._name(var)] = var.grad
        worst = 0.0
        for what, truth in truths.items():
            message = diagnose.explain(what, got[what], truth, regions=self.regions(what, case),
                                       lookalikes=self.lookalikes(what, case),
                                       factors=self.factors(what, case), hint=self.hint(what),
                                       combos=self.combos(what))
            if message:
                raise FailedStageError(f"{self.layer_name}: {message} [config: {cfg.note}]")
            worst = max(worst, diagnose.rel_error(np.asarray(got[what]), truth))
        return worst

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        import tensorflow as tf

        keras = opts.keras
        lines = []
        for cfg in self.keras_configs():
            rng = np.random.default_rng(cfg.seed + 100)
            mine = learner("build", self.make, piece, cfg, "float32")
            ref = self.make(self.reference(), cfg, "float32")
            weights = [w.astype(np.float32) for w in self._weights(ref, rng)]
            mine.set_weights(weights)
            ref.set_weights(weights)
            x = as_list(self.make_input(cfg, rng))[0].astype(np.float32)
            mode = self.training_mode(cfg)
            ys = self._forward(ref, x, mode)
            G = [rng.standard_normal(y.shape).astype(np.float32) for y in ys]
            k_layer = self.keras_layer(keras, cfg)
            k_layer.build(self.build_shape(cfg))
            k_layer.set_weights(weights)
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                outs = as_list(self.keras_call(k_layer, xt))
                total = sum(tf.reduce_sum(o * g) for o, g in zip(outs, G, strict=True))
            k_grads = tape.gradient(total, [xt, *k_layer.trainable_weights])
            k_grads = [np.asarray(g, np.float64) for g in k_grads]
            y_mine = learner("forward", self._forward, mine, x, mode)[0]
            errs = ([f"output {self._compare_forward_with_keras(cfg, y_mine, ys[0], outs[0]):.1e}"]
                    if self.checks_forward else [])
            got = [learner("backward", self._backward, mine, G)[0]]
            got += [v.grad for v in mine.trainable_weights]
            reference = [self._backward(ref, G)[0]] + [v.grad for v in ref.trainable_weights]
            names = ["dL/dx"] + [self._name(v) for v in mine.trainable_weights]
            for what, g, r, k in zip(names, got, reference, k_grads, strict=True):
                envelope = diagnose.rel_error(np.asarray(r, np.float64), k)
                limit = max(10 * envelope, 1e-5)
                err = diagnose.rel_error(np.asarray(g, np.float64), k)
                if err > limit:
                    case = Case(cfg, ref, x.astype(np.float64), G)
                    message = diagnose.explain(what, g, k, regions=self.regions(what, case),
                                               tol=limit, hint=self.hint(what))
                    raise FailedStageError(f"{self.layer_name}: against Keras, "
                                           f"{message or f'{what} differs by {err:.1e}'} (limit "
                                           f"{limit:.1e}: 10x minikeras' own difference, at least "
                                           f"1e-5) [config: {cfg.note}]")
                errs.append(f"{what} {err:.1e}")
            lines.append(f"{cfg.note}: vs Keras (float32) " + ", ".join(errs))
        return lines

    def _compare_forward_with_keras(self, cfg: Config, got: Any, ref: Any, k_out: Any) -> float:
        """The learner's first output against Keras' (the rule of the gradients below)."""
        k_out = np.asarray(k_out, np.float64)
        limit = max(10 * diagnose.rel_error(np.asarray(ref, np.float64), k_out), 1e-5)
        err = diagnose.rel_error(np.asarray(got, np.float64), k_out)
        if err > limit:
            raise FailedStageError(f"{self.layer_name}: against Keras, forward's output differs "
                                   f"by {err:.1e} of its scale (limit {limit:.1e}: 10x "
                                   f"minikeras' own difference, at least 1e-5) "
                                   f"[config: {cfg.note}]")
        return err

    def keras_call(self, layer: Any, x: Any) -> Any:
        return layer(x)

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        ok, lines = learner("training the tutorial model", tutorial_models.judge,
                            self.tutorial, self.swaps(piece), opts.keras, opts.steps)
        if not ok:
            raise FailedStageError("the tutorial model drifted away: " + "; ".join(lines))
        return lines
