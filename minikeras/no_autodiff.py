"""Why Lambda layers, ``keras.backend`` math and loss functions are refused, and what to
write instead.

Keras differentiates any composition of its ``ops`` (``K.mean``, ``K.square``...)
automatically. minikeras has no automatic differentiation: every gradient is a hand-written
backward (a layer's ``backward``, a loss' ``compute``), so code that builds new math from
backend functions cannot be trained. These errors say so where the code first meets it:
``layers.Lambda(...)``, ``K.<function>`` under ``minikeras.as_keras``, and a plain function
passed as a loss. Level 1: imports nothing from minikeras.
"""

from __future__ import annotations

LAYER_RECIPE = """\
    class Scale(keras.layers.Layer):            # y = 2x, with its gradient by hand
        def forward(self, x, training=False):
            return 2 * x
        def backward(self, dy):                  # dy = dL/dy;  return dx = dL/dx
            return 2 * dy"""

LOSS_RECIPE = """\
    class MyMSE(keras.losses.Loss):             # l = mean((y - p)^2) over the last axis
        def compute(self, y_true, y_pred, logits=None):
            diff = y_pred - y_true
            return ((diff * diff).mean(axis=-1),       # l, one value per sample
                    diff * (2 / y_pred.shape[-1]),     # dl/dy_pred
                    False)                             # (False: not w.r.t. logits)"""


class NoAutodiffError(NotImplementedError):
    """Code that needs automatic differentiation, which minikeras does not have."""


def lambda_layer_error(function: object) -> NoAutodiffError:
    name = getattr(function, "__name__", repr(function))
    return NoAutodiffError(
        f"Lambda({name}): a Lambda layer needs automatic differentiation to train, which "
        "minikeras does not have (each layer's gradient is its own hand-written backward). "
        "Write a small Layer subclass instead, with a forward and its backward:\n"
        f"{LAYER_RECIPE}\n(for reshaping or activations, the built-in layers Reshape, Permute, "
        "RepeatVector, Activation, ReLU... already have theirs).")


def backend_function_error(module: str, name: str) -> NoAutodiffError:
    return NoAutodiffError(
        f"{module}.{name}: minikeras does not provide the backend math functions, because "
        "code built from them (custom losses, Lambda layers) needs automatic differentiation, "
        "which minikeras does not have. For a custom layer, write a Layer subclass with its "
        f"own backward:\n{LAYER_RECIPE}\nFor a custom loss, a Loss subclass whose `compute` "
        f"returns the per-sample value and its gradient:\n{LOSS_RECIPE}\n(NumPy on the "
        "arrays works inside forward/backward/compute: minikeras.backend.xp is NumPy or CuPy.)")


def loss_function_error(function: object) -> NoAutodiffError:
    name = getattr(function, "__name__", repr(function))
    return NoAutodiffError(
        f"compile(loss={name}): minikeras cannot train on a loss given as a plain function: "
        "it needs the loss' gradient, and without automatic differentiation a function gives "
        "only the value. Use a named loss ('mse', 'categorical_crossentropy'...) or a Loss "
        f"subclass whose `compute` returns the value and its gradient:\n{LOSS_RECIPE}")
