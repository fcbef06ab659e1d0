"""Fashion-MNIST: 70,000 28x28 grayscale images of 10 clothing classes, a drop-in for MNIST.

`load_data()` behaves as `keras.datasets.fashion_mnist.load_data()`: the four gzipped IDX
files, downloaded once from Keras' bucket into `$KERAS_HOME/datasets/fashion-mnist`
(Keras checks no hash for these, so neither do we). Offline, it also accepts the same
four files from `$MINIKERAS_FASHION_MNIST_DIR` or from the Debian package
`dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist`).

License: Fashion-MNIST is copyright Zalando SE, under the MIT license.
"""

from __future__ import annotations

import os

import numpy as np

from minikeras.datasets.idx import load_idx_pair
from minikeras.utils.file_utils import DownloadError, get_file

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
ENV_DIR = "MINIKERAS_FASHION_MNIST_DIR"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _local_files() -> list[str] | None:
    """The four files from a local folder that has all of them, or None."""
    for folder in (os.environ.get(ENV_DIR), DEBIAN_DIR):
        if folder and all(os.path.isfile(os.path.join(folder, f)) for f in FILES):
            return [os.path.join(folder, f) for f in FILES]
    return None


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST as Keras does: `(x_train, y_train), (x_test, y_test)`.

    uint8 images (60000, 28, 28) / (10000, 28, 28) with pixels 0-255 and uint8 labels
    0-9 (names in `CLASS_NAMES`).

    Raises:
        DownloadError: a file is neither cached nor downloadable nor found locally.
    """
    try:
        paths = [get_file(f, origin=BASE_URL + f, cache_subdir=CACHE_SUBDIR) for f in FILES]
    except DownloadError as e:
        paths = _local_files()
        if paths is None:
            raise DownloadError(
                f"{e}\nAll four Fashion-MNIST files ({', '.join(FILES)}) come from "
                f"{BASE_URL} and go in that same folder. Offline, minikeras also reads them from "
                f"${ENV_DIR} or from {DEBIAN_DIR} (Debian package dataset-fashion-mnist)."
            ) from e
        folder = os.path.dirname(paths[0])
        print(f"Fashion-MNIST could not be downloaded; using the files in {folder}.")
    x_train, y_train = load_idx_pair(paths[0], paths[1])
    x_test, y_test = load_idx_pair(paths[2], paths[3])
    return (x_train, y_train), (x_test, y_test)
