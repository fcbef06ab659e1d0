"""Saving and loading models in Keras 3's formats.

* ``model.save("m.keras")``: a zip of ``metadata.json``, ``config.json`` (architecture and
  compile settings) and ``model.weights.h5`` (weights and optimizer state);
  ``load_model("m.keras")`` rebuilds, recompiles and restores it, so training continues
  exactly where it stopped.
* ``model.save_weights("m.weights.h5")`` / ``model.load_weights(...)``: the same HDF5 tree
  alone (see ``weights_h5.py``); files cross between Keras and minikeras.
* ``model.save("m.h5")``: the legacy whole-model HDF5 file of Keras 2 tutorials
  (``legacy_h5.py``).
* ``model.to_json()`` / ``model_from_json(s)``: the architecture only (fresh weights).
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import warnings
import zipfile
from typing import Any

from minikeras.saving import config as config_lib
from minikeras.saving import legacy_h5, weights_h5
from minikeras.utils import validation

KERAS_VERSION = "3.15.1"   # the Keras version whose file layout these files follow

__all__ = ["load_model", "load_weights", "model_from_json", "save_model", "save_weights"]


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise ImportError("Saving and loading HDF5 files needs `h5py` (pip install h5py).") \
            from exc
    return h5py


def _path(filepath: Any) -> str:
    validation.check_path(filepath, "saving")
    return os.fspath(filepath)


def _missing(path: str) -> FileNotFoundError:
    return FileNotFoundError(f"No file or directory found at {path}")


# --------------------------------------------------------------------------- weights only
def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    path = _path(filepath)
    if not path.endswith(".weights.h5"):
        raise ValueError("The filename must end in `.weights.h5`. Received: "
                         f"filepath={path}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False.")
    with _h5py().File(path, "w") as f:
        weights_h5.write_weights(model, f)


def _open_h5(path: str) -> Any:
    if not os.path.exists(path):
        raise _missing(path)
    try:
        return _h5py().File(path, "r")
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: not a valid HDF5 file (truncated or corrupt?). "
                         f"h5py said: {exc}") from exc


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Load weights saved by minikeras or Keras (``.weights.h5``, ``.keras``, legacy ``.h5``)."""
    path = _path(filepath)
    if path.endswith(".keras"):
        with _open_zip(path) as zf, tempfile.TemporaryDirectory() as tmp:
            weights_file = _extract(zf, "model.weights.h5", tmp, path)
            with _open_h5(weights_file) as f:
                weights_h5.read_weights(model, f, path)
        return
    if not (path.endswith(".weights.h5") or path.endswith(".h5") or path.endswith(".hdf5")):
        raise ValueError(f"File format not supported: filepath={path}. minikeras reads "
                         "`.weights.h5`, `.keras` and legacy `.h5` files.")
    with _open_h5(path) as f:
        if "model_weights" in f or "layer_names" in f.attrs:
            legacy_h5.read_weights(model, f, path)
        else:
            weights_h5.read_weights(model, f, path)


# --------------------------------------------------------------------------- .keras
def _open_zip(path: str) -> zipfile.ZipFile:
    if not os.path.exists(path):
        raise _missing(path)
    try:
        return zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as exc:
        raise ValueError(f"Cannot read {path}: not a valid .keras (zip) file, it may be "
                         "truncated or corrupt.") from exc


def _extract(zf: zipfile.ZipFile, name: str, tmp: str, path: str) -> str:
    if name not in zf.namelist():
        raise ValueError(f"{path} is not a complete .keras file: it lacks `{name}` "
                         f"(it holds {zf.namelist()}).")
    try:
        return zf.extract(name, tmp)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"Cannot read `{name}` from {path}: the file is corrupt.") from exc


def save_model(model: Any, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
    path = _path(filepath)
    if path.endswith(".h5") or path.endswith(".hdf5"):
        warnings.warn("You are saving your model as an HDF5 file via `model.save()`. This file "
                      "format is considered legacy. We recommend using instead the native "
                      "Keras format, e.g. `model.save('my_model.keras')`.", UserWarning,
                      stacklevel=3)
        legacy_h5.save_model(model, path, KERAS_VERSION)
        return
    if not path.endswith(".keras"):
        raise ValueError("Invalid filepath extension for saving. Please add either a `.keras` "
                         "extension for the native Keras format (recommended) or a `.h5` "
                         f"extension. Received: filepath={path}.")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False.")
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    config = config_lib.model_to_dict(model)
    with tempfile.TemporaryDirectory() as tmp:
        weights_file = os.path.join(tmp, "model.weights.h5")
        with _h5py().File(weights_file, "w") as f:
            weights_h5.write_weights(model, f)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("metadata.json", json.dumps(metadata))
            zf.writestr("config.json", json.dumps(config))
            zf.write(weights_file, "model.weights.h5")


def load_model(filepath: Any, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Rebuild a model saved with ``model.save`` (``.keras`` or legacy ``.h5``)."""
    path = _path(filepath)
    if path.endswith(".h5") or path.endswith(".hdf5"):
        with _open_h5(path) as f:
            return legacy_h5.load_model(f, path, custom_objects, compile)
    if not path.endswith(".keras"):
        raise ValueError(f"File format not supported: filepath={path}. minikeras loads "
                         "`.keras` and legacy `.h5` files.")
    with _open_zip(path) as zf, tempfile.TemporaryDirectory() as tmp:
        try:
            data = json.loads(zf.read("config.json"))
        except KeyError as exc:
            raise ValueError(f"{path} is not a complete .keras file: it lacks "
                             "`config.json`.") from exc
        except (zipfile.BadZipFile, json.JSONDecodeError, EOFError) as exc:
            raise ValueError(f"Cannot read config.json from {path}: the file is corrupt.") \
                from exc
        model = config_lib.model_from_dict(data, custom_objects, compile)
        weights_file = _extract(zf, "model.weights.h5", tmp, path)
        with _open_h5(weights_file) as f:
            weights_h5.read_weights(model, f, path, build_optimizer=True)
    return model


# --------------------------------------------------------------------------- json
def model_to_json(model: Any, **kwargs: Any) -> str:
    return json.dumps(config_lib.model_to_dict(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Any:
    """The architecture from ``to_json`` (fresh weights), compiled if it was compiled."""
    try:
        data = json.loads(json_string)
    except json.JSONDecodeError as exc:
        raise ValueError(f"model_from_json: the string is not valid JSON ({exc}).") from exc
    return config_lib.model_from_dict(data, custom_objects, compile=True)
