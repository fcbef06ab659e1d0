"""``keras.utils``: ``to_categorical`` (accepts Keras 1's ``nb_classes``), ``np_utils`` and
``PyDataset`` (with Keras 2's name ``Sequence``, which Keras 3 keeps as an alias)."""

from minikeras.utils import (
           PyDataset,
           Sequence,
           check_layer_gradients,
           get_file,
           np_utils,
           set_random_seed,
)
from minikeras.utils.np_utils import to_categorical

__all__ = ["PyDataset", "Sequence", "check_layer_gradients", "get_file", "np_utils",
           "set_random_seed", "to_categorical"]
