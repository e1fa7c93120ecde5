"""Reading drawings from a Kaggle-format CSV on the web server, bounded by bytes, not only rows.

A file people upload to the My drawings page is read in the server's own process, beside every
visitor's page. Its size is checked before a byte of it is parsed (``MAX_IMPORT_BYTES``: the most
5,000 drawings can take in this format), then it is read a line at a time with the ``csv`` module,
each line checked for its length and its 785 whole numbers, into 784 bytes a drawing. A file that
is anything else is refused at its first wrong line, having cost no more than that line.
(pandas, which read these files before, holds every cell as a Python string: 99 MB of extra
columns took the server from 81 to 1,763 MB, and four at once killed it.)

``import_slot`` lets one person import one file at a time, and the whole server
``IMPORTS_AT_ONCE`` files at a time.
"""

import contextlib
import csv
import io
import os
import threading
from collections.abc import Generator, Iterator
from typing import Any, NoReturn

import numpy as np

from .data import DataError
from .network import N_PIXELS

MAX_IMPORT_ROWS = 5000  # larger sets are training data: the Train page takes Kaggle CSVs directly
COLUMNS = 1 + N_PIXELS  # a label and 784 pixels
HEADER = ["label"] + ["pixel%d" % i for i in range(N_PIXELS)]
# The longest line of the format: 785 numbers of at most 3 digits, each followed by a comma or the
# line's end ("\r\n": two characters).
MAX_LINE = COLUMNS * 4 + 1
MAX_HEADER = 2 * len(",".join(HEADER))  # the header's 6,951 characters, its names quoted or spaced
# The largest file 5,000 drawings can be: the header and 5,000 of the longest lines (15.7 MB),
# with a little slack (a byte-order mark, a blank last line). A typical file of 5,000 digits is
# about 9 MB (most pixels are "0,"). Anything larger holds something other than drawings.
MAX_IMPORT_BYTES = 16_000_000
IMPORTS_AT_ONCE = 2  # files imported at the same time on one server
IMPORT_WAIT = 5.0  # seconds an import waits for a place before it is refused

_slots = threading.BoundedSemaphore(IMPORTS_AT_ONCE)
_importing: set[str] = set()  # the people importing a file right now
_importing_lock = threading.Lock()


class ImportBusy(Exception):
    """An import refused because one is running already; the message says so in words."""


# What a file too large for an import of drawings is for instead.
WHOLE_SETS = "A whole data set is for training on as it is, not for importing as drawings."


def too_many_rows() -> DataError:
    return DataError(
        "the CSV has more than %d rows; at most %d drawings are imported at once. %s Nothing was imported."
        % (MAX_IMPORT_ROWS, MAX_IMPORT_ROWS, WHOLE_SETS)
    )


@contextlib.contextmanager
def import_slot(person: str) -> Iterator[None]:
    """Hold one of the server's ``IMPORTS_AT_ONCE`` places for ``person``'s import; ``ImportBusy``
    if the person has an import running (another tab), or if the server's places stay taken for
    ``IMPORT_WAIT`` seconds. Nothing is read before a place is held."""
    with _importing_lock:
        if person in _importing:
            raise ImportBusy(
                "an import of yours is already running (in another tab?); try again in a moment, "
                "once it has finished. Nothing was imported."
            )
        _importing.add(person)
    try:
        if not _slots.acquire(timeout=IMPORT_WAIT):
            raise ImportBusy("an import is already running on this server; try again in a moment. Nothing was imported.")
        try:
            yield
        finally:
            _slots.release()
    finally:
        with _importing_lock:
            _importing.discard(person)


