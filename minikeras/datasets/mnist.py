"""MNIST handwritten digits: Keras' loader, plus offline fallbacks for tutorials and tests.

- `load_data()`: exactly Keras' `keras.datasets.mnist.load_data()` - the full dataset
  (60,000 train / 10,000 test), from `mnist.npz` in the Keras cache (downloaded once).
- `load_test_split()`: the real 10,000-image test split, read offline from the original IDX
  files shipped in `minikeras/datasets/data/` (or from a folder you name).
- `load_data_or_fallback()`: `load_data()` when possible, otherwise a seeded 80/20 split of
  `load_test_split()`, announced with a printed message (and returned as `info`).

License: MNIST is by Yann LeCun and Corinna Cortes, under CC BY-SA 3.0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minikeras.datasets.idx import load_idx_pair
from minikeras.utils.file_utils import DownloadError, get_file

# Same file, URL and hash as keras/src/datasets/mnist.py, so both share one cache file.
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
ENV_DIR = "MINIKERAS_MNIST_DIR"
# The package ships the test split (origin, license and sha256 in data/README.md), so a fresh
# clone or install needs neither a network nor any folder beside the repository.
PACKAGE_DIR = Path(__file__).resolve().parent / "data"
# sha256 of the *uncompressed* IDX files, as published with the split (data/README.md).
TEST_SHA256 = {
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(path: str = "mnist.npz") -> Split:
    """Load full MNIST as Keras does: `(x_train, y_train), (x_test, y_test)`.

    `x_*` are uint8 (N, 28, 28) with pixels 0-255, `y_*` uint8 (N,) digits 0-9;
    N = 60,000 for train and 10,000 for test. `path` is the file name inside the Keras
    cache (`$KERAS_HOME/datasets`, default `~/.keras/datasets`); the file is downloaded
    there once and checked against its sha256.

    Raises:
        DownloadError: not cached and cannot be downloaded; says where to put the file.
    """
    try:
        fpath = get_file(fname=path, origin=ORIGIN, file_hash=FILE_HASH)
    except DownloadError as e:
        raise DownloadError(
            f"{e}\nWorking offline? minikeras.datasets.mnist.load_test_split() reads the "
            "10,000-image test split from IDX files, and load_data_or_fallback() splits it "
            "into train/test when the full dataset is missing."
        ) from e
    with np.load(fpath, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _find_test_split(path: str | os.PathLike | None) -> tuple[Path, Path, str]:
    """(images file, labels file, description) of the test split to read."""
    def pair(folder: Path) -> tuple[Path, Path]:
        return folder / TEST_IMAGES, folder / TEST_LABELS

    # An explicit choice (argument or env var) that is wrong is an error, not a silent fallback.
    for chosen, what in ((path, "path"), (os.environ.get(ENV_DIR), f"${ENV_DIR}")):
        if chosen:
            images, labels = pair(Path(chosen))
            if not (images.is_file() and labels.is_file()):
                raise FileNotFoundError(
                    f"MNIST test split not found: {what}={str(chosen)!r} must be a folder "
                    f"holding {TEST_IMAGES} and {TEST_LABELS}."
                )
            return images, labels, f"the MNIST test split from {images.parent}"
    images, labels = pair(PACKAGE_DIR)
    if not (images.is_file() and labels.is_file()):
        raise FileNotFoundError(
            f"The MNIST test split shipped with minikeras is missing: expected {images} and "
            f"{labels} (see {PACKAGE_DIR / 'README.md'}); reinstall minikeras or set "
            f"${ENV_DIR} to a folder holding {TEST_IMAGES} and {TEST_LABELS}."
        )
    return images, labels, "the 10,000-image MNIST test split shipped in minikeras/datasets/data"


def load_test_split(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test split `(x, y)`, read offline from the original IDX files.

    Reads `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz` from `path` if
    given, else from `$MINIKERAS_MNIST_DIR` if set, else from the copy shipped in
    `minikeras/datasets/data/` -> 10,000 images. `x` is uint8 (N, 28, 28), `y` uint8 (N,),
    same conventions as `load_data()`.

    Raises:
        FileNotFoundError: `path` or `$MINIKERAS_MNIST_DIR` is set but lacks the files.
    """
    images, labels, _ = _find_test_split(path)
    return load_idx_pair(images, labels)


@dataclass(frozen=True)
class DataInfo:
    """What `load_data_or_fallback()` returned: `full` is True for the real 60k/10k MNIST."""

    full: bool
    message: str

    def __str__(self) -> str:
        return self.message


def load_data_or_fallback(
    path: str = "mnist.npz", train_fraction: float = 0.8, seed: int = 0, verbose: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], DataInfo]:
    """Full MNIST if it is cached or downloadable, else a split of the test split.

    Returns `(x_train, y_train), (x_test, y_test), info`: the tuples as in `load_data()`,
    and `info.full` / `info.message` saying which data it is (print it next to any
    accuracy). Without full MNIST, the images of `load_test_split()` are shuffled with
    `seed` (the test set's first half is easier than its second, so a plain cut would
    be biased) and cut `train_fraction` / rest: 8,000 / 2,000 of the
    10,000 test images. The message is printed when `verbose`.
    """
    try:
        (x_train, y_train), (x_test, y_test) = load_data(path)
        sizes = f"{len(x_train):,} training / {len(x_test):,} test images"
        info = DataInfo(True, f"Full MNIST: {sizes}.")
    except DownloadError as e:
        reason = str(e).splitlines()[0].rstrip(".")
        images, labels, source = _find_test_split(None)
        x, y = load_idx_pair(images, labels)
        order = np.random.default_rng(seed).permutation(len(x))
        cut = int(round(train_fraction * len(x)))
        x_train, y_train = x[order[:cut]], y[order[:cut]]
        x_test, y_test = x[order[cut:]], y[order[cut:]]
        info = DataInfo(
            False,
            f"Full MNIST is not available ({reason}). Falling back to {source}, shuffled "
            f"(seed {seed}) and split into {len(x_train):,} training / {len(x_test):,} "
            f"evaluation images: accuracies are on {len(x_test):,} held-out MNIST test "
            "images, not on the standard 10,000-image test set.",
        )
    if verbose:
        print(info.message)
    return (x_train, y_train), (x_test, y_test), info
