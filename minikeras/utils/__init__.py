"""Utilities: one-hot labels, seeding, files, and tools that work on whole models.

The plain helpers (``to_categorical``, ``set_random_seed``, ``get_file``) sit low in the
import levels: datasets and callbacks use them, so this package imports nothing above them.
The model tools (``gradient_check``, ``check_layer_gradients``, ``trace``, ``Trace``) sit at
the top, above the models they inspect: ``minikeras/__init__.py`` imports them and adds them
to this namespace, so ``minikeras.utils.gradient_check(...)`` works as in Keras' layout.
"""

from minikeras.utils.file_utils import get_file
from minikeras.utils.numerical_utils import to_categorical
from minikeras.utils.py_dataset import PyDataset, Sequence
from minikeras.utils.rng_utils import set_random_seed

__all__ = ["PyDataset", "Sequence", "Trace", "check_layer_gradients", "get_file",
           "gradient_check", "set_random_seed", "to_categorical", "trace"]
