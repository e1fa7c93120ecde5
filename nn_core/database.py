"""Where the app keeps what people make: the plumbing shared by the drawings
(``drawings.DrawingStore``), the training runs (``runs.RunStore``) and the saved models
(``models.ModelStore``).

Two back ends, one behaviour:

- **SQLite** (the default: a laptop needs no server). One file per store, in WAL mode so that
  readers never block a writer; every write is one transaction that waits for others
  (``BUSY_SECONDS``) instead of failing. ``PRAGMA user_version`` holds the schema version.
- **PostgreSQL** when ``NN_CORE_DATABASE_URL=postgresql://...`` is set (a class on several app
  servers and machines), through psycopg 3 and its connection pool. The schema versions are rows
  of ``schema_version``, written under ``pg_advisory_xact_lock`` so that servers starting at once
  migrate exactly once. Every writing transaction of a store takes that store's advisory lock, as
  SQLite's ``BEGIN IMMEDIATE`` does: checks made before writing (a person's quota, one run at a
  time) hold, and ids are committed in the order they were given (a reader asking for "the events
  after id N" misses none).

A store writes its SQL once, with ``?`` placeholders; the PostgreSQL connection translates them.
Every failure (a locked, damaged or foreign file, a database server that is down, a full disk)
becomes the store's ``Error``, whose message says what happened and that nothing was changed.
"""

import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

ENV_VAR = "NN_CORE_DATABASE_URL"
BUSY_SECONDS = 10.0  # how long a write waits for another one before giving up
CONNECT_SECONDS = 5.0  # how long a page waits for a database server that does not answer
POOL_SIZE = 8  # connections one process keeps to a PostgreSQL server at most
DOWN_SECONDS = 5.0  # how long a server found unreachable is taken as down before it is tried again
PROBE_SECONDS = 2  # how long one attempt to reach a server taken as down may wait

_setting_up = threading.Lock()
_set_up: set[str] = set()  # the SQLite files and PostgreSQL stores this process has opened (and migrated) once


def database_url():
    """The PostgreSQL database every store uses (``NN_CORE_DATABASE_URL``), or None: SQLite files."""
    url = os.environ.get(ENV_VAR, "").strip()
    return url or None


def is_url(where):
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def safe_url(url):
    """The URL without its password, to show."""
    import psycopg.conninfo

    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://..."
    return "postgresql://%s@%s:%s/%s" % (
        params.get("user", ""),
        params.get("host", ""),
        params.get("port", 5432),
        params.get("dbname", ""),
    )


class Schema:
    """What a store is to its database: ``name`` (its key in ``schema_version``), ``what`` (the
    store in words, "a drawings database"), its ``error`` class, its migrations (one SQLite script
    per version; version N is reached by running scripts 1..N in order; PostgreSQL runs the same
    scripts in its words unless given its own) and the key of its advisory lock."""

    def __init__(self, name, what, error, sqlite, lock, postgres=None):
        self.name, self.what, self.error, self.lock = name, what, error, lock
        self.sqlite = sqlite
        self.postgres = postgres if postgres is not None else [postgres_script(script) for script in sqlite]

    def newer(self, version, known):
        return self.error(
            "The %s was made by a newer version of this app (schema %d; this one knows up to %d). "
            "Nothing was changed." % (self.what.split(" ", 1)[1], version, known)
        )


class Store:
    """A store on one back end: ``where`` is a SQLite file's path or a PostgreSQL URL. Every
    method opens (or borrows) its own connection, so one store may be used from many threads and
    sessions at once."""

    SCHEMA: Schema | None = None

    def __init__(self, where):
        self.backend = (Postgres if is_url(where) else Sqlite)(where, self.SCHEMA)

    @property
    def where(self):
        """The path or URL any process can open this store with."""
        return self.backend.where

    def describe(self):
        """Where the store is, in words (no password)."""
        return self.backend.describe()

    def _run(self, doing, work, write=True):
        """``work(conn)`` inside one transaction (one writer at a time if ``write``); failures of
        the database become the store's ``Error`` saying that nothing was changed."""
        return self.backend.run(doing, work, write)


