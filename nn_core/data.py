"""Loading handwritten digits: MNIST's IDX files and Kaggle's digit-recognizer CSV files.

Where the data files live, first match wins: an explicit ``path``; else the folder named by the
``NN_CORE_DATA_DIR`` environment variable; else ``~/.cache/nn_core/data``. That one folder holds
MNIST's four files and the pen-drawn digits (``pendigits``). Each file may be gzipped (``.gz``),
Unix-compressed (``.Z``, as the pen-drawn digits are published) or plain. Their content is checked
against known SHA-256 sums of the decompressed files, so a truncated or corrupt file is reported,
not learned from.

Images are returned as float32 rows of ``N_PIXELS`` (784) pixels in [0, 1]; labels as uint8.
"""

import dataclasses
import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from .network import N_PIXELS

ENV_VAR = "NN_CORE_DATA_DIR"
DEFAULT_DIR_TEXT = "~/.cache/nn_core/data"
COMPRESSED = (".gz", ".Z")
PathText = str | os.PathLike[str]  # a path, as text or as a Path

# SHA-256 of the decompressed IDX files.
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


# Their decompressed sizes in bytes: reading stops there, so a small file that decompresses to
# gigabytes (a "zip bomb") costs nothing.
MNIST_SIZES = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}


class DataError(Exception):
    """The data set is missing or unreadable; the message says what to do."""


def data_dir(path: PathText | None = None) -> Path:
    """The folder that holds (or will hold) the MNIST files."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path(DEFAULT_DIR_TEXT).expanduser()


def find_file(folder: Path, name: str) -> Path | None:
    """The path of ``name``, ``name.gz`` or ``name.Z`` in ``folder``, or None."""
    for candidate in [Path(folder) / name] + [Path(folder) / (name + ext) for ext in COMPRESSED]:
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """A file's content, decompressed if it is gzipped or Unix-compressed (recognised by its
    magic bytes, whatever its name). With ``limit``, a content longer than ``limit`` bytes is a
    ``DataError``, found without decompressing more than that."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                content = f.read() if limit is None else f.read(limit + 1)
        elif head == b"\x1f\x9d":
            content = unlzw(path.read_bytes(), limit)
        else:
            if limit is not None and path.stat().st_size > limit:
                content = b"\0" * (limit + 1)
            else:
                content = path.read_bytes()
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise DataError("%s is not a readable file (%s); delete it and download it again" % (path.name, exc)) from exc
    if limit is not None and len(content) > limit:
        raise DataError(
            "%s holds more than the %d bytes the data set's file has; delete it and download it again" % (path.name, limit)
        )
    return content


