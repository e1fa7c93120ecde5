"""Model files: where they live, and how they are written and read safely.

A model is ``weights/<name>.npz``, written with ``np.savez`` (plain arrays, no pickle) and read with
``allow_pickle=False``, so opening a file can never run code. Beside it, ``<name>.json`` holds the
same metadata in readable form (layer_data, hyperparameters, test accuracy, training time, date,
the command that made it); the ``.npz`` carries a copy so that it stands on its own.

Writes are atomic: a temporary file in the same folder, flushed to disk, then renamed over the
target, so a crash or a full disk never leaves a half-written model behind. Loading checks every
key, shape, dtype and value and says what is wrong with a file that does not fit.
"""

import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from .files import atomic_write
from .model import Model
from .network import DTYPE, LayerDataError, check_layer_data

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = "default"
META_KEY = "__meta__"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ModelFileError(Exception):
    """A model file could not be read, or is not a valid model; the message names the problem."""


def weights_dir():
    """The folder of saved models: ``NN_CORE_WEIGHTS_DIR`` if set, else ``weights/`` in the project."""
    return Path(os.environ["NN_CORE_WEIGHTS_DIR"]) if os.environ.get("NN_CORE_WEIGHTS_DIR") else WEIGHTS_DIR


def model_path(name_or_path):
    """A model name (``"default"``) or a path -> the ``.npz`` path."""
    text = str(name_or_path)
    if os.sep in text or "/" in text or text.endswith(".npz"):
        return Path(text)
    return weights_dir() / (text + ".npz")


def check_name(name):
    """Raise ``ValueError`` unless ``name`` is usable as a model file name."""
    if not NAME_PATTERN.match(name or ""):
        raise ValueError(
            "a model name must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit; got %r"
            % (name,)
        )
    return name


def list_models(folder=None):
    """Names of the models in ``folder`` (default: the weights folder), the default one first."""
    folder = Path(folder) if folder else weights_dir()
    names = sorted(p.stem for p in folder.glob("*.npz")) if folder.is_dir() else []
    if DEFAULT_MODEL in names:
        names.remove(DEFAULT_MODEL)
        names.insert(0, DEFAULT_MODEL)
    return names


def save_model(path, params, layer_data, meta=None, overwrite=True):
    """Write ``params`` and metadata to ``path`` (``.npz``) and ``path`` with ``.json``, atomically.
    With ``overwrite=False`` an existing model is never replaced (``FileExistsError``), even when
    two users save under the same name at the same moment. Returns the path written."""
    path = model_path(path)
    arrays, meta_text = _payload(params, layer_data, meta, str(path))
    try:
        atomic_write(path, lambda f: np.savez(f, **arrays), replace=overwrite)
    except FileExistsError:
        raise FileExistsError("a model named %r exists already; choose another name" % path.stem) from None
    atomic_write(path.with_suffix(".json"), lambda f: f.write((meta_text + "\n").encode()))
    return path


def model_bytes(params, layer_data, meta=None):
    """The ``.npz`` file ``save_model`` would write, as bytes (for a download button)."""
    arrays, _ = _payload(params, layer_data, meta, "the model")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _payload(params, layer_data, meta, source):
    layer_data = check_layer_data(layer_data)
    validate_params(params, layer_data, source)
    meta = dict(meta or {})
    meta["layer_data"] = layer_data
    meta_text = json.dumps(meta, indent=2, sort_keys=True, default=str)
    arrays = {k: np.asarray(v, dtype=DTYPE) for k, v in params.items()}
    arrays[META_KEY] = np.array(meta_text)
    return arrays, meta_text


def validate_params(params, layer_data, source="the model"):
    """Check that ``params`` has exactly W1, b1, ..., WL, bL with the shapes ``layer_data`` implies,
    a floating dtype and only finite values. Raise ``ModelFileError`` naming the first problem."""
    dims = layer_data["Dim"]
    L = len(dims) - 1
    expected = {}
    for l in range(1, L + 1):
        expected["W%d" % l] = (dims[l], dims[l - 1])
        expected["b%d" % l] = (dims[l], 1)
    missing = [k for k in expected if k not in params]
    if missing:
        raise ModelFileError("%s has no %s (a %d-layer network needs %s)" % (source, missing[0], L, ", ".join(expected)))
    extra = sorted(set(params) - set(expected))
    if extra:
        raise ModelFileError("%s has an unexpected array %r for a %d-layer network" % (source, extra[0], L))
    for key, shape in expected.items():
        value = params[key]
        if not np.issubdtype(value.dtype, np.floating):
            raise ModelFileError("%s: %s has dtype %s, expected floating point" % (source, key, value.dtype))
        if tuple(value.shape) != shape:
            raise ModelFileError(
                "%s: %s has shape %s but layer_data %s needs %s" % (source, key, tuple(value.shape), dims, shape)
            )
        if not np.all(np.isfinite(value)):
            raise ModelFileError("%s: %s contains NaN or infinite values" % (source, key))


def load_model(name_or_path):
    """Read a model by name or path; raise ``ModelFileError`` with a clear reason if it is not valid."""
    path = model_path(name_or_path)
    if not path.is_file():
        raise ModelFileError("no model file at %s" % path)
    if not zipfile.is_zipfile(path):
        # Anything else (a pickle, a .npy, random bytes) is refused before NumPy looks at it.
        raise ModelFileError("%s is not a readable .npz model file (not a zip archive)" % path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except ValueError as exc:
        # np.load refuses arrays of Python objects without allow_pickle: never unpickle.
        raise ModelFileError("%s holds pickled objects, which are not loaded for safety (%s)" % (path, exc)) from exc
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise ModelFileError("%s is not a readable .npz model file (%s)" % (path, exc)) from exc
    if META_KEY not in arrays:
        raise ModelFileError("%s has no metadata (%s), so its layers are unknown" % (path, META_KEY))
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
        layer_data = check_layer_data(meta["layer_data"])
    except (ValueError, KeyError, TypeError, LayerDataError) as exc:
        raise ModelFileError("%s has unreadable metadata: %s" % (path, exc)) from exc
    validate_params(arrays, layer_data, str(path))
    params = {k: v.astype(DTYPE, copy=False) for k, v in arrays.items()}
    return Model(layer_data=layer_data, params=params, meta=meta, path=path)