def byte_size(source: Any) -> int | None:
    """The size in bytes of ``source`` (a path, an uploaded file or a binary or text buffer),
    without reading it; None if it cannot be told."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    size = getattr(source, "size", None)  # Streamlit's UploadedFile
    if isinstance(size, int):
        return size
    try:  # not BytesIO.getbuffer(): it copies a buffer that shares its bytes with the caller's
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


def _megabytes(size: int) -> str:
    return "%.1f MB" % (size / 1e6)


def check_size(source: Any) -> None:
    """``DataError`` in words if ``source`` is larger than any file of ``MAX_IMPORT_ROWS``
    drawings can be; nothing of it is read."""
    size = byte_size(source)
    if size is not None and size > MAX_IMPORT_BYTES:
        raise DataError(
            "the file is %s, and a CSV of %d drawings is at most %s (each row a label and 784 pixels "
            "from 0 to 255). %s Nothing was imported."
            % (_megabytes(size), MAX_IMPORT_ROWS, _megabytes(MAX_IMPORT_BYTES), WHOLE_SETS)
        )


def _lines(source: Any) -> Generator[str, None, None]:
    """The lines of ``source`` as text, each checked for its length before it is parsed."""
    opened = isinstance(source, (str, os.PathLike))
    f: Any = open(source, "rb") if opened else source
    start = 0 if opened else f.tell()
    text: Any = f if isinstance(f.read(0), str) else io.TextIOWrapper(f, encoding="utf-8-sig", errors="replace", newline="")
    try:
        number = 0
        while True:
            longest = MAX_HEADER if number == 0 else MAX_LINE
            line = text.readline(longest + 1)
            if not line:
                return
            number += 1
            if len(line) > longest and not line.endswith("\n"):
                raise DataError(
                    "line %d is longer than any row of drawings can be (%s characters at most: a label and "
                    "784 pixels from 0 to 255). Nothing was imported." % (number, format(longest, ","))
                )
            yield line
    finally:
        if text is not f:
            text.detach()  # the uploaded file stays open for the page
        f.close() if opened else f.seek(start)


def _header(names: list[str]) -> np.ndarray:
    """Where the label and each pixel are in a row, from the CSV's header."""
    names = [n.strip() for n in names]
    missing = [c for c in HEADER[1:] if c not in names]
    if missing:
        raise DataError(
            "the CSV needs columns pixel0..pixel783 (and label for training data); %d are missing, "
            "the first is %s" % (len(missing), missing[0])
        )
    if "label" not in names:
        raise DataError("the CSV has no label column: each drawing needs the digit it shows")
    if len(names) != COLUMNS:
        raise DataError(
            "the CSV has %d columns; a drawing is a label and 784 pixels (%d columns). Nothing was imported."
            % (len(names), COLUMNS)
        )
    return np.array([names.index(c) for c in HEADER])


def _bad_cell(row: list[str], where: np.ndarray, number: int, header: list[str]) -> NoReturn:
    """The ``DataError`` naming the first cell of ``row`` that is not what its column needs."""
    for column, index in enumerate(where):
        cell = row[index]
        low, high, what = (0, 9, "labels") if column == 0 else (0, 255, "pixel values")
        try:
            ok = low <= int(cell) <= high
        except ValueError:
            ok = False
        if not ok:
            raise DataError(
                "%s must be whole numbers from %d to %d; row %d, column %s has %r"
                % (what, low, high, number, header[index], cell[:20])
            )
    raise DataError("row %d could not be read" % number)  # not reached: some cell was wrong


def read_drawings_csv(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """The drawings of a Kaggle-format CSV (``label,pixel0..pixel783``, one drawing a row): their
    pixels as ``uint8`` rows of 784 and their labels. ``DataError`` in words for a file that is
    not one, found before the file is parsed (its size, its number of rows) or at its first wrong
    line. Row numbers count the header as row 1."""
    check_size(source)
    lines = _lines(source)
    try:
        rows = csv.reader(lines)
        header = next(rows, None)
        if header is None:
            raise DataError("the file is empty: a CSV of drawings starts with its header, label,pixel0..pixel783")
        where = _header(header)
        pixels = np.empty((MAX_IMPORT_ROWS, N_PIXELS), np.uint8)
        labels = np.empty(MAX_IMPORT_ROWS, np.uint8)
        done = 0
        for row in rows:
            if not row:  # a blank line
                continue
            number = done + 2
            if done == MAX_IMPORT_ROWS:
                raise too_many_rows()
            if len(row) != COLUMNS:
                raise DataError(
                    "row %d has %d values; a drawing is a label and 784 pixels (%d values). Nothing was imported."
                    % (number, len(row), COLUMNS)
                )
            try:
                values = np.array([int(cell) for cell in row], dtype=np.int64)[where]
            except (ValueError, OverflowError):
                values = None
            if values is None or not 0 <= values[0] <= 9 or values[1:].min() < 0 or values[1:].max() > 255:
                _bad_cell(row, where, number, header)
            labels[done] = values[0]
            pixels[done] = values[1:]
            done += 1
    except csv.Error as exc:
        raise DataError("could not read the CSV file (%s)" % exc) from exc
    finally:
        lines.close()
    if done == 0:
        raise DataError("the CSV has a header but no rows of digits")
    return pixels[:done], labels[:done]
