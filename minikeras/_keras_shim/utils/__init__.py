"""``keras.utils``: ``to_categorical`` (accepts Keras 1's ``nb_classes``) and ``np_utils``."""

from minikeras.utils import check_layer_gradients, get_file, np_utils, set_random_seed
from minikeras.utils.np_utils import to_categorical

__all__ = ["check_layer_gradients", "get_file", "np_utils", "set_random_seed", "to_categorical"]
