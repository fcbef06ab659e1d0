"""Exercise ``dense``: Dense's backward pass (docs/inside.md, stop 3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.exercises import diagnose
from minikeras.exercises.layer_grader import Case, Config, LayerExercise

SKELETON = '''\
"""Exercise dense: write Dense's backward pass.      (the tour: docs/inside.md, stop 3)

Check your work with:   python -m minikeras.exercises check dense {path}
Stuck? Read minikeras/layers/core.py, class Dense (the answer is there).
"""

from minikeras.layers import Dense


class MyDense(Dense):
    """Dense with a hand-written backward.

    Forward (given: Dense.forward, inherited), on the last axis of x:

        z = x·W + b        x: (N, D) or (N, T, D);  W = self.kernel.value: (D, u);
                           b = self.bias.value: (u,) (None when use_bias=False)
        y = act(z)         z, y: (N, u) or (N, T, u)

    It leaves self.cache = (x, z, y): everything backward needs.
    """

    def backward(self, grad_output):
        """dy = grad_output = dL/dy, shaped like y. Return dL/dx.

            dz = dy ⊙ act'(z)     the activation's vector-Jacobian product:
                                  self.activation.backward(z, y, dy) computes it
                                  (for "linear" it returns dy itself)

        then hand dz to backward_from_logits, which does the rest.
        """
        x, z, y = self.cache
        dy = grad_output
        raise NotImplementedError("Dense.backward: compute dz = dy ⊙ act'(z) "
                                  "(self.activation.backward(z, y, dy)) and return "
                                  "self.backward_from_logits(dz)")

    def backward_from_logits(self, grad_logits):
        """dz = grad_logits = dL/dz, shaped like z. Add dW and db to the weights' grads and
        return dx (the loss calls this directly after a softmax: dz = p - y).

            dW = xᵀ·dz        (D, u)  summed over every row: batch and time
            db = Σ_rows dz    (u,)
            dx = dz·Wᵀ        shaped like x

        Hints: with leading axes, work on rows: x2 = x.reshape(-1, D), dz2 = dz.reshape(-1, u).
        Gradients are *added*: self.kernel.add_grad(dW), self.bias.add_grad(db) (only when
        self.use_bias). When self.input_grad_needed is False you may return None.
        """
        x = self.cache[0]
        dz = grad_logits
        raise NotImplementedError("Dense.backward_from_logits: write dW = xᵀ·dz "
                                  "(self.kernel.add_grad), db = Σ dz (self.bias.add_grad) "
                                  "and return dx = dz·Wᵀ")
'''


class DenseExercise(LayerExercise):
    name = "dense"
    title = "Dense backward"
    difficulty = 1
    teaches = "the chain rule for one layer: dW = xᵀ·dz, db = Σ dz, dx = dz·Wᵀ"
    stop = "3. Dense, forward and backward"
    symbol = "MyDense"
    layer_name = "Dense"
    tutorial = "mlp"

    def skeleton(self) -> str:
        return SKELETON

    def configs(self) -> list[Config]:
        return [Config({"units": 4, "activation": "relu"}, (5, 3), "relu, x (5, 3)", 1),
                Config({"units": 4, "activation": "tanh"}, (3, 2, 4),
                       "tanh, 3-D input (3, 2, 4), square kernel", 2),
                Config({"units": 3, "use_bias": False}, (4, 5), "linear, no bias", 3)]

    def hint(self, what: str) -> str:
        return {"dL/dx": "check dx = dz·Wᵀ, with dz = dy ⊙ act'(z)",
                "dL/dkernel": "check dW = xᵀ·dz, summed over every row",
                "dL/dbias": "check db = Σ_rows dz"}.get(what, "")

    def _parts(self, case: Case) -> dict[str, Any]:
        x, z, y = case.layer.cache
        dy = case.G[0]
        D, u = case.layer.kernel.shape
        return {"x2": x.reshape(-1, D), "dy2": dy.reshape(-1, u), "W": case.layer.kernel.value,
                "dz2": case.layer.activation.backward(z, y, dy).reshape(-1, u)}

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        p = self._parts(case)
        x2, dy2, W, dz2 = p["x2"], p["dy2"], p["W"], p["dz2"]
        no_act = "the activation's derivative is missing: dz = dy ⊙ act'(z), not dy."
        shape = case.x.shape
        if what == "dL/dx":
            looks = [diagnose.Lookalike((dy2 @ W.T).reshape(shape), no_act)]
            if W.shape[0] == W.shape[1]:
                looks.append(diagnose.Lookalike((dz2 @ W).reshape(shape),
                                                "dz·W instead of dz·Wᵀ: transpose the kernel."))
            return looks
        if what == "dL/dkernel":
            return [diagnose.Lookalike(x2.T @ dy2, no_act)]
        if what == "dL/dbias":
            return [diagnose.Lookalike(dy2.sum(axis=0), no_act)]
        return []

    def factors(self, what: str, case: Case) -> dict[float, str]:
        rows = int(np.prod(case.x.shape[:-1]))
        if what in ("dL/dkernel", "dL/dbias"):
            return {1 / rows: "a mean over the rows, but the weights' gradient is their sum "
                              "(the loss already divides by N): drop the 1/N.",
                    -1.0: "wrong sign."}
        return {}


EXERCISES = [DenseExercise()]
