"""Utilities: one-hot labels, seeding, gradient checks, tracing a training step."""

from minikeras.utils.file_utils import get_file
from minikeras.utils.gradient_check import check_layer_gradients, gradient_check
from minikeras.utils.numerical_utils import to_categorical
from minikeras.utils.rng_utils import set_random_seed
from minikeras.utils.trace import Trace, trace

__all__ = ["Trace", "check_layer_gradients", "get_file", "gradient_check", "set_random_seed",
           "to_categorical", "trace"]
