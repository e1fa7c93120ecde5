"""The saved models the app offers, wherever they are kept: ``ModelStore``.

On a laptop they are the ``weights/`` folder (``FolderModels``, files written by ``storage``). For
a class on several app servers (``NN_CORE_DATABASE_URL`` set) the models people save are rows of
the PostgreSQL database (``DatabaseModels``: the ``.npz`` bytes as ``BYTEA``, the metadata as
``JSONB``, one transaction each), so that every server offers them; the models of the weights
folder (the shipped one, those made on the command line) are offered beside them, read-only.

Both behave the same way (one test suite runs on both): a name is never overwritten, only its
owner deletes a model, a deleted model waits in a bin for ``BIN_DAYS``, a person keeps at most
``MAX_MODELS_PER_PERSON``, and ``version(name)`` changes whenever the model under a name changes
(the pages' caches are keyed by it). Reading a model from the database goes through the same
checks as reading a file (``storage.read_model_bytes``).
"""

import json
import math
import os
import re
import time
from typing import Any, Protocol

from . import storage
from .database import Schema, Store, database_url
from .files import folder_lock
from .model import Model
from .network import LayerData, Params
from .storage import DEFAULT_MODEL, ModelFileError, check_name

# The rules of saved models, the same wherever they are kept. A saved model belongs to the person
# who saved it (``meta["owner"]``, an anonymous id): only they can delete it, a deleted model
# waits in a bin for ``BIN_DAYS`` where its owner can bring it back, and a person keeps at most
# ``MAX_MODELS_PER_PERSON``. The shipped model, and those made on the command line, belong to
# nobody: the app deletes none of them.
BIN_DAYS = 7
MAX_MODELS_PER_PERSON = 20


class QuotaError(ValueError):
    """Refused: the person has saved as many models as one person may."""


def check_quota(kept: int) -> None:
    """``QuotaError`` if a person who keeps ``kept`` models may not save another."""
    if kept >= MAX_MODELS_PER_PERSON:
        raise QuotaError(
            "you have saved %d models, as many as one person may keep here: delete one of them first" % MAX_MODELS_PER_PERSON
        )


def check_deletable(name: str, owner: str | None, its_owner: str | None) -> None:
    """``PermissionError`` unless ``owner`` may delete the model ``name`` that belongs to ``its_owner``."""
    if name == DEFAULT_MODEL:
        raise PermissionError("the shipped model %r cannot be deleted" % DEFAULT_MODEL)
    if owner is None or its_owner != owner:
        raise PermissionError("%s is not yours: only the person who saved a model can delete it" % name)


def binned_before() -> float:
    """Models deleted before this moment (``time.time()``) have left the bin for good."""
    return time.time() - BIN_DAYS * 86400


def _no_model(name):
    return FileNotFoundError("there is no model called %s" % name)


def _not_in_bin(name):
    return FileNotFoundError("there is no deleted model called %s to bring back" % name)


def _saved_since(name):
    return FileExistsError("a model named %s has been saved since; it was not replaced" % name)


class ModelsError(OSError):
    """The models database could not be used; the message says why and what was (not) changed."""


class ModelStore(Protocol):
    """What the pages and the command line ask of the saved models, wherever they are kept
    (``FolderModels`` on a laptop, ``DatabaseModels`` for a class)."""

    def describe(self) -> str: ...
    def names(self) -> list[str]: ...
    def load(self, name: str) -> Model: ...
    def version(self, name: str) -> str: ...
    def save(self, name: str, params: Params, layer_data: LayerData, meta: dict[str, Any] | None = None) -> str: ...
    def owner_of(self, name: str) -> str | None: ...
    def models_of(self, owner: str | None) -> list[str]: ...
    def delete(self, name: str, owner: str | None) -> None: ...
    def restore(self, name: str, owner: str | None) -> None: ...


def model_store(where: str | None = None) -> ModelStore:
    """The models the app offers: those of the database ``where`` (a PostgreSQL URL; default
    ``NN_CORE_DATABASE_URL``) beside the weights folder's, or the weights folder alone."""
    url = where or database_url()
    return DatabaseModels(url) if url else FolderModels()