def postgres_script(script):
    """A store's SQLite schema script in PostgreSQL's words: the layout of each table is written
    once. An ``INTEGER PRIMARY KEY`` (SQLite's row id) becomes an identity column, ``REAL`` a
    double (PostgreSQL's ``REAL`` has 6 digits: not enough for a time in seconds) and ``BLOB``
    ``BYTEA``."""
    script = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", script)
    script = re.sub(r"\bREAL\b", "DOUBLE PRECISION", script)
    return re.sub(r"\bBLOB\b", "BYTEA", script)


def _scripts(script):
    return [s for s in script.split(";") if s.strip()]


# -- SQLite ---------------------------------------------------------------------------------------
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


class Sqlite:
    def __init__(self, path, schema):
        self.path, self.schema = Path(path), schema

    @property
    def where(self):
        return str(self.path)

    def describe(self):
        return str(self.path)

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
        migrations = self.schema.sqlite
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(migrations):
            raise self.schema.newer(version, len(migrations))
        if version == len(migrations):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another session may have migrated it
            for number in range(version, len(migrations)):
                for statement in _scripts(migrations[number]):
                    conn.execute(statement)
                conn.execute("PRAGMA user_version = %d" % (number + 1))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def run(self, doing, work, write=True):
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise explain(exc, doing, self.schema.what, self.schema.error) from exc
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
            raise explain(exc, doing, self.schema.what, self.schema.error) from exc
        finally:
            conn.close()


# -- PostgreSQL -----------------------------------------------------------------------------------
MIGRATION_LOCK = 7300  # advisory lock key of migrations (the stores' own keys follow it)
_pools: dict[str, "ConnectionPool"] = {}


def _pool(url):
    """This process's connection pool to ``url`` (psycopg_pool: connections are checked when
    borrowed, so a server that restarted costs one failed check, not an error)."""
    with _setting_up:
        pool = _pools.get(url)
        if pool is None:
            from psycopg_pool import ConnectionPool

            def configure(conn):
                conn.execute("SET lock_timeout = %d" % int(BUSY_SECONDS * 1000))
                conn.commit()

            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=CONNECT_SECONDS,
                open=True,
                check=ConnectionPool.check_connection,
                configure=configure,
                reconnect_timeout=60,
                kwargs={"connect_timeout": int(CONNECT_SECONDS)},
                name="nn_core",
            )
            _pools[url] = pool
        return pool


# A server that cannot be reached is remembered as down for ``DOWN_SECONDS`` (a circuit breaker):
# a page run reads its stores several times, and each read would otherwise wait ``CONNECT_SECONDS``
# for the pool (a Draw page stroke took half a minute while the server was stopped). While it is
# down, reads fail at once; a write (someone clicked to keep something) and the first read after
# the pause try one direct connection first, refused at once by a stopped server.
_down: dict[str, float] = {}  # URL -> when it may be tried again (time.monotonic())


class Unreachable(Exception):
    """The database server was found down a moment ago, or just now."""


def _check_reachable(url, write):
    """``Unreachable`` if ``url``'s server is taken as down (reads) or does not answer a probe."""
    until = _down.get(url)
    if until is None:
        return
    if not write and time.monotonic() < until:
        raise Unreachable()
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=PROBE_SECONDS).close()
    except psycopg.Error as exc:
        _down[url] = time.monotonic() + DOWN_SECONDS
        raise Unreachable() from exc
    _down.pop(url, None)


def _discard(url):
    """Forget this process's pool to ``url`` after a failure to reach the server: the pool would
    retry with growing pauses (a server down for a minute would stay unusable for about as long
    after it is back), while a new pool tries at once, on the next click."""
    with _setting_up:
        pool = _pools.pop(url, None)
    if pool is not None:
        threading.Thread(target=pool.close, kwargs={"timeout": 1}, daemon=True).start()


