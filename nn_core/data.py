"""Loading handwritten digits: MNIST's IDX files and Kaggle's digit-recognizer CSV files.

Where the MNIST files live, first match wins: an explicit ``path``; else the folder named by the
``NN_CORE_DATA_DIR`` environment variable; else ``~/.cache/nn_core/mnist``. Each of the four files
may be gzipped (``.gz``) or not. Their content is checked against known SHA-256 sums of the
decompressed files, so a truncated or corrupt file is reported, not learned from.

Images are returned as float32 rows of 784 pixels in [0, 1]; labels as uint8.
"""

import dataclasses
import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np

ENV_VAR = "NN_CORE_DATA_DIR"

# SHA-256 of the decompressed IDX files.
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class DataError(Exception):
    """The data set is missing or unreadable; the message says what to do."""


def data_dir(path=None):
    """The folder that holds (or will hold) the MNIST files."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "nn_core" / "mnist"


def find_file(folder, name):
    """The path of ``name`` or ``name.gz`` in ``folder``, or None."""
    for candidate in (Path(folder) / name, Path(folder) / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path):
    """A file's content, decompressed if it is gzipped (recognised by its magic bytes)."""
    with open(path, "rb") as f:
        head = f.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                return f.read()
        return Path(path).read_bytes()
    except (OSError, EOFError) as exc:
        raise DataError("%s is not a readable file (%s); delete it and download it again" % (path, exc)) from exc


def parse_idx(raw, source="IDX data"):
    """Parse the IDX format (big-endian header of dimensions, then unsigned bytes)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError("%s is not an IDX file of unsigned bytes" % source)
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError("%s is truncated (header incomplete)" % source)
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError("%s holds %d bytes of data where its header promises %d" % (source, len(raw) - header, expected))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def missing_message(folder):
    return (
        "MNIST was not found in %s. Run `python -m nn_core download` to fetch it, or put these four "
        "files there (gzipped or not): %s. To use another folder, set %s or pass its path."
        % (folder, ", ".join(MNIST_FILES), ENV_VAR)
    )


def read_mnist_file(folder, name, verify=True):
    path = find_file(folder, name)
    if path is None:
        raise DataError(missing_message(folder))
    raw = read_bytes(path)
    if verify and hashlib.sha256(raw).hexdigest() != MNIST_FILES[name]:
        raise DataError(
            "%s is corrupt or incomplete (its SHA-256 does not match MNIST's). Delete it and run "
            "`python -m nn_core download`." % path
        )
    return parse_idx(raw, str(path))


@dataclasses.dataclass
class Digits:
    """A data set of digits: training and test images (rows in [0, 1]) and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def to_unit(pixels):
    """uint8 pixels (any shape) -> float32 rows of pixels in [0, 1]."""
    pixels = np.asarray(pixels)
    x = pixels.reshape(pixels.shape[0], -1).astype(np.float32)
    x *= np.float32(1 / 255)  # in place: no second full-size copy while loading
    return x


def load_mnist(path=None, verify=True):
    """The 60,000 training and 10,000 test images of MNIST; raises ``DataError`` if missing."""
    folder = data_dir(path)
    parts = {name: read_mnist_file(folder, name, verify) for name in MNIST_FILES}
    return Digits(
        x_train=to_unit(parts["train-images-idx3-ubyte"]),
        y_train=parts["train-labels-idx1-ubyte"].copy(),
        x_test=to_unit(parts["t10k-images-idx3-ubyte"]),
        y_test=parts["t10k-labels-idx1-ubyte"].copy(),
    )


def mnist_available(path=None):
    folder = data_dir(path)
    return all(find_file(folder, name) is not None for name in MNIST_FILES)


def load_kaggle_csv(path_or_buffer):
    """A Kaggle digit-recognizer CSV: ``train.csv`` (``label,pixel0..pixel783``) gives
    ``(images, labels)``; ``test.csv`` (pixels only) gives ``(images, None)``."""
    import pandas as pd

    try:
        frame = pd.read_csv(path_or_buffer)
    except Exception as exc:  # pandas raises many types for malformed files
        raise DataError("could not read the CSV file: %s" % exc) from exc
    pixel_cols = ["pixel%d" % i for i in range(784)]
    missing = [c for c in pixel_cols if c not in frame.columns]
    if missing:
        raise DataError(
            "the CSV needs columns pixel0..pixel783 (and label for training data); %d are missing, "
            "the first is %s" % (len(missing), missing[0])
        )
    pixels = frame[pixel_cols]
    if pixels.isna().any().any():
        raise DataError("the CSV has empty pixel values")
    values = pixels.to_numpy()
    if values.min() < 0 or values.max() > 255:
        raise DataError("pixel values must lie in 0..255")
    images = to_unit(values.astype(np.uint8))
    labels = None
    if "label" in frame.columns:
        lab = frame["label"].to_numpy()
        if frame["label"].isna().any() or lab.min() < 0 or lab.max() > 9:
            raise DataError("labels must be whole numbers from 0 to 9")
        labels = lab.astype(np.uint8)
    return images, labels


def hold_out(images, labels, fraction=0.1):
    """Split labelled data into (train images, train labels, test images, test labels), the last
    ``fraction`` of it held out as a test set (for data such as Kaggle's train.csv that comes
    without one)."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must lie strictly between 0 and 1, got %r" % fraction)
    cut = int(round(len(labels) * (1 - fraction)))
    return images[:cut], labels[:cut], images[cut:], labels[cut:]
