"""Training runs as records: what was asked, where it is, and everything it reported.

A run is a row (``runs``): its owner, name, settings (``TrainConfig`` as JSON), data in words,
status, times, progress, the network at the end of its last epoch (``snapshot``) and, once it has
ended, its final network with metadata and test result. What it reported along the way is a list
of events (``run_events``: ``batch`` points of the smoothed cost, ``epoch`` records, ``change``s
of rate or lamda, ``notice``s), and what people asked of it a list of commands (``run_commands``:
pause, resume, change, stop) that the run's process reads between mini-batches.

The process training a run writes its own record (see ``runner``), so any process that can open
the store can show any run, a reload, a restarted app server or another app server included. The
store is the class's PostgreSQL database when ``NN_CORE_DATABASE_URL`` is set, else the file
``NN_CORE_RUNS_DB``, else ``runs.sqlite`` beside the drawings database (see ``database`` for how
many writers share it). A run whose process has stopped answering (no ``heartbeat`` for
``lost_after()`` seconds: its machine or the app server that held it went away) is marked
failed by the first reader that notices, with its curves and last network kept.
"""

import io
import json
import os
import socket
import time
import uuid

import numpy as np

from . import drawings
from .database import Schema, Store, database_url, is_url
from .training import EpochRecord, TrainConfig

ENV_VAR = "NN_CORE_RUNS_DB"
LOST_ENV = "NN_CORE_RUN_LOST_SECONDS"
DEFAULT_LOST_SECONDS = 30.0  # a run's process writes a heartbeat every few seconds, even while it builds its data
ACTIVE = ("queued", "running", "paused")  # a run that has not ended
RESTARTED_MESSAGE = ("Stopped: the app server restarted while it trained (on this machine runs train beside it). Its curves "
                     "and its network at the end of its last epoch are kept.")
LOST_MESSAGE = ("The training stopped answering: the process training it ended (the app server restarted, or the machine "
                "training it went away). Its curves and its network at the end of its last epoch are kept.")

MIGRATIONS = [
    """
    CREATE TABLE runs (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT,
        label TEXT NOT NULL,
        config TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '',
        started_from TEXT,
        engine TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        notice TEXT,
        n_train INTEGER,
        estimate REAL,
        host TEXT,
        submitted REAL NOT NULL,
        started REAL,
        ended REAL,
        heartbeat REAL,
        paused_seconds REAL NOT NULL DEFAULT 0,
        paused_since REAL,
        held INTEGER NOT NULL DEFAULT 0,
        epoch INTEGER NOT NULL DEFAULT 0,
        batch INTEGER NOT NULL DEFAULT 0,
        n_batches INTEGER NOT NULL DEFAULT 1,
        seconds_left REAL,
        threads INTEGER,
        pid INTEGER,
        snapshot_epoch INTEGER,
        meta TEXT,
        result TEXT,
        began REAL,
        trained REAL
    );
    CREATE INDEX runs_by_owner ON runs (owner);
    CREATE INDEX runs_by_status ON runs (status);
    CREATE TABLE run_events (
        id INTEGER PRIMARY KEY,
        run TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX run_events_by_run ON run_events (run, id);
    CREATE TABLE run_commands (
        id INTEGER PRIMARY KEY,
        run TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX run_commands_by_run ON run_commands (run, done);
    CREATE TABLE run_networks (
        run TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        final INTEGER NOT NULL,
        npz BLOB NOT NULL,
        PRIMARY KEY (run, final)
    )
    """,
]


class RunsError(Exception):
    """The runs database could not be used; the message says why and what was (not) changed."""


class Busy(ValueError):
    """Refused: the person has a run training or waiting already."""


def database_path(path=None):
    """The runs database: ``path`` (a file or a PostgreSQL URL), else ``NN_CORE_DATABASE_URL``,
    else ``NN_CORE_RUNS_DB``, else beside the drawings database."""
    if path is not None:
        return str(path) if is_url(str(path)) else path
    if database_url():
        return database_url()
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    return drawings.database_path().with_name("runs.sqlite")