def unlzw(raw: bytes, limit: int | None = None) -> bytes:
    """Decompress the Unix ``compress`` format (``.Z``): LZW with codes of 9 up to 16 bits.

    Codes are packed little-endian, in blocks of 8 codes (``n_bits`` bytes). Each time the code
    width grows, and at a CLEAR code (256), ``compress`` abandons the rest of the current block,
    so the reader does too. Raises ``ValueError`` for anything that is not a valid stream. With
    ``limit``, decoding stops once the output is longer than ``limit`` bytes.
    """
    if len(raw) < 3 or raw[:2] != b"\x1f\x9d":
        raise ValueError("not a .Z file")
    max_bits, block_mode = raw[2] & 0x1F, bool(raw[2] & 0x80)
    if not 9 <= max_bits <= 16:
        raise ValueError(".Z file with an unsupported code width of %d bits" % max_bits)
    first_free = 257 if block_mode else 256
    table = [bytes([i]) for i in range(256)] + [b""] * (first_free - 256)
    out = bytearray()
    n_bits, pos, prev = 9, 3, None
    while pos < len(raw):
        block = raw[pos : pos + n_bits]
        pos += n_bits
        bits = int.from_bytes(block, "little")
        mask = (1 << n_bits) - 1
        for i in range(len(block) * 8 // n_bits):
            code = (bits >> (i * n_bits)) & mask
            if block_mode and code == 256:
                del table[first_free:]
                n_bits, prev = 9, None
                break
            if code < len(table) and code < first_free or (prev is not None and code < len(table)):
                entry = table[code]
            elif prev is not None and code == len(table):
                entry = prev + prev[:1]  # the entry being defined by this very code
            else:
                raise ValueError("corrupt .Z data (code %d where at most %d is defined)" % (code, len(table) - 1))
            out += entry
            if limit is not None and len(out) > limit:
                return bytes(out)
            if prev is not None and len(table) < (1 << max_bits):
                table.append(prev + entry[:1])
            prev = entry
            if len(table) > mask and n_bits < max_bits:
                n_bits += 1
                break
    return bytes(out)


def parse_idx(raw: bytes, source: str = "IDX data") -> np.ndarray:
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


def missing_message(folder: Path) -> str:
    return (
        "MNIST was not found in %s. Run `python -m nn_core download` to fetch it, or put these four "
        "files there (gzipped or not): %s. To use another folder, set %s or pass its path."
        % (folder, ", ".join(MNIST_FILES), ENV_VAR)
    )


def read_mnist_file(folder: Path, name: str, verify: bool = True) -> np.ndarray:
    path = find_file(folder, name)
    if path is None:
        raise DataError(missing_message(folder))
    raw = read_bytes(path, MNIST_SIZES[name])
    if verify and hashlib.sha256(raw).hexdigest() != MNIST_FILES[name]:
        raise DataError(
            "%s is corrupt or incomplete (its SHA-256 does not match MNIST's). Delete it and run "
            "`python -m nn_core download`." % path
        )
    return parse_idx(raw, str(path))


@dataclasses.dataclass
class Digits:
    """A data set of digits: training and test images (rows in [0, 1]) and labels, and its name
    for people."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "MNIST"


def to_unit(pixels: Any) -> np.ndarray:
    """uint8 pixels (any shape) -> float32 rows of pixels in [0, 1]."""
    pixels = np.asarray(pixels)
    x = pixels.reshape(pixels.shape[0], -1).astype(np.float32)
    x *= np.float32(1 / 255)  # in place: no second full-size copy while loading
    return x


def load_mnist(path: PathText | None = None, verify: bool = True) -> Digits:
    """The 60,000 training and 10,000 test images of MNIST; raises ``DataError`` if missing."""
    folder = data_dir(path)
    parts = {name: read_mnist_file(folder, name, verify) for name in MNIST_FILES}
    return Digits(
        x_train=to_unit(parts["train-images-idx3-ubyte"]),
        y_train=parts["train-labels-idx1-ubyte"].copy(),
        x_test=to_unit(parts["t10k-images-idx3-ubyte"]),
        y_test=parts["t10k-labels-idx1-ubyte"].copy(),
    )


def mnist_available(path: PathText | None = None) -> bool:
    folder = data_dir(path)
    return all(find_file(folder, name) is not None for name in MNIST_FILES)


MAX_CSV_ROWS = 100_000  # Kaggle's train.csv has 42,000; all of MNIST as a CSV 70,000


def count_rows(path_or_buffer: PathText | IO[Any], limit: int) -> int:
    """The lines of a file after its header, counted while reading it in blocks, up to ``limit``
    + 1 (past that it stops reading); a buffer is left where it was."""
    opened = isinstance(path_or_buffer, (str, os.PathLike))
    f: IO[Any] = open(path_or_buffer, "rb") if isinstance(path_or_buffer, (str, os.PathLike)) else path_or_buffer
    try:
        start = 0 if opened else f.tell()
        lines, last = 0, b""
        while lines <= limit + 1:
            block = f.read(1 << 20)
            if not block:
                break
            lines += block.count(b"\n" if isinstance(block, bytes) else "\n")
            last = block[-1:]
        if last and last not in (b"\n", "\n"):
            lines += 1  # a last line without its newline
        return max(lines - 1, 0)
    finally:
        if opened:
            f.close()
        else:
            f.seek(start)


CSV_CHUNK_ROWS = 1000  # rows parsed at a time: about 50 MB of pandas' text cells, whatever the file's length


def load_kaggle_csv(path_or_buffer, max_rows=MAX_CSV_ROWS):
    """A Kaggle digit-recognizer CSV: ``train.csv`` (``label,pixel0..pixel783``) gives
    ``(images, labels)``; ``test.csv`` (pixels only) gives ``(images, None)``. Anything else is a
    ``DataError`` that says what is wrong and where (row numbers count the header as row 1).
    A file of more than ``max_rows`` rows is refused before it is parsed. It is parsed
    ``CSV_CHUNK_ROWS`` rows at a time into bytes: pandas holds each cell as a Python string (about
    30 times the file's size for the whole file at once: 1.2 GB for Kaggle's 99 MB), so only a
    chunk's worth is held, beside the digits as bytes and then as float32 (5 bytes a pixel)."""
    import pandas as pd

    try:
        rows = count_rows(path_or_buffer, max_rows)
    except OSError as exc:
        raise DataError("could not read the CSV file (%s)" % exc) from exc
    if rows > max_rows:
        raise DataError(
            "the CSV has more than %s rows; at most %s are read here" % (format(max_rows, ","), format(max_rows, ","))
        )
    pixel_cols = ["pixel%d" % i for i in range(N_PIXELS)]
    pixels, labels, done = [], [], 0
    try:
        for frame in pd.read_csv(path_or_buffer, dtype=str, keep_default_na=False, chunksize=CSV_CHUNK_ROWS):
            if done == 0:
                missing = [c for c in pixel_cols if c not in frame.columns]
                if missing:
                    raise DataError(
                        "the CSV needs columns pixel0..pixel783 (and label for training data); %d are missing, "
                        "the first is %s" % (len(missing), missing[0])
                    )
            if done + len(frame) > max_rows:  # lines ended otherwise than counted (a lone carriage return)
                raise DataError(
                    "the CSV has more than %s rows; at most %s are read here" % (format(max_rows, ","), format(max_rows, ","))
                )
            pixels.append(_whole_numbers(frame[pixel_cols], 0, 255, "pixel values", done).astype(np.uint8))
            if "label" in frame.columns:
                labels.append(_whole_numbers(frame[["label"]], 0, 9, "labels", done)[:, 0].astype(np.uint8))
            done += len(frame)
    except (DataError, MemoryError):
        raise
    except Exception as exc:  # pandas raises many types for malformed files
        if "out of memory" in str(exc):  # its C parser's way of saying it
            raise MemoryError(str(exc)) from exc
        raise DataError("could not read the CSV file (%s)" % type(exc).__name__) from exc
    if done == 0:
        raise DataError("the CSV has a header but no rows of digits")
    images = to_unit(np.concatenate(pixels))
    return images, np.concatenate(labels) if labels else None


def _whole_numbers(frame, low, high, what, first_row=0):
    """The cells of ``frame`` (text) as whole numbers from ``low`` to ``high``, or a ``DataError``
    naming the first cell that is not one (``frame`` begins at data row ``first_row`` of its file)."""
    import pandas as pd

    try:  # each cell read by float() at once; pandas' to_numeric, column by column, only to find a bad one
        numbers = frame.to_numpy().astype(np.float64)
    except (ValueError, TypeError):
        numbers = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers)) | (numbers < low) | (numbers > high)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            "%s must be whole numbers from %d to %d; row %d, column %s has %r"
            % (what, low, high, first_row + row + 2, frame.columns[col], frame.iat[row, col][:20])
        )
    return numbers.astype(np.int64)


