"""Drawings that people correct on the Draw page, kept in one SQLite file to train on later.

Each drawing is a row: the picture as drawn (PNG), the 28x28 input the network saw (784 bytes,
0-255), the label the person gave, what the model answered and with which probabilities, the
model's name, the time (UTC) and the id of the person who drew it (its owner).

The database is the class's PostgreSQL database when ``NN_CORE_DATABASE_URL`` is set, else one
SQLite file (``NN_CORE_DRAWINGS_DB``, else ``drawings.sqlite`` in ``$XDG_DATA_HOME/nn_core`` or
``~/.local/share/nn_core``), created on first use, used by many sessions at once (see
``database``). Every failure, whether a locked, damaged or foreign file, a database server that is
down or a full disk, is a ``DrawingsError`` whose message says what happened and that nothing was
changed.
"""

import csv
import datetime
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from . import csv_import, data
from .database import Schema, Store, database_url, is_url
from .network import N_CLASSES, N_PIXELS

ENV_VAR = "NN_CORE_DRAWINGS_DB"
SHARE_ENV_VAR = "NN_CORE_SHARE_DRAWINGS"  # "1": everyone on the server may see and train on everyone's drawings
MAX_IMPORT_ROWS = csv_import.MAX_IMPORT_ROWS  # larger sets are training data: the Train page takes Kaggle CSVs directly
MAX_PER_PERSON = 10_000  # drawings one person may keep (two full imports; thousands of corrections)
DRAWINGS_WEIGHT = 20  # each kept drawing counts as this many training images, unless told otherwise
GROUP_BASE = 1_000_000  # Trainer groups of drawings start here (pen-drawn digits use writer numbers)
SIDE = 28

# The schema, one script per version; version N is reached by running scripts 1..N in order.
MIGRATIONS = [
    """
    CREATE TABLE drawings (
        id INTEGER PRIMARY KEY,
        created TEXT NOT NULL,
        session TEXT NOT NULL,
        label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
        answer INTEGER CHECK (answer BETWEEN 0 AND 9),
        probabilities TEXT,
        model TEXT,
        picture BLOB,
        input BLOB NOT NULL CHECK (length(input) = 784),
        source TEXT NOT NULL DEFAULT 'drawn'
    );
    CREATE INDEX drawings_by_session ON drawings (session);
    """,
    # A drawing's person is its "owner", as a run's and a saved model's are (it was "session").
    """
    ALTER TABLE drawings RENAME COLUMN session TO owner;
    DROP INDEX drawings_by_session;
    CREATE INDEX drawings_by_owner ON drawings (owner);
    """,
]


class DrawingsError(Exception):
    """The drawings database could not be used; the message says why and what was (not) changed."""


def database_path(path=None):
    """The drawings database: ``path`` (a file or a PostgreSQL URL), else ``NN_CORE_DATABASE_URL``,
    else ``NN_CORE_DRAWINGS_DB``, else the user's data folder."""
    if path is not None:
        return str(path) if is_url(str(path)) else Path(path)
    if database_url():
        return database_url()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nn_core" / "drawings.sqlite"