def lost_after():
    """Seconds without a heartbeat after which a run counts as lost (``NN_CORE_RUN_LOST_SECONDS``)."""
    try:
        value = float(os.environ.get(LOST_ENV, DEFAULT_LOST_SECONDS))
    except ValueError:
        return DEFAULT_LOST_SECONDS
    return value if value > 0 else DEFAULT_LOST_SECONDS


def params_bytes(params, dtype=np.float64):
    """Parameters as the bytes of an ``.npz`` (no pickles: ``params_from`` reads them back with
    ``allow_pickle=False``)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v, dtype=dtype) for k, v in params.items()})
    return buffer.getvalue()


def params_from(blob):
    if blob is None:
        return None
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def _config_from(text):
    return TrainConfig(**json.loads(text))


class RunRecord:
    """One run as read from the store: every column of ``runs`` as an attribute (``config`` a
    ``TrainConfig``, ``result`` and ``meta`` dicts), without the networks."""

    def __init__(self, row, columns):
        self.__dict__.update(zip(columns, row))
        self.config = _config_from(self.config)
        self.result = None if self.result is None else json.loads(self.result)
        self.meta = None if self.meta is None else json.loads(self.meta)


SUMMARY = ("seq, id, owner, label, config, data, started_from, engine, status, message, notice, n_train, estimate, host, "
           "submitted, started, ended, heartbeat, paused_seconds, paused_since, held, epoch, batch, n_batches, "
           "seconds_left, threads, pid, snapshot_epoch, meta, result, began, trained")


class RunStore(Store):
    """The runs database (see the module's description)."""

    SCHEMA = Schema("runs", "a runs database", RunsError, MIGRATIONS, lock=7302)

    def __init__(self, path=None):
        super().__init__(database_path(path))

    # -- by the app: asking for runs ----------------------------------------------------------
    def add(self, config, label, owner=None, data="", started_from=None, estimate=None, n_train=None, engine=""):
        """Record a new run, waiting to start; returns ``(id, seq)``. Raises ``Busy`` if
        ``owner`` has a run that has not ended (checked in the writing transaction, so two tabs
        cannot both start one)."""
        run_id = uuid.uuid4().hex

        def add(conn):
            self._mark_lost(conn)
            if owner is not None and conn.execute("SELECT 1 FROM runs WHERE owner = ? AND status IN (?, ?, ?)",
                                                  (owner,) + ACTIVE).fetchone():
                raise Busy("you have a run training or waiting already (in this tab or another). Stop it, or wait until "
                           "it ends, before starting another")
            cursor = conn.execute(
                "INSERT INTO runs (id, owner, label, config, data, started_from, engine, status, n_train, estimate, submitted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING seq",
                (run_id, owner, label, json.dumps(config.to_dict()), data, started_from, engine, n_train, estimate, time.time()))
            return run_id, cursor.fetchone()[0]

        return self._run("record the run", add)

    def command(self, run_id, kind, body=None):
        """Ask the run's process for something (read between two mini-batches). A pause or a
        resume shows at once in the run's status; ``held`` says when the process has obeyed."""
        def send(conn):
            conn.execute("INSERT INTO run_commands (run, kind, body) VALUES (?, ?, ?)", (run_id, kind, json.dumps(body)))
            if kind in ("pause", "resume"):
                conn.execute("UPDATE runs SET status = ? WHERE id = ? AND status IN ('running', 'paused')",
                             ("paused" if kind == "pause" else "running", run_id))

        self._run("send the command", send)

    def cancel(self, run_id, message):
        """End a run that has not started; True if it was still waiting."""
        return self._run("cancel the run", lambda conn: conn.execute(
            "UPDATE runs SET status = 'cancelled', message = ?, ended = ? WHERE id = ? AND status = 'queued'",
            (message, time.time(), run_id)).rowcount) == 1

    def rename(self, run_id, label):
        self._run("rename the run", lambda conn: conn.execute("UPDATE runs SET label = ? WHERE id = ?", (label, run_id)))

    def set_config(self, run_id, config):
        """New settings for a run that waits (the rate or lamda changed before it started)."""
        self._run("change the run", lambda conn: conn.execute(
            "UPDATE runs SET config = ? WHERE id = ? AND status = 'queued'", (json.dumps(config.to_dict()), run_id)))

    def fail(self, run_id, message):
        """Mark a run that has not ended as failed (its process is known to be gone)."""
        self._run("mark the run failed", lambda conn: conn.execute(
            "UPDATE runs SET status = 'failed', message = ?, ended = coalesce(ended, ?) WHERE id = ? AND status IN (?, ?, ?)",
            (message, time.time(), run_id) + ACTIVE))

    # -- by the run's process -----------------------------------------------------------------
    def begin(self, run_id, n_train=None):
        """The run's process takes the run: True if it was waiting (a run is trained once: a
        cancelled one, or one a worker took before, is not started again)."""
        now = time.time()
        return self._run("start the run", lambda conn: conn.execute(
            "UPDATE runs SET status = 'running', began = ?, started = ?, heartbeat = ?, host = ? WHERE id = ? AND status = 'queued'",
            (now, now, now, socket.gethostname(), run_id)).rowcount) == 1

    def report(self, run_id, events=(), **columns):
        """Write what the run's process reports: ``events`` (``(kind, body)`` pairs) and new values
        of columns (``snapshot`` and ``params`` as dicts of arrays); the heartbeat too."""
        # The networks have a table of their own: in the run's row, every progress report would
        # rewrite their megabytes (SQLite writes a row whole).
        networks = []
        if "snapshot" in columns:
            networks.append((0, params_bytes(columns.pop("snapshot"), np.float32)))
        if "params" in columns:
            networks.append((1, params_bytes(columns.pop("params"))))
        for key in ("meta", "result", "config"):
            if key in columns:
                columns[key] = json.dumps(columns[key] if key != "config" else columns[key].to_dict(), default=_plain)
        columns["heartbeat"] = time.time()

        def write(conn):
            conn.executemany("INSERT INTO run_events (run, kind, body) VALUES (?, ?, ?)",
                             [(run_id, kind, json.dumps(body, default=_plain)) for kind, body in events])
            conn.execute("UPDATE runs SET %s WHERE id = ?" % ", ".join("%s = ?" % k for k in columns),
                         list(columns.values()) + [run_id])
            conn.executemany("INSERT INTO run_networks (run, final, npz) VALUES (?, ?, ?) "
                             "ON CONFLICT (run, final) DO UPDATE SET npz = excluded.npz",
                             [(run_id, final, blob) for final, blob in networks])

        self._run("record the run's progress", write)

    def commands(self, run_id):
        """The commands not read yet, oldest first, as ``(kind, body)``; they are marked read."""
        def take(conn):
            rows = conn.execute("SELECT id, kind, body FROM run_commands WHERE run = ? AND done = 0 ORDER BY id",
                                (run_id,)).fetchall()
            conn.executemany("UPDATE run_commands SET done = 1 WHERE id = ?", [(row[0],) for row in rows])
            return [(kind, json.loads(body)) for _, kind, body in rows]

        return self._run("read the run's commands", take)

    def busy_here(self, host):
        """How many runs train on ``host`` now (to share its cores)."""
        return self._run("count the runs", lambda conn: conn.execute(
            "SELECT count(*) FROM runs WHERE host = ? AND status IN ('running', 'paused') AND heartbeat > ?",
            (host, time.time() - lost_after())).fetchone()[0], write=False)

    # -- reading ------------------------------------------------------------------------------
    def get(self, run_id):
        """The run's record (``RunRecord``), or None."""
        found = self._read("WHERE id = ?", (run_id,))
        return found[0] if found else None

    def runs_of(self, owner):
        """A person's runs, oldest first, as ``RunRecord``s."""
        return self._read("WHERE owner IS NOT DISTINCT FROM ? ORDER BY seq", (owner,))

    def _read(self, where, args):
        def read(conn):
            cursor = conn.execute("SELECT %s FROM runs %s" % (SUMMARY, where), args)
            return [RunRecord(row, [c[0] for c in cursor.description]) for row in cursor.fetchall()]

        records = self._run("read the runs", read, write=False)
        if any(_lost(r) is not None for r in records):  # rare: then once more, after marking them in a writing transaction
            self._run("mark lost runs", self._mark_lost)
            records = self._run("read the runs", read, write=False)
        return records

    def events(self, run_id, since=0):
        """The run's events after event ``since``: ``(id, kind, body)``, oldest first."""
        rows = self._run("read the run's events", lambda conn: conn.execute(
            "SELECT id, kind, body FROM run_events WHERE run = ? AND id > ? ORDER BY id", (run_id, since)).fetchall(),
            write=False)
        return [(i, kind, json.loads(body)) for i, kind, body in rows]

    def network(self, run_id, final=True):
        """The run's parameters: its final network (``final``) or the one at the end of its last
        epoch; None if there is none."""
        row = self._run("read the run's network", lambda conn: conn.execute(
            "SELECT npz FROM run_networks WHERE run = ? AND final = ?", (run_id, int(final))).fetchone(), write=False)
        return None if row is None else params_from(row[0])

    def ahead(self, seq):
        """How many runs wait that were asked for before run number ``seq``."""
        return self._run("count the runs", lambda conn: conn.execute(
            "SELECT count(*) FROM runs WHERE status = 'queued' AND seq < ?", (seq,)).fetchone()[0], write=False)

    def waiting(self):
        return self._run("count the runs", lambda conn: conn.execute(
            "SELECT count(*) FROM runs WHERE status = 'queued'").fetchone()[0], write=False)

    def timings(self, last=10):
        """The parts of the last runs that finished, each ``(startup, training, estimate, test)``
        in seconds: from a worker's taking the run to its first mini-batch (the data built), the
        training itself (pauses left out), what it had been estimated at, and the test set."""
        return self._run("read the runs", lambda conn: conn.execute(
            "SELECT started - began, trained - started - paused_seconds, estimate, ended - trained FROM runs "
            "WHERE status = 'finished' AND began IS NOT NULL AND trained IS NOT NULL AND estimate > 0 "
            "ORDER BY seq DESC LIMIT ?", (last,)).fetchall(), write=False)

    def busy(self):
        """``(training, waiting)``: how many runs train now and how many wait, and the time left
        of those training (``seconds_left`` or their estimate)."""
        rows = self._run("count the runs", lambda conn: conn.execute(
            "SELECT status, coalesce(seconds_left, estimate, 0) FROM runs WHERE status IN ('queued', 'running', 'paused') "
            "AND (status = 'queued' OR heartbeat > ?)", (time.time() - lost_after(),)).fetchall(), write=False)
        training = [left for status, left in rows if status != "queued"]
        waiting = [left for status, left in rows if status == "queued"]
        return training, waiting

    @staticmethod
    def _mark_lost(conn):
        """End the runs that will never end by themselves (see ``_lost``), inside a writing
        transaction, saying why."""
        cursor = conn.execute("SELECT %s FROM runs WHERE status IN (?, ?, ?)" % SUMMARY, ACTIVE)
        for record in [RunRecord(row, [c[0] for c in cursor.description]) for row in cursor.fetchall()]:
            why = _lost(record)
            if why is not None:
                status, message = why
                conn.execute("UPDATE runs SET status = ?, message = ?, ended = coalesce(heartbeat, ?), held = 0, seconds_left = NULL "
                             "WHERE id = ? AND status IN (?, ?, ?)", (status, message, time.time(), record.id) + ACTIVE)


def _lost(record):
    """Why a run that has not ended never will, as ``(status, message)``, or None if it may:
    its embedded cluster's server process has ended (a restart), or its process has written no
    heartbeat for ``lost_after()`` seconds (its machine went away)."""
    if record.status not in ACTIVE:
        return None
    if record.engine.startswith("embedded:"):
        _, host, pid = record.engine.split(":")
        if host == socket.gethostname() and not _alive(int(pid)):
            if record.status == "queued":
                return "cancelled", "Not started: the app server restarted while it waited. Start it again."
            return "stopped", RESTARTED_MESSAGE
    if record.status != "queued" and (record.heartbeat or 0) < time.time() - lost_after():
        return "failed", LOST_MESSAGE
    return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _plain(value):
    """JSON for NumPy numbers and arrays and for records."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, EpochRecord):
        return vars(value)
    raise TypeError("cannot store %r" % type(value))