MIN_LABELLED = 20  # fewer digits cannot be split into a training and a test set worth the name


def mix(
    images: np.ndarray, labels: np.ndarray, groups: np.ndarray | None, extra: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A training set with more digits added: ``images`` and ``labels`` followed by ``extra``'s
    ``(images, labels, groups)`` (pen-drawn digits, kept drawings), with the groups ``Trainer``
    keeps together when it holds out a validation set (-1 for digits of no group; ``groups`` None:
    all of ``images`` are of none)."""
    x, y, g = extra
    groups = np.full(len(labels), -1, np.int64) if groups is None else np.asarray(groups)
    return np.concatenate([images, x]), np.concatenate([labels, y]), np.concatenate([groups, g])


def hold_out(images: np.ndarray, labels: np.ndarray, fraction: float = 0.1, name: str = "uploaded digits") -> Digits:
    """Labelled data as ``Digits`` whose test set is the last ``fraction`` of it (for data such
    as Kaggle's train.csv that comes without one)."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must lie strictly between 0 and 1, got %r" % fraction)
    if len(labels) < MIN_LABELLED:
        raise DataError("%s has %d labelled digits; training and testing need at least %d" % (name, len(labels), MIN_LABELLED))
    cut = int(round(len(labels) * (1 - fraction)))
    # The test set copied: a view would keep all the images alive for as long as the test set is.
    return Digits(images[:cut], labels[:cut], images[cut:].copy(), labels[cut:].copy(), name)
