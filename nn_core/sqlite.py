"""One SQLite file used by many sessions and processes at once: the plumbing shared by the
drawings (``drawings.DrawingStore``) and the training runs (``runs.RunStore``).

A file runs in WAL mode so that readers never block a writer, and every write is one transaction
that waits for others (``BUSY_SECONDS``) instead of failing: many sessions can write at once and
nothing is lost or stored half-way. ``PRAGMA user_version`` holds the schema version; the store's
``MIGRATIONS`` take an older file to the current one. Every failure, whether a locked, damaged or
foreign file or a full disk, becomes the store's ``Error`` with a message saying what happened
and that nothing was changed.
"""

import sqlite3
import threading
from pathlib import Path

BUSY_SECONDS = 10.0  # how long a write waits for another one before giving up
_setting_up = threading.Lock()
_set_up = set()  # the files this process has opened once (in WAL mode, migrated)


def explain(exc, doing, what, error):
    """An ``error`` saying in words what went wrong with ``exc`` (from sqlite3 or the OS) while
    doing ``doing`` to ``what`` ("a drawings database")."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        why = "the database is locked by another program and stayed locked for %g seconds" % BUSY_SECONDS
    elif "full" in text or getattr(exc, "errno", None) == 28:
        why = "the disk is full"
    elif "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        why = "the database file or its folder cannot be written to"
    elif "not a database" in text or "malformed" in text or "encrypted" in text:
        why = "the file is not %s this app can read (damaged, or another kind of file)" % what
    elif "no such" in text or "has no column" in text or "constraint" in text:
        why = "the file does not have the layout of %s (%s)" % (what, exc)
    elif "unable to open" in text:
        why = "the database file cannot be opened (its folder may not exist or not be writable)"
    else:
        why = str(exc)
    return error("Could not %s: %s. Nothing was changed." % (doing, why))


class SqliteStore:
    """A store in one SQLite file. Subclasses set ``MIGRATIONS`` (one script per schema version),
    ``WHAT`` (the file in words) and ``Error``. Every method opens its own connection, so one store
    may be used from many threads and sessions at once."""

    MIGRATIONS = []
    WHAT = "a database"
    Error = Exception

    def __init__(self, path):
        self.path = Path(path)

    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            key = str(self.path.resolve())
            if key in _set_up:
                conn.execute("PRAGMA journal_mode=WAL")
                self._migrate(conn)
            else:
                # A new file's switch to WAL needs it to itself: sessions of this process that open it
                # at the same moment (and migrate it) would otherwise wait on each other until one gives up.
                with _setting_up:
                    conn.execute("PRAGMA journal_mode=WAL")
                    self._migrate(conn)
                    _set_up.add(key)
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(self.MIGRATIONS):
            raise self.Error("The %s was made by a newer version of this app (schema %d; this one knows up to %d). "
                             "Nothing was changed." % (self.WHAT.split(" ", 1)[1], version, len(self.MIGRATIONS)))
        if version == len(self.MIGRATIONS):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another session may have migrated it
            for number in range(version, len(self.MIGRATIONS)):
                for statement in self.MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("PRAGMA user_version = %d" % (number + 1))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _run(self, doing, work, write=True):
        """``work(conn)`` inside one transaction (taking the write lock at once if ``write``, so
        that two writers queue instead of failing); sqlite3 and OS failures become ``Error``."""
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise explain(exc, doing, self.WHAT, self.Error) from exc
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                    conn.execute("ROLLBACK")
                raise
            return result
        except (sqlite3.Error, OSError) as exc:
            raise explain(exc, doing, self.WHAT, self.Error) from exc
        finally:
            conn.close()