def sharing():
    """Whether this server shows everyone's drawings to everyone (``NN_CORE_SHARE_DRAWINGS=1``)."""
    return os.environ.get(SHARE_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


class DrawingStore(Store):
    """The drawings database. Every method opens its own connection, so one store may be used from
    many threads and sessions at once; each write is one transaction."""

    SCHEMA = Schema("drawings", "a drawings database", DrawingsError, MIGRATIONS, lock=7301)

    def __init__(self, path=None):
        super().__init__(database_path(path))
        self.damaged = 0  # rows left out by the last ``drawings()`` because they are not valid drawings

    # -- writing ------------------------------------------------------------------------------
    def add(self, owner, label, image, picture=None, answer=None, probabilities=None, model=None, source="drawn"):
        """Keep one drawing; returns its id. ``image`` is the 28x28 input (floats in [0, 1] or
        uint8), ``picture`` the drawing as PNG bytes (or a PIL image), ``probabilities`` the
        model's ten outputs."""
        row = _row(owner, label, image, picture, answer, probabilities, model, source)

        def keep(conn):
            _within_quota(conn, owner, 1)
            return conn.execute(INSERT + " RETURNING id", row).fetchone()[0]

        return self._run("keep the drawing", keep)

    def add_many(self, owner, images, labels, source="imported", skip_kept=False):
        """Keep many drawings at once (all or none); returns ``(added, skipped)``. With
        ``skip_kept``, a drawing identical to one ``owner`` keeps already (same digit, same 28x28
        input) is skipped: importing a file twice adds nothing the second time."""
        rows = [_row(owner, label, image, source=source) for image, label in zip(images, labels)]

        def keep(conn):
            new = rows
            if skip_kept:
                kept = set(conn.execute("SELECT label, input FROM drawings WHERE owner = ?", (owner,)).fetchall())
                new = [row for row in rows if (row[2], row[7]) not in kept]
            _within_quota(conn, owner, len(new))
            conn.executemany(INSERT, new)
            return len(new)

        added = self._run("import the drawings", keep)
        return added, len(rows) - added

    def put_back(self, drawing):
        """Keep again a drawing that was deleted (a ``Drawing`` read before): the same picture,
        answer and date, under a new id. Returns the id."""
        row = _row(
            drawing.owner,
            drawing.label,
            drawing.image,
            drawing.picture,
            drawing.answer,
            drawing.probabilities,
            drawing.model,
            drawing.source or "drawn",
        )
        row = (drawing.created or row[0],) + row[1:]

        def keep(conn):
            _within_quota(conn, drawing.owner, 1)
            return conn.execute(INSERT + " RETURNING id", row).fetchone()[0]

        return self._run("bring the drawing back", keep)

    def delete(self, drawing_id, owner=None):
        """Delete one drawing (only if it is ``owner``'s, when given); True if one was deleted."""
        where, args = "id = ?", [int(drawing_id)]
        if owner is not None:
            where, args = where + " AND owner = ?", args + [owner]
        return (
            self._run("delete the drawing", lambda conn: conn.execute("DELETE FROM drawings WHERE " + where, args).rowcount) == 1
        )

    def import_csv(self, source, owner):
        """Import a Kaggle-format CSV (``label,pixel0..pixel783``) as ``owner``'s drawings, all
        rows or none, skipping those that are kept already; returns ``(added, skipped)``. Raises
        ``data.DataError`` for a file that is not one (too large, too long: before it is parsed;
        see ``csv_import``), ``DrawingsError`` while another import of the person's runs, or while
        the server's places for imports stay taken."""
        try:
            with csv_import.import_slot(owner):
                csv_import.check_size(source)
                if data.count_rows(source, MAX_IMPORT_ROWS) > MAX_IMPORT_ROWS:
                    raise csv_import.too_many_rows()
                images, labels = csv_import.read_drawings_csv(source)
                return self.add_many(owner, images, labels, skip_kept=True)
        except csv_import.ImportBusy as exc:
            raise DrawingsError(str(exc)) from exc

    # -- reading ------------------------------------------------------------------------------
    def drawings(self, owner=None, with_pictures=False):
        """The drawings (all, or ``owner``'s), newest first, as ``Drawing``s. Rows that are not
        valid drawings (a file edited by hand) are left out; ``damaged`` counts them."""
        columns = COLUMNS if with_pictures else [c if c != "picture" else "NULL" for c in COLUMNS]
        query = "SELECT %s FROM drawings" % ", ".join(columns)
        args = []
        if owner is not None:
            query, args = query + " WHERE owner = ?", [owner]
        rows = self._run(
            "read the drawings", lambda conn: conn.execute(query + " ORDER BY id DESC", args).fetchall(), write=False
        )
        good = [d for d in map(Drawing.from_row, rows) if d is not None]
        self.damaged = len(rows) - len(good)
        return good

    def count(self, owner=None):
        """How many drawings there are (all, or ``owner``'s)."""
        query, args = "SELECT count(*) FROM drawings", []
        if owner is not None:
            query, args = query + " WHERE owner = ?", [owner]
        return self._run("count the drawings", lambda conn: conn.execute(query, args).fetchone()[0], write=False)


COLUMNS = ["id", "created", "owner", "label", "answer", "probabilities", "model", "picture", "input", "source"]
INSERT = "INSERT INTO drawings (created, owner, label, answer, probabilities, model, picture, input, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _within_quota(conn, owner, adding):
    """``DrawingsError`` if ``owner`` would keep more than ``MAX_PER_PERSON`` drawings (checked in
    the writing transaction, so two tabs cannot both slip under it)."""
    kept = conn.execute("SELECT count(*) FROM drawings WHERE owner = ?", (owner,)).fetchone()[0]
    if kept + adding > MAX_PER_PERSON:
        raise DrawingsError(
            "you keep %s drawings, and one person may keep %s here: delete some of them first. "
            "Nothing was added." % (format(kept, ","), format(MAX_PER_PERSON, ","))
        )


def _digit(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 0 <= value < N_CLASSES:
        raise ValueError("%s must be a digit from 0 to 9, got %r" % (what, value))
    return int(value)


def _row(owner, label, image, picture=None, answer=None, probabilities=None, model=None, source="drawn"):
    """One row to insert, checked: a ``ValueError`` says which value is wrong before anything is written."""
    label = _digit(label, "the label")
    answer = None if answer is None else _digit(answer, "the model's answer")
    pixels = np.asarray(image)
    if pixels.size != N_PIXELS:
        raise ValueError("a drawing's input must have %d pixels (28x28), got %d" % (N_PIXELS, pixels.size))
    if pixels.dtype != np.uint8:
        pixels = np.round(np.clip(np.nan_to_num(pixels.astype(np.float64)), 0, 1) * 255).astype(np.uint8)
    if isinstance(picture, Image.Image):
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        picture = buffer.getvalue()
    if probabilities is not None:
        probabilities = json.dumps([round(float(p), 6) for p in np.asarray(probabilities).reshape(-1)])
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return (created, str(owner), label, answer, probabilities, model, picture, pixels.reshape(-1).tobytes(), source)


class Drawing:
    """One kept drawing: ``id``, ``created``, ``owner``, ``label``, ``answer`` (None when
    imported), ``probabilities``, ``model``, ``picture`` (PNG bytes or None), ``source`` and
    ``image`` (28x28 uint8)."""

    __slots__ = COLUMNS[:-2] + ["image", "source"]

    @classmethod
    def from_row(cls, row):
        d = cls()
        values = dict(zip(COLUMNS, row))
        try:
            d.id, d.label = int(values["id"]), _digit(values["label"], "label")
            d.answer = None if values["answer"] is None else _digit(values["answer"], "answer")
            raw = values["input"]
            if not isinstance(raw, bytes) or len(raw) != N_PIXELS:
                return None
            d.image = np.frombuffer(raw, dtype=np.uint8).reshape(SIDE, SIDE)
            d.probabilities = (
                None if values["probabilities"] is None else np.asarray(json.loads(values["probabilities"]), dtype=float)
            )
        except (TypeError, ValueError):
            return None
        d.created, d.owner, d.model, d.source = (
            str(values[k]) if values[k] is not None else None for k in ("created", "owner", "model", "source")
        )
        d.picture = values["picture"] if isinstance(values["picture"], bytes) else None
        return d

    def thumbnail(self, side=112):
        """The drawing as a picture to show: as drawn if it was, else its 28x28 input, enlarged."""
        if self.picture is not None:
            try:
                image = Image.open(io.BytesIO(self.picture))
                image.draft("L", (side, side))
                return image.convert("L").resize((side, side), Image.LANCZOS)
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
                pass  # a damaged picture: show what the network saw instead
        return Image.fromarray(self.image).resize((side, side), Image.NEAREST)


# -- moving drawings in and out ------------------------------------------------------------------
def to_csv(drawings):
    """Kaggle's digit-recognizer format: a header ``label,pixel0..pixel783``, one row a drawing,
    oldest first (so that importing the file keeps the order)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["label"] + ["pixel%d" % i for i in range(N_PIXELS)])
    writer.writerows([d.label] + d.image.reshape(-1).tolist() for d in sorted(drawings, key=lambda d: d.id))
    return buffer.getvalue().encode()


def to_zip(drawings):
    """A zip of PNGs, ``<id>-digit-<label>.png`` as drawn and ``<id>-digit-<label>-28x28.png`` as
    the network saw it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for d in drawings:
            stem = "%05d-digit-%d" % (d.id, d.label)
            if d.picture is not None:
                archive.writestr(stem + ".png", d.picture)
            small = io.BytesIO()
            Image.fromarray(d.image).save(small, format="PNG")
            archive.writestr(stem + "-28x28.png", small.getvalue())
    return buffer.getvalue()


def counts(drawings):
    """How many drawings of each digit (a list of 10)."""
    return np.bincount([d.label for d in drawings], minlength=N_CLASSES).tolist()


def training_set(drawings, copies):
    """The drawings as training data for ``Trainer``: ``(images, labels, groups)``, each drawing
    ``copies`` times (a few drawings would otherwise weigh nothing among 60,000 digits), all copies
    of one drawing in one group so that a validation split holds out whole drawings."""
    if not drawings:
        return np.zeros((0, N_PIXELS), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    images = np.stack([d.image.reshape(-1) for d in drawings]).astype(np.float32) / 255.0
    labels = np.array([d.label for d in drawings], dtype=np.int64)
    groups = GROUP_BASE + np.array([d.id for d in drawings], dtype=np.int64)
    return np.repeat(images, copies, axis=0), np.repeat(labels, copies), np.repeat(groups, copies)
