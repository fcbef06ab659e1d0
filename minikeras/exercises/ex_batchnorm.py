"""Exercise ``batch_norm``: BatchNormalization's backward pass in training mode.

The lesson is the term most first attempts miss: with batch statistics, the mean and the
variance depend on x too, so dx is not just dx_hat · inv_std. Stage 2 checks training mode on
three layouts (features last, images, a feature axis in the middle) and inference mode once;
the diagnosis compares a mismatch with what the classic slips compute from the same cache.
No tutorial model normalises its batches: stage 4 trains the MLP tutorial with a
BatchNormalization after its hidden layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.exercises import diagnose
from minikeras.exercises.layer_grader import Case, Config, LayerExercise

SKELETON = '''\
"""Exercise batch_norm: BatchNormalization's backward pass.   (docs/inside.md, stop 15)

Check your work with:   python -m minikeras.exercises check batch_norm {path}
Stuck? Read minikeras/layers/batch_normalization.py, BatchNormalization.backward.
"""

from minikeras.layers import BatchNormalization


class MyBatchNormalization(BatchNormalization):
    """Forward (given). Per feature (the `axis`), over the m entries of the other axes
    (batch, and spatial or time axes), in training mode:

        mean    = (1/m) Σ x            var = (1/m) Σ (x − mean)²     (the batch's own)
        inv_std = 1 / √(var + ε)
        x_hat   = (x − mean) · inv_std
        y       = gamma · x_hat + beta

    In inference mode mean and var are the moving averages: constants.

    What forward leaves in self.cache, a BatchNormCache with the named fields
        cache.x_hat            shaped like x
        cache.inv_std          one value per feature, shaped to broadcast against x
        cache.batch_statistics True in training mode (mean and var came from this x)
    Helpers: self.reduction_axes(x.ndim) lists the axes to sum over (all but the feature
    axis); self.per_feature(v, x.ndim) shapes a (features,) vector to broadcast against x;
    self.gamma / self.beta are None when scale / center is False.
    """

    def backward(self, grad_output):
        """dy, shaped like x. Sums Σ and means over the reduction axes, per feature:

            dbeta  = Σ dy                    -> self.beta.add_grad   (when self.center)
            dgamma = Σ dy ⊙ x_hat            -> self.gamma.add_grad  (when self.scale)
            dx_hat = dy ⊙ gamma

        inference (constants): dx = dx_hat ⊙ inv_std
        training:              dx = inv_std ⊙ (dx_hat − mean(dx_hat) − x_hat ⊙ mean(dx_hat ⊙ x_hat))

        Derive the training form: mean and var depend on every x_j of the feature
        (∂mean/∂x_j = 1/m, ∂var/∂x_j = 2(x_j − mean)/m).
        """
        cache = self.cache
        dy = grad_output
        axes = self.reduction_axes(dy.ndim)
        raise NotImplementedError("BatchNormalization.backward: dbeta, dgamma (add_grad), "
                                  "dx_hat = dy·gamma, then dx (with the terms through the "
                                  "batch's mean and variance in training mode)")
'''


class BatchNormExercise(LayerExercise):
    name = "batch_norm"
    title = "BatchNormalization backward"
    difficulty = 3
    teaches = "statistics that depend on the input: the two extra terms of dx in training"
    stop = "15. Further (BatchNormalization.backward)"
    symbol = "MyBatchNormalization"
    layer_name = "BatchNormalization"
    tutorial = "mlp_bn"

    def skeleton(self) -> str:
        return SKELETON

    def configs(self) -> list[Config]:
        return [Config({}, (6, 4), "training, features last (6, 4)", 1, {"training": True}),
                Config({}, (3, 4, 5, 2), "training, images (3, 4, 5, 2)", 2,
                       {"training": True}),
                Config({"axis": 1, "epsilon": 0.01}, (4, 3, 5), "training, axis=1", 3,
                       {"training": True}),
                Config({}, (5, 3), "inference: moving statistics", 4, {"training": False})]

    def keras_configs(self) -> list[Config]:
        return self.configs()[:2]

    def training_mode(self, config: Config) -> bool:
        return bool(config.extra.get("training"))

    def _weights(self, layer: Any, rng: np.random.Generator) -> list[np.ndarray]:
        out = []
        for w in layer.weights:
            short = w.name.split("/")[-1]
            low, high = (0.5, 1.5) if short in ("gamma", "moving_variance") else (-0.5, 0.5)
            out.append(rng.uniform(low, high, w.shape))
        return out

    def keras_call(self, layer: Any, x: Any) -> Any:
        return layer(x, training=True)

    def _parts(self, case: Case) -> dict[str, Any]:
        layer = case.layer
        x_hat, inv_std, _ = layer.cache
        dy = case.G[0]
        axes = layer.reduction_axes(dy.ndim)
        gamma = layer.per_feature(layer.gamma.value, dy.ndim)
        return {"x_hat": x_hat, "inv_std": inv_std, "dy": dy, "axes": axes,
                "dx_hat": dy * gamma}

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        p = self._parts(case)
        x_hat, inv_std, dy, axes, dx_hat = (p[k] for k in ("x_hat", "inv_std", "dy", "axes",
                                                           "dx_hat"))
        if what == "dL/dgamma":
            return [diagnose.Lookalike(dy.sum(axis=axes), "dgamma = Σ dy ⊙ x_hat: the x_hat "
                                                          "factor is missing.")]
        if what != "dL/dx":
            return []
        mean = dx_hat.mean(axis=axes, keepdims=True)
        proj = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
        return [
            diagnose.Lookalike(dx_hat * inv_std, "dx = dx_hat ⊙ inv_std treats the batch's "
                               "mean and variance as constants; in training they depend on x: "
                               "dx = inv_std ⊙ (dx_hat − mean(dx_hat) − x_hat ⊙ "
                               "mean(dx_hat ⊙ x_hat))."),
            diagnose.Lookalike(inv_std * (dx_hat - mean), "the term through the variance is "
                               "missing: − x_hat ⊙ mean(dx_hat ⊙ x_hat)."),
            diagnose.Lookalike(inv_std * (dx_hat - x_hat * proj), "the term through the mean "
                               "is missing: − mean(dx_hat)."),
            diagnose.Lookalike(inv_std * (dy - dy.mean(axis=axes, keepdims=True) - x_hat * (
                dy * x_hat).mean(axis=axes, keepdims=True)),
                "dx_hat = dy ⊙ gamma: the factor gamma is missing.")]

    def factors(self, what: str, case: Case) -> dict[float, str]:
        m = case.x.size // case.layer.gamma.shape[0]
        return {1 / m: "a mean over the m entries of each feature; the gradient of beta and "
                       "gamma is their sum.", float(m): "a sum where the formula has a mean "
                                                        "(1/m) over each feature's entries."}

    def hint(self, what: str) -> str:
        return {"dL/dx": "check dx = inv_std ⊙ (dx_hat − mean(dx_hat) − x_hat ⊙ "
                         "mean(dx_hat ⊙ x_hat)) in training, dx_hat ⊙ inv_std in inference",
                "dL/dgamma": "check dgamma = Σ dy ⊙ x_hat",
                "dL/dbeta": "check dbeta = Σ dy"}.get(what, "")


EXERCISES = [BatchNormExercise()]
