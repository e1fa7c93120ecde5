"""Model files: where they live, and how they are written and read safely.

A model is ``weights/<name>.npz``, written with ``np.savez`` (plain arrays, no pickle) and read with
``allow_pickle=False``, so opening a file can never run code. Beside it, ``<name>.json`` holds the
same metadata in readable form (layer_data, hyperparameters, test accuracy, training time, date,
the command that made it); the ``.npz`` carries a copy so that it stands on its own.

Writes are atomic: a temporary file in the same folder, flushed to disk, then renamed over the
target, so a crash or a full disk never leaves a half-written model behind. A name is only ever a
name: saving writes into the weights folder and nowhere else.

A model file may come from anyone, so loading reads nothing it has not checked first: the archive's
list of members, then the metadata (small) and the network it describes, then each array's header
(shape and dtype) against that network, and only then the arrays themselves.
"""

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_write
from .model import Model
from .network import DTYPE, N_CLASSES, N_PIXELS, LayerData, LayerDataError, Params, check_layer_data

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = "default"
META_KEY = "__meta__"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_META_CHARS = 2_000_000  # the metadata of a 100-epoch run is about 30,000 characters


class ModelFileError(Exception):
    """A model file could not be read, or is not a valid model; the message names the problem."""


def weights_dir() -> Path:
    """The folder of saved models: ``NN_CORE_WEIGHTS_DIR`` if set, else ``weights/`` in the project."""
    return Path(os.environ["NN_CORE_WEIGHTS_DIR"]) if os.environ.get("NN_CORE_WEIGHTS_DIR") else WEIGHTS_DIR


def model_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A model name (``"default"``) or a path -> the ``.npz`` path."""
    text = str(name_or_path)
    if os.sep in text or "/" in text or text.endswith(".npz"):
        return Path(text)
    return weights_dir() / (text + ".npz")


def check_name(name: str) -> str:
    """Raise ``ValueError`` unless ``name`` is usable as a model name (a name, never a path)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or name.lower().endswith((".npz", ".json")):
        raise ValueError(
            "a model name must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit "
            "and not ending in .npz or .json; got %r" % (name,)
        )
    return name


def list_models(folder: Path | None = None) -> list[str]:
    """Names of the models in ``folder`` (default: the weights folder), the default one first."""
    folder = Path(folder) if folder else weights_dir()
    names = sorted(p.stem for p in folder.glob("*.npz")) if folder.is_dir() else []
    if DEFAULT_MODEL in names:
        names.remove(DEFAULT_MODEL)
        names.insert(0, DEFAULT_MODEL)
    return names


def save_model(
    name: str, params: Params, layer_data: LayerData, meta: dict[str, Any] | None = None, overwrite: bool = True
) -> Path:
    """Write ``params`` and metadata to ``NAME.npz`` and ``NAME.json`` in the weights folder,
    atomically. With ``overwrite=False`` an existing model (or a stray ``NAME.json``) is never
    replaced (``FileExistsError``), even when two users save under the same name at the same
    moment. Returns the path of the ``.npz``. (Whose a model is, and how many a person may keep,
    are the rules of ``models``.)"""
    path = weights_dir() / (check_name(name) + ".npz")
    arrays, meta_text = _payload(params, layer_data, meta, name)
    readable = path.with_suffix(".json")
    if not overwrite and readable.exists():
        raise _taken(name)
    try:
        atomic_write(path, lambda f: np.savez(f, **arrays), replace=overwrite)
    except FileExistsError:
        raise _taken(name) from None
    try:
        atomic_write(readable, lambda f: f.write((meta_text + "\n").encode()), replace=overwrite)
    except FileExistsError:  # someone's NAME.json appeared in between: keep theirs and this .npz
        pass
    return path


def _taken(name: str) -> FileExistsError:
    return FileExistsError("a model named %r exists already; choose another name" % name)


