"""`get_file`: download a file once, keep it in the Keras cache, check its hash.

The cache layout is Keras 3's own (`$KERAS_HOME/<cache_subdir>/<fname>`, with
`KERAS_HOME` defaulting to `~/.keras`), so a dataset that real Keras already downloaded
is reused as is, and the other way round.

Differences from `keras.utils.get_file`, on purpose:

- no archive extraction (`extract=`/`untar=`): the datasets here need none;
- a download goes to `<target>.part` and is renamed only once it is complete and its
  hash matches, so an interrupted or corrupted download never poisons the cache;
- when the download fails (no network), `DownloadError` says which file to put where.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse

# Seconds to wait for the server before giving up (Keras waits forever; an offline
# machine usually fails at once anyway, on the DNS lookup).
DOWNLOAD_TIMEOUT = 60.0


class DownloadError(OSError):
    """A file was needed, was not in the cache, and could not be downloaded."""


def keras_home() -> str:
    """The Keras base directory: `$KERAS_HOME`, else `~/.keras` (`/tmp/.keras` if ~ is read-only).

    Read at call time (Keras reads it once at import), so tests can point it elsewhere.
    """
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def hash_file(fpath: str, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """Hex digest of a file, read in chunks (the datasets are tens of MB)."""
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _resolve_algorithm(file_hash: str, hash_algorithm: str) -> str:
    # Keras' "auto" rule: a 64-hex-digit hash is sha256, anything else is md5.
    if hash_algorithm == "auto":
        return "sha256" if len(file_hash) == 64 else "md5"
    if hash_algorithm not in ("sha256", "md5"):
        raise ValueError(
            f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {hash_algorithm!r}."
        )
    return hash_algorithm


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto") -> bool:
    """True when the file's sha256 (or md5) equals `file_hash`."""
    algorithm = _resolve_algorithm(file_hash, algorithm)
    return hash_file(fpath, algorithm) == file_hash.lower()


def _cache_dir(cache_dir: str | None, cache_subdir: str) -> str:
    """Create and return `<cache_dir>/<cache_subdir>`, falling back to /tmp/.keras as Keras does."""
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    datadir = os.path.join(base, cache_subdir)
    try:
        os.makedirs(datadir, exist_ok=True)
    except OSError:
        pass
    if not os.access(datadir, os.W_OK):
        datadir = os.path.join(tempfile.gettempdir(), ".keras", cache_subdir)
        os.makedirs(datadir, exist_ok=True)
    return datadir


def _download(origin: str, dest: str) -> None:
    """Stream `origin` (http(s):// or file://) into `dest`."""
    import urllib.request  # imported here: it pulls in ssl/http, which `import minikeras` needn't

    with urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT) as response:
        with open(dest, "wb") as f:
            shutil.copyfileobj(response, f, length=1 << 20)


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    *,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    cache_dir: str | None = None,
    force_download: bool = False,
) -> str:
    """Return the local path of `fname`, downloading it from `origin` if it is not cached.

    The file lives at `<cache_dir>/<cache_subdir>/<fname>` (default
    `~/.keras/datasets/<fname>`, as in Keras). With `file_hash` (sha256 or md5 hex digest):
    a cached file whose hash differs is downloaded again (Keras' behaviour), and a
    freshly downloaded file whose hash differs raises `ValueError` and is not kept.

    Raises:
        DownloadError: the file is needed and the download failed (e.g. offline); the
            message names the origin URL, the full path to put the file at, and its hash.
        ValueError: missing origin, a path as fname, or a downloaded file with the wrong hash.
    """
    if origin is None:
        raise ValueError("get_file: please specify `origin` (the URL of the file to download).")
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"get_file: cannot take a file name from origin {origin!r}; pass `fname`."
            )
    if os.sep in fname:
        raise ValueError(
            f"get_file: `fname` must be a bare file name, got {fname!r}; "
            "choose the folder with `cache_dir` / `cache_subdir`."
        )
    algorithm = _resolve_algorithm(file_hash, hash_algorithm) if file_hash else None
    target = os.path.join(_cache_dir(cache_dir, cache_subdir), fname)

    stale_note = ""
    if os.path.exists(target) and not force_download:
        if file_hash is None or validate_file(target, file_hash, algorithm):
            return target
        stale_note = (
            f"A cached file was found at {target}, but its {algorithm} hash does not match "
            f"{file_hash} (incomplete or outdated)."
        )
        print(f"{stale_note} Downloading it again.")

    print(f"Downloading data from {origin}")
    partial = target + ".part"
    try:
        _download(origin, partial)
    except (OSError, ValueError) as e:  # URLError/HTTPError/timeouts are OSErrors
        if os.path.exists(partial):
            os.remove(partial)
        reason = getattr(e, "reason", None) or e
        hash_text = f" ({algorithm} {file_hash})" if file_hash else ""
        raise DownloadError(
            f"Could not download {fname} from {origin} ({reason}).\n"
            + (f"{stale_note}\n" if stale_note else "")
            + f"If this machine is offline, get the file elsewhere from {origin} and put the "
            f"file {fname}{hash_text} at {target}"
        ) from e

    if file_hash is not None and not validate_file(partial, file_hash, algorithm):
        actual = hash_file(partial, algorithm)
        os.remove(partial)
        raise ValueError(
            f"Incomplete or corrupted file detected: {origin} downloaded with {algorithm} "
            f"{actual}, expected {file_hash}. Nothing was written to {target}."
        )
    os.replace(partial, target)  # atomic: readers never see a half-written file
    return target