def close_pools():
    """Close this process's connections (a test stopping its server; a process ending)."""
    with _setting_up:
        pools = list(_pools.values())
        _pools.clear()
        _down.clear()
        _set_up.difference_update({k for k in _set_up if is_url(k.split(" ", 1)[0])})
    for pool in pools:
        pool.close(timeout=1)


def explain_postgres(exc, doing, what, error):
    """An ``error`` saying in words what went wrong with ``exc`` (from psycopg or its pool)."""
    import psycopg
    from psycopg import errors
    from psycopg_pool import PoolTimeout

    if isinstance(exc, (errors.DiskFull, errors.OutOfMemory)) or "no space left" in str(exc).lower():
        why = "the database server's disk is full"
    elif isinstance(exc, (errors.LockNotAvailable, errors.QueryCanceled, errors.DeadlockDetected)):
        why = "the database is busy with another writer and stayed so for %g seconds" % BUSY_SECONDS
    elif isinstance(exc, (errors.UndefinedTable, errors.UndefinedColumn, errors.IntegrityError)):
        why = "the database does not have the layout of %s (%s)" % (what, str(exc).splitlines()[0])
    elif isinstance(exc, (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
        why = "the database cannot be written to by this app's user"
    elif isinstance(exc, (Unreachable, PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError)):
        why = "the database server cannot be reached (it may be restarting); try again in a moment"
    else:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return error("Could not %s: %s. Nothing was changed." % (doing, why))


class _Connection:
    """A psycopg connection that takes the stores' SQL as written for SQLite (``?`` placeholders)."""

    def __init__(self, conn):
        self._conn = conn

    @staticmethod
    def _sql(sql):
        return sql.replace("%", "%%").replace("?", "%s")

    @staticmethod
    def _args(args):
        return [int(a) if isinstance(a, bool) else a for a in args]  # a flag is an INTEGER column, as in SQLite

    def execute(self, sql, args=()):
        return self._conn.execute(self._sql(sql), self._args(args))

    def executemany(self, sql, rows):
        rows = [self._args(row) for row in rows]
        cursor = self._conn.cursor()
        if rows:
            cursor.executemany(self._sql(sql), rows)
        return cursor


class Postgres:
    def __init__(self, url, schema):
        self.url, self.schema = url, schema

    @property
    def where(self):
        return self.url

    def describe(self):
        return safe_url(self.url)

    def _migrate(self, conn):
        migrations = self.schema.postgres
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (store TEXT NOT NULL, version INTEGER NOT NULL, "
                "applied TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (store, version))"
            )
            version = conn.execute(
                "SELECT coalesce(max(version), 0) FROM schema_version WHERE store = %s", (self.schema.name,)
            ).fetchone()[0]
            if version > len(migrations):
                raise self.schema.newer(version, len(migrations))
            for number in range(version, len(migrations)):
                for statement in _scripts(migrations[number]):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (store, version) VALUES (%s, %s)", (self.schema.name, number + 1))

    def run(self, doing, work, write=True):
        import psycopg
        from psycopg_pool import PoolTimeout

        key = "%s %s" % (self.url, self.schema.name)
        try:
            _check_reachable(self.url, write)
            with _pool(self.url).connection() as conn:
                if key not in _set_up:
                    self._migrate(conn)
                    _set_up.add(key)
                with conn.transaction():
                    if write:
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.schema.lock,))
                    return work(_Connection(conn))
        except (Unreachable, psycopg.Error, PoolTimeout) as exc:  # what ``work`` raises itself (a refusal) goes through as it is
            if isinstance(exc, PoolTimeout) or type(exc) in (psycopg.OperationalError, psycopg.InterfaceError):
                # the server, not the query (a lock that timed out is a subclass: the server is up)
                _down[self.url] = time.monotonic() + DOWN_SECONDS
                _discard(self.url)
            raise explain_postgres(exc, doing, self.schema.what, self.schema.error) from exc