def read_meta(name: str) -> dict[str, Any] | None:
    """The readable metadata (``NAME.json``) of the model ``name`` in the weights folder, or None."""
    try:
        meta = json.loads((weights_dir() / (check_name(name) + ".json")).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def model_bytes(params: Params, layer_data: LayerData, meta: dict[str, Any] | None = None) -> bytes:
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


def validate_params(params: Params, layer_data: LayerData, source: str = "the model") -> None:
    """Check that ``params`` has exactly W1, b1, ..., WL, bL with the shapes ``layer_data`` implies,
    a floating dtype and only finite values. Raise ``ModelFileError`` naming the first problem."""
    expected = _shapes(layer_data)
    _check_keys(params, expected, source)
    for key, shape in expected.items():
        value = params[key]
        if not np.issubdtype(value.dtype, np.floating):
            raise ModelFileError("%s: %s has dtype %s, expected floating point" % (source, key, value.dtype))
        if tuple(value.shape) != shape:
            raise ModelFileError(
                "%s: %s has shape %s but layer_data %s needs %s" % (source, key, tuple(value.shape), layer_data["Dim"], shape)
            )
        if not np.all(np.isfinite(value)):
            raise ModelFileError("%s: %s contains NaN or infinite values" % (source, key))


def load_model(name_or_path: str | os.PathLike[str]) -> Model:
    """Read a model by name or path; raise ``ModelFileError`` with a clear reason if it is not a
    valid digit classifier (784 inputs, 10 outputs). Nothing is read that was not checked first."""
    path = model_path(name_or_path)
    if not path.is_file():
        raise ModelFileError("no model file at %s" % path)
    if not zipfile.is_zipfile(path):
        # Anything else (a pickle, a .npy, random bytes) is refused before NumPy looks at it.
        raise ModelFileError("%s is not a readable .npz model file (not a zip archive)" % path.name)
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_model(archive, path)
    except ModelFileError:
        raise
    except Exception as exc:
        # A damaged archive fails in zipfile, zlib, struct or NumPy's header parser, each its own
        # way; whichever it is, the file is not a model, and a visitor never sees a traceback.
        raise ModelFileError("%s is not a readable .npz model file (%s)" % (path.name, type(exc).__name__)) from exc


def read_model_bytes(blob: bytes, name: str) -> Model:
    """A model from the bytes of its ``.npz`` (kept in a database), with every check of ``load_model``."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return _read_model(archive, Path(name + ".npz"))
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError("%s is not a readable model (%s)" % (name, type(exc).__name__)) from exc


def _read_model(archive, path):
    source = path.name
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy") or "/" in info.filename:
            raise ModelFileError("%s holds %r, which is not an array of a model" % (source, info.filename))
        members[info.filename[:-4]] = info
    if META_KEY not in members:
        raise ModelFileError("%s has no metadata (%s), so its layers are unknown" % (source, META_KEY))
    shape, dtype = _header(archive, members[META_KEY], source)
    if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > MAX_META_CHARS:
        raise ModelFileError("%s has unreadable metadata: not a text of at most %d characters" % (source, MAX_META_CHARS))
    try:
        meta = json.loads(str(_array(archive, members.pop(META_KEY), source)))
        if not isinstance(meta, dict):
            raise ValueError("the metadata is not a JSON object")
        layer_data = check_layer_data(meta["layer_data"])
    except (ValueError, KeyError, TypeError, LayerDataError, RecursionError) as exc:
        raise ModelFileError("%s has unreadable metadata: %s" % (source, exc)) from exc
    if layer_data["Dim"][0] != N_PIXELS or layer_data["Dim"][-1] != N_CLASSES:
        raise ModelFileError(
            "%s is not a digit classifier: it takes %d inputs and gives %d answers, where a digit is %d "
            "pixels and one of %d classes" % (source, layer_data["Dim"][0], layer_data["Dim"][-1], N_PIXELS, N_CLASSES)
        )
    expected = _shapes(layer_data)
    _check_keys(members, expected, source)
    for key, info in members.items():
        shape, dtype = _header(archive, info, source)
        if dtype.kind != "f" or dtype.itemsize > 8:
            raise ModelFileError("%s: %s has dtype %s, expected floating point" % (source, key, dtype))
        if shape != expected[key]:
            raise ModelFileError(
                "%s: %s has shape %s but layer_data %s needs %s" % (source, key, shape, layer_data["Dim"], expected[key])
            )
    params = {k: _array(archive, info, source) for k, info in members.items()}
    validate_params(params, layer_data, source)
    meta = _displayable(meta)
    return Model(layer_data=layer_data, params={k: v.astype(DTYPE, copy=False) for k, v in params.items()}, meta=meta, path=path)


def _header(archive, info, source):
    """(shape, dtype) from an ``.npy`` member's header, without reading its data."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ModelFileError("%s: %s is not a NumPy array" % (source, info.filename))
    if dtype.hasobject:
        raise ModelFileError("%s holds pickled objects, which are not loaded for safety (%s)" % (source, info.filename))
    return tuple(shape), dtype


def _array(archive, info, source):
    with archive.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _shapes(layer_data):
    dims = layer_data["Dim"]
    shapes = {}
    for l in range(1, len(dims)):
        shapes["W%d" % l] = (dims[l], dims[l - 1])
        shapes["b%d" % l] = (dims[l], 1)
    return shapes


def _check_keys(params, expected, source):
    L = len(expected) // 2
    missing = [k for k in expected if k not in params]
    if missing:
        raise ModelFileError("%s has no %s (a %d-layer network needs %s)" % (source, missing[0], L, ", ".join(expected)))
    extra = sorted(set(params) - set(expected))
    if extra:
        raise ModelFileError("%s has an unexpected array %r for a %d-layer network" % (source, extra[0], L))


def _displayable(meta):
    """The metadata with the figures the pages show checked: a test accuracy that is not a number
    from 0 to 1 is dropped rather than shown (or crashing the page that shows it)."""
    acc = meta.get("test_accuracy")
    if acc is not None and not (isinstance(acc, (int, float)) and not isinstance(acc, bool) and 0 <= acc <= 1):
        meta = {k: v for k, v in meta.items() if k != "test_accuracy"}
    return meta
