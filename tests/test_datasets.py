"""Datasets: get_file caching/hash/offline errors, the IDX reader, MNIST and Fashion-MNIST loaders.

No test touches the network: downloads come from `file://` URLs of small fake files, and
"offline" is a download function that raises. `KERAS_HOME` points into tmp_path so the
real `~/.keras` cache is never read or written.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from minikeras.datasets import fashion_mnist, mnist, read_idx
from minikeras.datasets.idx import load_idx_pair
from minikeras.utils import file_utils
from minikeras.utils.file_utils import DownloadError, get_file, hash_file


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv(mnist.ENV_DIR, raising=False)
    monkeypatch.delenv(fashion_mnist.ENV_DIR, raising=False)
    return home


@pytest.fixture
def offline(monkeypatch):
    """Every download fails the way it does without network."""
    def fail(origin, dest):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "_download", fail)


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as a gzipped IDX file (header: 0 0 0x08 ndim, then big-endian dims)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return path


def fake_mnist_npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    np.savez_compressed(path, **arrays)
    return path


# --- get_file -------------------------------------------------------------------------------


def test_get_file_downloads_once_then_uses_cache(tmp_path, keras_home, capsys):
    src = fake_mnist_npz(tmp_path / "src.npz")
    digest = hash_file(str(src))
    path = get_file("data.npz", origin=src.as_uri(), file_hash=digest)
    assert path == str(keras_home / "datasets" / "data.npz")  # Keras' cache layout
    assert hash_file(path) == digest
    assert "Downloading data from" in capsys.readouterr().out
    # Second call: served from the cache, even though the origin is gone.
    src.unlink()
    assert get_file("data.npz", origin=src.as_uri(), file_hash=digest) == path
    assert capsys.readouterr().out == ""


def test_get_file_name_from_url_and_cache_dir(tmp_path):
    src = tmp_path / "payload.bin"
    src.write_bytes(b"abc")
    path = get_file(origin=src.as_uri(), cache_dir=str(tmp_path / "c"), cache_subdir="sub")
    assert path == str(tmp_path / "c" / "sub" / "payload.bin")
    with pytest.raises(ValueError, match="bare file name"):
        get_file("a/b.bin", origin=src.as_uri())
    with pytest.raises(ValueError, match="origin"):
        get_file("b.bin")


def test_get_file_wrong_hash_after_download_keeps_nothing(tmp_path, keras_home):
    src = tmp_path / "payload.bin"
    src.write_bytes(b"abc")
    with pytest.raises(ValueError, match="corrupted"):
        get_file("payload.bin", origin=src.as_uri(), file_hash="0" * 64)
    assert list((keras_home / "datasets").iterdir()) == []  # no partial or bad file left


def test_get_file_md5_hash(tmp_path):
    src = tmp_path / "payload.bin"
    src.write_bytes(b"abc")
    md5 = hashlib.md5(b"abc").hexdigest()
    assert Path(get_file("payload.bin", origin=src.as_uri(), file_hash=md5)).read_bytes() == b"abc"


def test_get_file_redownloads_corrupted_cache(tmp_path, keras_home, capsys):
    src = tmp_path / "payload.bin"
    src.write_bytes(b"good bytes")
    cached = keras_home / "datasets" / "payload.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncat")
    digest = hashlib.sha256(b"good bytes").hexdigest()
    assert get_file("payload.bin", origin=src.as_uri(), file_hash=digest) == str(cached)
    assert cached.read_bytes() == b"good bytes"
    assert "does not match" in capsys.readouterr().out


def test_get_file_offline_error_says_what_to_put_where(tmp_path, keras_home):
    missing = (tmp_path / "nowhere" / "file.npz").as_uri()  # a real URLError, no network
    with pytest.raises(DownloadError) as err:
        get_file("file.npz", origin=missing, file_hash="ab" * 32)
    message = str(err.value)
    assert missing in message
    assert str(keras_home / "datasets" / "file.npz") in message
    assert "sha256 " + "ab" * 32 in message
    assert not (keras_home / "datasets" / "file.npz.part").exists()


def test_get_file_offline_with_corrupted_cache_mentions_both(keras_home, offline):
    cached = keras_home / "datasets" / "x.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"bad")
    with pytest.raises(DownloadError, match="cached file was found"):
        get_file("x.bin", origin="https://example.invalid/x.bin", file_hash="cd" * 32)
    assert cached.read_bytes() == b"bad"  # left for the user to inspect/replace


# --- IDX reader -----------------------------------------------------------------------------


def test_read_idx_roundtrip_plain_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    gz = write_idx(tmp_path / "a.gz", a)
    plain = tmp_path / "a.idx"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    for path in (gz, plain):
        out = read_idx(path)
        np.testing.assert_array_equal(out, a)
        assert out.dtype == np.uint8 and out.flags.writeable


def test_read_idx_big_endian_int32(tmp_path):
    a = np.array([[1, -2], [300000, 4]], dtype=">i4")
    path = tmp_path / "i.idx"
    path.write_bytes(bytes([0, 0, 0x0C, 2]) + np.array([2, 2], ">i4").tobytes() + a.tobytes())
    out = read_idx(path)
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.int32 and out.dtype.isnative


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 8, 1]) + np.array([5], ">i4").tobytes() + b"\x01\x02")
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        read_idx(short)
    x = write_idx(tmp_path / "x.gz", np.zeros((3, 2, 2), np.uint8))
    y = write_idx(tmp_path / "y.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="mismatch"):
        load_idx_pair(x, y)


def test_shipped_test_split_is_real_mnist():
    """The shipped files are the published test split: sha256 of the uncompressed bytes as in
    data/README.md, 10,000 images, the famous first labels, and under 2 MB on disk."""
    total = 0
    for name, digest in mnist.TEST_SHA256.items():
        path = mnist.PACKAGE_DIR / name
        assert hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest() == digest
        assert digest in (mnist.PACKAGE_DIR / "README.md").read_text()
        total += path.stat().st_size
    assert total < 2_000_000
    x, y = mnist.load_test_split()
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    assert set(np.unique(y)) == set(range(10)) and x.max() == 255
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --- MNIST loaders --------------------------------------------------------------------------


def test_load_test_split_from_path_and_env(tmp_path, monkeypatch):
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / mnist.TEST_IMAGES, np.full((5, 28, 28), 7, np.uint8))
    write_idx(folder / mnist.TEST_LABELS, np.arange(5, dtype=np.uint8))
    x, y = mnist.load_test_split(folder)
    assert x.shape == (5, 28, 28) and y.tolist() == [0, 1, 2, 3, 4]
    monkeypatch.setenv(mnist.ENV_DIR, str(folder))
    assert mnist.load_test_split()[0].shape == (5, 28, 28)
    # An explicit folder that lacks the files is an error, not a silent fallback.
    monkeypatch.setenv(mnist.ENV_DIR, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match=mnist.ENV_DIR):
        mnist.load_test_split()


def test_load_test_split_needs_nothing_beside_the_package(monkeypatch):
    """With no path and no $MINIKERAS_MNIST_DIR the shipped copy is read (never ../shared)."""
    images, labels, source = mnist._find_test_split(None)
    assert images.parent == mnist.PACKAGE_DIR and labels.parent == mnist.PACKAGE_DIR
    assert "shipped" in source
    monkeypatch.setattr(mnist, "PACKAGE_DIR", Path("/nonexistent"))
    with pytest.raises(FileNotFoundError, match="shipped with minikeras is missing"):
        mnist.load_test_split()


def test_load_data_from_cache_like_keras(tmp_path, keras_home, monkeypatch):
    src = fake_mnist_npz(tmp_path / "mnist_src.npz")
    monkeypatch.setattr(mnist, "ORIGIN", src.as_uri())
    monkeypatch.setattr(mnist, "FILE_HASH", hash_file(str(src)))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert (keras_home / "datasets" / "mnist.npz").is_file()
    assert x_train.shape == (6, 28, 28) and y_train.shape == (6,)
    assert x_test.shape == (4, 28, 28) and y_test.shape == (4,)
    assert x_train.dtype == np.uint8 and y_test.dtype == np.uint8


def test_load_data_offline_error(keras_home, offline):
    with pytest.raises(DownloadError) as err:
        mnist.load_data()
    message = str(err.value)
    assert str(keras_home / "datasets" / "mnist.npz") in message
    assert mnist.FILE_HASH in message and mnist.ORIGIN in message
    assert "load_data_or_fallback" in message


def test_load_data_or_fallback_offline(offline, capsys):
    (x_train, y_train), (x_test, y_test), info = mnist.load_data_or_fallback()
    n = 10000
    assert (len(x_train), len(x_test)) == (n * 8 // 10, n * 2 // 10)
    assert x_train.shape[1:] == (28, 28) and x_train.dtype == np.uint8
    assert not info.full
    assert f"{len(x_test):,} held-out" in capsys.readouterr().out
    # Seeded: the same split every time, and train/test images are disjoint rows of the split.
    (x2, _), _, _ = mnist.load_data_or_fallback(verbose=False)
    np.testing.assert_array_equal(x_train, x2)
    assert len(y_train) + len(y_test) == n


def test_load_data_or_fallback_uses_full_data_when_cached(tmp_path, monkeypatch, capsys):
    src = fake_mnist_npz(tmp_path / "mnist_src.npz")
    monkeypatch.setattr(mnist, "ORIGIN", src.as_uri())
    monkeypatch.setattr(mnist, "FILE_HASH", hash_file(str(src)))
    (x_train, _), (x_test, _), info = mnist.load_data_or_fallback()
    assert info.full and (len(x_train), len(x_test)) == (6, 4)
    assert "Full MNIST" in capsys.readouterr().out


# --- Fashion-MNIST --------------------------------------------------------------------------


def fake_fashion_dir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for n, split in ((3, "train"), (2, "t10k")):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", np.ones((n, 28, 28), np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
    return folder


def test_fashion_mnist_downloads_into_keras_subdir(tmp_path, keras_home, monkeypatch):
    origin = fake_fashion_dir(tmp_path / "bucket")
    monkeypatch.setattr(fashion_mnist, "BASE_URL", origin.as_uri() + "/")
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (3, 28, 28) and y_train.tolist() == [0, 1, 2]
    assert x_test.shape == (2, 28, 28) and y_test.dtype == np.uint8
    cached = sorted(p.name for p in (keras_home / "datasets" / "fashion-mnist").iterdir())
    assert cached == sorted(fashion_mnist.FILES)


def test_fashion_mnist_offline(tmp_path, keras_home, monkeypatch, offline):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "no_debian_package"))
    with pytest.raises(DownloadError) as err:
        fashion_mnist.load_data()
    assert str(keras_home / "datasets" / "fashion-mnist") in str(err.value)
    assert "dataset-fashion-mnist" in str(err.value)
    # Offline but with the four files in a local folder: they are used.
    monkeypatch.setenv(fashion_mnist.ENV_DIR, str(fake_fashion_dir(tmp_path / "local")))
    (x_train, _), (x_test, _) = fashion_mnist.load_data()
    assert len(x_train) == 3 and len(x_test) == 2