def _finite(value):
    """``value`` with NaN and infinities as None (JSON has no such numbers; a diverged run's
    history has them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _taken(name):
    return FileExistsError("a model named %r exists already; choose another name" % name)


class FolderModels:
    """The models of the weights folder (``storage``'s files). Its bin is the folder ``.bin``
    in it; a count made before a save holds while the folder is locked (``files.folder_lock``)."""

    BIN = ".bin"

    def describe(self) -> str:
        return str(storage.weights_dir())

    def names(self) -> list[str]:
        """The models' names, the shipped one first."""
        return storage.list_models()

    def load(self, name: str) -> Model:
        return storage.load_model(name)

    def version(self, name: str) -> str:
        """A key that changes whenever the model called ``name`` does."""
        return "file:%s" % storage.model_path(name).stat().st_mtime_ns

    def save(self, name: str, params: Params, layer_data: LayerData, meta: dict[str, Any] | None = None) -> str:
        """Keep a new model; never replaces one (``FileExistsError``). Returns its name."""
        owner = (meta or {}).get("owner")
        with folder_lock(storage.weights_dir()):  # the count still holds when the files are written
            if owner is not None:
                check_quota(len(self.models_of(owner)))
            return storage.save_model(name, params, layer_data, meta, overwrite=False).stem

    def owner_of(self, name: str) -> str | None:
        """The id of the person who saved model ``name`` (from its readable metadata), or None."""
        owner = (storage.read_meta(name) or {}).get("owner")
        return owner if isinstance(owner, str) else None

    def models_of(self, owner: str | None) -> list[str]:
        """The names of the saved models that belong to ``owner``."""
        return [name for name in self.names() if owner is not None and self.owner_of(name) == owner]

    def delete(self, name: str, owner: str | None) -> None:
        """Move the model's ``.npz`` and ``.json`` into the bin, where ``restore`` finds them for
        ``BIN_DAYS``; only its owner may (``PermissionError``)."""
        check_name(name)
        path = storage.weights_dir() / (name + ".npz")
        if not path.exists():
            raise _no_model(name)
        check_deletable(name, owner, self.owner_of(name))
        bin_dir = storage.weights_dir() / self.BIN
        bin_dir.mkdir(exist_ok=True)
        stamp = "%s.%d" % (name, time.time_ns())
        os.replace(path.with_suffix(".json"), bin_dir / (stamp + ".json"))
        os.replace(path, bin_dir / (stamp + ".npz"))
        for binned in bin_dir.iterdir():  # what has been there longer than BIN_DAYS goes for good
            try:
                if binned.stat().st_mtime < binned_before():
                    binned.unlink()
            except OSError:
                pass

    def restore(self, name: str, owner: str | None) -> None:
        """``owner``'s latest deleted ``name`` back from the bin (``FileNotFoundError`` if none,
        ``FileExistsError`` if another model has taken the name since)."""
        check_name(name)
        bin_dir = storage.weights_dir() / self.BIN
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
            target = storage.weights_dir() / (name + ".npz")
            with folder_lock(storage.weights_dir()):  # not between another's check and write of the same name
                if target.exists() or target.with_suffix(".json").exists():
                    raise _saved_since(name)
                os.replace(readable, target.with_suffix(".json"))
                os.replace(binned, target)
            return
        raise _not_in_bin(name)


POSTGRES_MIGRATIONS = [
    """
    CREATE TABLE models (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT,
        npz BYTEA NOT NULL,
        meta JSONB NOT NULL,
        saved TIMESTAMPTZ NOT NULL DEFAULT now(),
        deleted DOUBLE PRECISION
    );
    CREATE UNIQUE INDEX models_by_name ON models (name) WHERE deleted IS NULL;
    CREATE INDEX models_by_owner ON models (owner) WHERE deleted IS NULL
    """,
]


class DatabaseModels(Store):
    """The weights folder's models, read-only, and the models people saved, in the database."""

    SCHEMA = Schema("models", "a models database", ModelsError, [], lock=7303, postgres=POSTGRES_MIGRATIONS)

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.folder = FolderModels()

    def names(self) -> list[str]:
        files = self.folder.names()
        saved = self._run(
            "list the models",
            lambda conn: [
                row[0] for row in conn.execute("SELECT name FROM models WHERE deleted IS NULL ORDER BY name").fetchall()
            ],
            write=False,
        )
        names = files + [n for n in saved if n not in files]
        return names

    def _in_folder(self, name):
        return name in self.folder.names()

    def load(self, name: str) -> Model:
        if self._in_folder(name):
            return self.folder.load(name)
        row = self._run(
            "read the model",
            lambda conn: conn.execute("SELECT npz FROM models WHERE name = ? AND deleted IS NULL", (name,)).fetchone(),
            write=False,
        )
        if row is None:
            raise ModelFileError(str(_no_model(name)))
        return storage.read_model_bytes(bytes(row[0]), name)

    def version(self, name: str) -> str:
        if self._in_folder(name):
            return self.folder.version(name)
        row = self._run(
            "read the model",
            lambda conn: conn.execute("SELECT id FROM models WHERE name = ? AND deleted IS NULL", (name,)).fetchone(),
            write=False,
        )
        if row is None:
            raise ModelFileError(str(_no_model(name)))
        return "db:%d" % row[0]

    def save(self, name: str, params: Params, layer_data: LayerData, meta: dict[str, Any] | None = None) -> str:
        check_name(name)
        if self._in_folder(name):
            raise _taken(name)
        meta = dict(meta or {})
        blob = storage.model_bytes(params, layer_data, meta)  # checks the network before anything is written
        owner = meta.get("owner")
        meta_text = json.dumps(_finite(dict(meta, layer_data=layer_data)), default=str)

        def save(conn):
            if owner is not None:
                check_quota(
                    conn.execute("SELECT count(*) FROM models WHERE owner = ? AND deleted IS NULL", (owner,)).fetchone()[0]
                )
            return conn.execute(
                "INSERT INTO models (name, owner, npz, meta) VALUES (?, ?, ?, ?::jsonb) "
                "ON CONFLICT (name) WHERE deleted IS NULL DO NOTHING RETURNING id",
                (name, owner, blob, meta_text),
            ).fetchone()

        if self._run("save the model", save) is None:
            raise _taken(name)
        return name

    def owner_of(self, name: str) -> str | None:
        if self._in_folder(name):
            return self.folder.owner_of(name)
        row = self._run(
            "read the model",
            lambda conn: conn.execute("SELECT owner FROM models WHERE name = ? AND deleted IS NULL", (name,)).fetchone(),
            write=False,
        )
        return None if row is None else row[0]

    def models_of(self, owner: str | None) -> list[str]:
        if owner is None:
            return []
        return self._run(
            "list the models",
            lambda conn: [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM models WHERE owner = ? AND deleted IS NULL ORDER BY name", (owner,)
                ).fetchall()
            ],
            write=False,
        )

    def delete(self, name: str, owner: str | None) -> None:
        """Into the bin, for ``BIN_DAYS``; only the owner may (``PermissionError``)."""
        check_name(name)
        if self._in_folder(name):
            check_deletable(name, owner, None)  # the weights folder's models belong to nobody

        def delete(conn):
            row = conn.execute("SELECT id, owner FROM models WHERE name = ? AND deleted IS NULL", (name,)).fetchone()
            if row is None:
                raise _no_model(name)
            check_deletable(name, owner, row[1])
            conn.execute("UPDATE models SET deleted = ? WHERE id = ?", (time.time(), row[0]))
            conn.execute("DELETE FROM models WHERE deleted < ?", (binned_before(),))

        self._run("delete the model", delete)

    def restore(self, name: str, owner: str | None) -> None:
        """``owner``'s latest deleted ``name`` back from the bin (``FileNotFoundError`` if none,
        ``FileExistsError`` if another model has taken the name since)."""
        check_name(name)

        def restore(conn):
            row = conn.execute(
                "SELECT id FROM models WHERE name = ? AND owner = ? AND deleted > ? ORDER BY deleted DESC",
                (name, owner, binned_before()),
            ).fetchone()
            if row is None:
                raise _not_in_bin(name)
            if (
                self._in_folder(name)
                or conn.execute("SELECT 1 FROM models WHERE name = ? AND deleted IS NULL", (name,)).fetchone()
            ):
                raise _saved_since(name)
            conn.execute("UPDATE models SET deleted = NULL WHERE id = ?", (row[0],))

        self._run("bring the model back", restore)
