"""``keras.backend``: minikeras' backend settings; its math functions refused with the reason.

Old scripts use ``K.image_data_format()``, ``K.set_image_dim_ordering('th')``,
``K.clear_session()``, ``K.floatx()``, ``K.epsilon()``: those are ``minikeras.backend``'s.
``K.mean``, ``K.square``... build custom losses and Lambda layers, which need automatic
differentiation: they raise ``NoAutodiffError`` (a NotImplementedError) saying what to write
instead.
"""

from typing import Any

import numpy as _np

from minikeras import backend as _backend
from minikeras.backend import (
    backend,
    clear_session,
    epsilon,
    floatx,
    image_data_format,
    image_dim_ordering,
    set_epsilon,
    set_floatx,
    set_image_data_format,
    set_image_dim_ordering,
)
from minikeras.no_autodiff import backend_function_error

__all__ = ["backend", "clear_session", "epsilon", "floatx", "get_value", "image_data_format",
           "image_dim_ordering", "int_shape", "set_epsilon", "set_floatx", "set_image_data_format",
           "set_image_dim_ordering", "set_value"]

def int_shape(x: Any) -> tuple:
    """The shape as a tuple of ints (None where unknown): of an array, a Variable or an
    ``Input`` tensor."""
    return tuple(x.shape)


def get_value(x: Any) -> Any:
    """The value of a Variable (as NumPy), or of a number: ``K.get_value(model.optimizer.lr)``
    gives the learning rate, a float in minikeras."""
    return x.numpy() if hasattr(x, "numpy") else x


def set_value(x: Any, value: Any) -> None:
    """Assign a Variable. Keras 2 scripts also pass ``model.optimizer.lr``: in minikeras that
    is a plain float, so the call cannot reach the optimizer; the error says what to write."""
    if hasattr(x, "assign"):
        x.assign(_np.asarray(value, dtype=x.dtype))
        return
    raise TypeError(f"K.set_value: {x!r} is not a variable. To change the learning rate, "
                    "assign it: `model.optimizer.learning_rate = value` (minikeras keeps it as "
                    "a float, not a backend variable).")


#: Keras 1/2 backend functions that compute on tensors (autodiff material).
MATH_FUNCTIONS = frozenset("""
    abs all any arange argmax argmin batch_dot batch_flatten bias_add binary_crossentropy cast
    categorical_crossentropy clip concatenate constant conv1d conv2d cos cumprod cumsum dot
    dropout elu equal exp expand_dims eye flatten function gather gradients greater
    greater_equal hard_sigmoid in_train_phase l2_normalize less less_equal log logsumexp
    max maximum mean min minimum not_equal one_hot ones ones_like permute_dimensions
    placeholder pow prod random_normal random_uniform relu repeat repeat_elements reshape
    reverse round rnn separable_conv2d shape sigmoid sign sin softmax softplus softsign
    sparse_categorical_crossentropy sqrt square squeeze stack std stop_gradient sum switch
    tanh tile transpose update update_add var variable zeros zeros_like
""".split())


def __getattr__(name: str) -> Any:
    if name in MATH_FUNCTIONS:
        raise backend_function_error("keras.backend", name)
    try:
        return getattr(_backend, name)
    except AttributeError:
        raise AttributeError(f"keras.backend.{name} is not provided by minikeras (served by "
                             "minikeras.as_keras).") from None
