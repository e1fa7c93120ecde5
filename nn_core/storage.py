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
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_write, folder_lock
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


# Saved models belong to the person who saved them (``meta["owner"]``, an anonymous id): only
# they can delete one, a deleted model waits in a bin for ``BIN_DAYS`` where its owner can bring
# it back, and a person keeps at most ``MAX_MODELS_PER_PERSON``. Models made on the command line,
# and the shipped one, belong to nobody: the app deletes none of them.
BIN = ".bin"
BIN_DAYS = 7
MAX_MODELS_PER_PERSON = 20


def owner_of(name: str) -> str | None:
    """The id of the person who saved model ``name`` (from its readable metadata), or None."""
    try:
        meta = json.loads((weights_dir() / (check_name(name) + ".json")).read_text())
    except (OSError, ValueError):
        return None
    owner = meta.get("owner") if isinstance(meta, dict) else None
    return owner if isinstance(owner, str) else None


def models_of(owner: str | None) -> list[str]:
    """The names of the saved models that belong to ``owner``."""
    return [name for name in list_models() if owner is not None and owner_of(name) == owner]


def delete_model(name: str, owner: str | None) -> None:
    """Move the saved model ``name`` (its ``.npz`` and ``.json``) into the bin, where ``restore_model``
    finds it for ``BIN_DAYS``. Only its owner may: ``PermissionError`` for anyone else and for the
    models that belong to nobody (the shipped one, those made on the command line);
    ``FileNotFoundError`` if there is no such model."""
    check_name(name)
    path = weights_dir() / (name + ".npz")
    if not path.exists():
        raise FileNotFoundError("there is no model called %s" % name)
    if name == DEFAULT_MODEL:
        raise PermissionError("the shipped model %r cannot be deleted" % DEFAULT_MODEL)
    if owner is None or owner_of(name) != owner:
        raise PermissionError("%s is not yours: only the person who saved a model can delete it" % name)
    bin_dir = weights_dir() / BIN
    bin_dir.mkdir(exist_ok=True)
    stamp = "%s.%d" % (name, time.time_ns())
    os.replace(path.with_suffix(".json"), bin_dir / (stamp + ".json"))
    os.replace(path, bin_dir / (stamp + ".npz"))
    _empty_bin(bin_dir)


def restore_model(name: str, owner: str | None) -> Path:
    """Bring ``owner``'s latest deleted model ``name`` back from the bin. ``FileNotFoundError``
    if there is none, ``FileExistsError`` if another model has taken the name since."""
    check_name(name)
    bin_dir = weights_dir() / BIN
    stamps = [
        (int(m.group(1)), p)
        for p in (bin_dir.iterdir() if bin_dir.is_dir() else [])
        if (m := re.fullmatch(re.escape(name) + r"\.(\d+)\.npz", p.name))
    ]
    for _, binned in sorted(stamps, reverse=True):  # the latest first
        readable = binned.with_suffix(".json")
        try:
            meta = json.loads(readable.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or meta.get("owner") != owner:
            continue
        target = weights_dir() / (name + ".npz")
        with folder_lock(weights_dir()):  # not between another's check and write of the same name
            if target.exists() or target.with_suffix(".json").exists():
                raise FileExistsError("a model named %s has been saved since; it was not replaced" % name)
            os.replace(readable, target.with_suffix(".json"))
            os.replace(binned, target)
        return target
    raise FileNotFoundError("there is no deleted model called %s to bring back" % name)


def _empty_bin(bin_dir):
    """Delete for good what has been in the bin for more than ``BIN_DAYS``."""
    cutoff = time.time() - BIN_DAYS * 86400
    for path in bin_dir.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


class QuotaError(ValueError):
    """Refused: the person has saved as many models as one person may."""


def quota_error() -> QuotaError:
    return QuotaError(
        "you have saved %d models, as many as one person may keep here: delete one on the Inside "
        "page (Models side by side) first" % MAX_MODELS_PER_PERSON
    )


def save_model(
    name: str, params: Params, layer_data: LayerData, meta: dict[str, Any] | None = None, overwrite: bool = True
) -> Path:
    """Write ``params`` and metadata to ``NAME.npz`` and ``NAME.json`` in the weights folder,
    atomically. With ``overwrite=False`` an existing model (or a stray ``NAME.json``) is never
    replaced (``FileExistsError``), even when two users save under the same name at the same
    moment. A model whose ``meta`` names an ``owner`` who has ``MAX_MODELS_PER_PERSON`` already
    is refused (``QuotaError``). Returns the path of the ``.npz``."""
    path = weights_dir() / (check_name(name) + ".npz")
    owner = (meta or {}).get("owner")
    arrays, meta_text = _payload(params, layer_data, meta, name)  # checked before the folder is locked
    with folder_lock(weights_dir()):  # the count below still holds when the files are written
        if owner is not None and len(models_of(owner)) >= MAX_MODELS_PER_PERSON:
            raise quota_error()
        readable = path.with_suffix(".json")
        if not overwrite and readable.exists():
            raise FileExistsError("a model named %r exists already; choose another name" % name)
        try:
            atomic_write(path, lambda f: np.savez(f, **arrays), replace=overwrite)
        except FileExistsError:
            raise FileExistsError("a model named %r exists already; choose another name" % name) from None
        try:
            atomic_write(readable, lambda f: f.write((meta_text + "\n").encode()), replace=overwrite)
        except FileExistsError:  # someone's NAME.json appeared in between: keep theirs and this .npz
            pass
    return path


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
