"""Training runs as records: what was asked, where it is, and everything it reported.

A run is a row (``runs``): its owner, name, settings (``TrainConfig`` as JSON), data in words,
status, times, progress, the network at the end of its last epoch (``snapshot``) and, once it has
ended, its final network with metadata and test result. What it reported along the way is a list
of events (``run_events``: ``started``, ``batch`` points of the smoothed cost, ``epoch`` records,
``change``s of rate or lamda, ``paused``, ``resumed``, ``ended``), and what people asked of it a
list of requests (``run_commands``: pause, resume, change, stop) that the run's process reads
between mini-batches and acknowledges with the events that answer them.

The run has one author: the process training it (see ``runtask``), and before that the runner that
recorded it. The row's ``status`` is the state its events add up to (``runstate``), written with
them in the same transaction; the row is the summary that lists runs quickly. Any process that
can open the store can show any run: a reload, a restarted app server or another app server. The
store is the class's PostgreSQL database when ``NN_CORE_DATABASE_URL`` is set, else the file
``NN_CORE_RUNS_DB``, else ``runs.sqlite`` beside the drawings database (see ``database`` for how
many writers share it). A run that will never end by itself (``runlost.lost``) is ended by the
first reader that notices, with its curves and last network kept.
"""

import json
import os
import random
import socket
import time
import uuid

import numpy as np

from . import drawings, runstate
from .database import Schema, Store, database_url, is_url
from .runlost import LOST_ENV, lost, lost_after  # noqa: F401 (LOST_ENV: where tests set it)
from .runrecord import FIND_RATE, MIGRATIONS, SUMMARY, TRAIN, RunRecord, config_from, params_bytes, params_from, place, plain_json  # noqa: F401
from .runstate import ACTIVE

ENV_VAR = "NN_CORE_RUNS_DB"


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


class RunStore(Store):
    """The runs database (see the module's description)."""

    SCHEMA = Schema("runs", "a runs database", RunsError, MIGRATIONS, lock=7302)

    def __init__(self, path=None):
        super().__init__(database_path(path))

    # -- by the app: asking for runs ----------------------------------------------------------
    def add(self, config, label, owner=None, data="", started_from=None, estimate=None, n_train=None, engine="", purpose=TRAIN):
        """Record a new run, waiting to start; returns ``(id, seq)``. Raises ``Busy`` if
        ``owner`` has a run (or a sweep) that has not ended (checked in the writing transaction,
        so two tabs cannot both start one). ``purpose``: ``"train"`` or ``"find-rate"``."""

        def add(conn):
            self._mark_lost(conn)
            _check_free(conn, owner)
            return _insert(conn, config, label, owner, data, started_from, engine, n_train, estimate, purpose, None)

        return self._run("record the run", add)

    def add_sweep(self, plan, label, runs, owner=None, data="", started_from=None, engine=""):
        """Record a sweep (``plan``: its ``SweepPlan.to_dict()``) and its runs, all waiting, in one
        transaction; ``runs`` holds ``(config, label, n_train, estimate)`` per run in plan order.
        Returns ``(sweep id, [(run id, seq), ...])``. Raises ``Busy`` as ``add`` does: a sweep is
        its person's one place, as a run is."""
        sweep_id = uuid.uuid4().hex

        def add(conn):
            self._mark_lost(conn)
            _check_free(conn, owner)
            conn.execute(
                "INSERT INTO sweeps (id, owner, label, plan, created) VALUES (?, ?, ?, ?, ?)",
                (sweep_id, owner, label, json.dumps(plan, default=plain_json), time.time()),
            )
            return sweep_id, [
                _insert(conn, config, run_label, owner, data, started_from, engine, n_train, estimate, TRAIN, sweep_id)
                for config, run_label, n_train, estimate in runs
            ]

        return self._run("record the sweep", add)

    def command(self, run_id, kind, body=None):
        """Ask the run's process for something: a request, read between two mini-batches. The
        run's state moves only when its process acknowledges it (``report(done=...)``); until then
        the record's ``pending`` lists it."""
        self._run(
            "send the request",
            lambda conn: conn.execute(
                "INSERT INTO run_commands (run, kind, body) VALUES (?, ?, ?)", (run_id, kind, json.dumps(body))
            ),
        )

    def cancel(self, run_id, message):
        """End a run that has not started; True if it was still waiting."""
        return self._run("cancel the run", lambda conn: _end(conn, run_id, "cancelled", message, ("queued",))) == 1

    def rename(self, run_id, label):
        self._run("rename the run", lambda conn: conn.execute("UPDATE runs SET label = ? WHERE id = ?", (label, run_id)))

    def set_config(self, run_id, config):
        """New settings for a run that waits (the rate or lamda changed before it started)."""
        self._run(
            "change the run",
            lambda conn: conn.execute(
                "UPDATE runs SET config = ? WHERE id = ? AND status = 'queued'", (json.dumps(config.to_dict()), run_id)
            ),
        )

    def fail(self, run_id, message):
        """Mark a run that has not ended as failed (its process is known to be gone)."""
        self._run("mark the run failed", lambda conn: _end(conn, run_id, "failed", message, ACTIVE))

    # -- by the run's process -----------------------------------------------------------------
    def begin(self, run_id, n_train=None):
        """The run's process takes the run: True if it was waiting (a run is trained once: a
        cancelled one, or one a worker took before, is not started again)."""
        now = time.time()

        def begin(conn):
            taken = conn.execute(
                # ``started`` waits for the training data: the time shown counts training only, so
                # it must not first count the data's assembly and then go back to 0.
                "UPDATE runs SET status = 'running', began = ?, heartbeat = ?, host = ? WHERE id = ? AND status = 'queued'",
                (now, now, socket.gethostname(), run_id),
            ).rowcount
            if taken:
                conn.execute("INSERT INTO run_events (run, kind, body) VALUES (?, ?, ?)", (run_id, runstate.STARTED, "null"))
            return taken

        return self._run("start the run", begin) == 1

    def report(self, run_id, events=(), done=(), **columns):
        """Write what the run's process reports: ``events`` (``(kind, body)`` pairs), the requests
        it has acknowledged (``done``: their ids) and new values of columns (``snapshot`` and
        ``params`` as dicts of arrays); the heartbeat too. The row's ``status`` is the state the
        events add up to (``runstate``), written in the same transaction: a ``status`` given as a
        column is recorded as the event that leads there."""
        # The networks have a table of their own: in the run's row, every progress report would
        # rewrite their megabytes (SQLite writes a row whole).
        networks = []
        if "snapshot" in columns:
            networks.append((0, params_bytes(columns.pop("snapshot"), np.float32)))
        if "params" in columns:
            networks.append((1, params_bytes(columns.pop("params"))))
        for key in ("meta", "result", "config"):
            if key in columns:
                columns[key] = json.dumps(columns[key] if key != "config" else columns[key].to_dict(), default=plain_json)
        columns["heartbeat"] = time.time()
        events = list(events)
        if "status" in columns:
            status = columns.pop("status")
            move = {"running": runstate.RESUMED, "paused": runstate.PAUSED_EVENT}.get(status)
            events.append(
                (move, None) if move else (runstate.ENDED_EVENT, {"status": status, "message": columns.get("message", "")})
            )

        def write(conn):
            if any(kind in runstate.MOVES for kind, _ in events):
                was = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
                state = runstate.state_of(events, was[0] if was else runstate.QUEUED)
                if was and state != was[0]:
                    columns["status"] = state
                    columns["held"] = int(state == runstate.PAUSED)
                elif was and was[0] in runstate.ENDED:
                    columns.pop("message", None)  # ended already (counted as lost meanwhile): its reason stays
            conn.executemany(
                "INSERT INTO run_events (run, kind, body) VALUES (?, ?, ?)",
                [(run_id, kind, json.dumps(body, default=plain_json)) for kind, body in events],
            )
            conn.executemany("UPDATE run_commands SET done = 1 WHERE id = ?", [(i,) for i in done])
            conn.execute(
                "UPDATE runs SET %s WHERE id = ?" % ", ".join("%s = ?" % k for k in columns), list(columns.values()) + [run_id]
            )
            conn.executemany(
                "INSERT INTO run_networks (run, final, npz) VALUES (?, ?, ?) "
                "ON CONFLICT (run, final) DO UPDATE SET npz = excluded.npz",
                [(run_id, final, blob) for final, blob in networks],
            )

        self._run("record the run's progress", write)

    def commands(self, run_id):
        """The requests not acknowledged yet, oldest first, as ``(id, kind, body)`` (the run
        acknowledges them with ``report(done=...)``, with the events that answer them)."""
        rows = self._run(
            "read the run's requests",
            lambda conn: conn.execute(
                "SELECT id, kind, body FROM run_commands WHERE run = ? AND done = 0 ORDER BY id", (run_id,)
            ).fetchall(),
            write=False,
        )
        return [(i, kind, json.loads(body)) for i, kind, body in rows]

    def busy_here(self, host):
        """How many runs train on ``host`` now (to share its cores)."""
        return self._run(
            "count the runs",
            lambda conn: conn.execute(
                "SELECT count(*) FROM runs WHERE host = ? AND status IN ('running', 'paused') AND heartbeat > ?",
                (host, time.time() - lost_after()),
            ).fetchone()[0],
            write=False,
        )

    # -- reading ------------------------------------------------------------------------------
    def get(self, run_id):
        """The run's record (``RunRecord``), or None."""
        found = self._read("WHERE id = ?", (run_id,))
        return found[0] if found else None

    def runs_of(self, owner, purpose=TRAIN, in_sweeps=False):
        """A person's runs, oldest first, as ``RunRecord``s: their ordinary runs, or those for
        ``purpose`` (``"find-rate"``; None: whatever for), with the runs of their sweeps too if
        ``in_sweeps``."""
        where, args = "WHERE owner IS NOT DISTINCT FROM ?", [owner]
        if purpose is not None:
            where, args = where + " AND purpose = ?", args + [purpose]
        if not in_sweeps:
            where += " AND sweep IS NULL"
        return self._read(where + " ORDER BY seq", tuple(args))

    def runs_in(self, sweep_id):
        """A sweep's runs in the plan's order, as ``RunRecord``s."""
        return self._read("WHERE sweep = ? ORDER BY seq", (sweep_id,))

    def sweep(self, sweep_id):
        """A sweep as a dict (``id``, ``owner``, ``label``, ``plan`` as a dict, ``created``), or None."""
        found = self._sweeps("WHERE id = ?", (sweep_id,))
        return found[0] if found else None

    def sweeps_of(self, owner):
        """A person's sweeps, oldest first, as dicts (see ``sweep``)."""
        return self._sweeps("WHERE owner IS NOT DISTINCT FROM ? ORDER BY created", (owner,))

    def _sweeps(self, where, args):
        rows = self._run(
            "read the sweeps",
            lambda conn: conn.execute("SELECT id, owner, label, plan, created FROM sweeps %s" % where, args).fetchall(),
            write=False,
        )
        return [dict(id=i, owner=o, label=label, plan=json.loads(plan), created=c) for i, o, label, plan, c in rows]

    def class_runs(self, viewer, limit=2000):
        """Every finished ordinary run of this store (sweeps' runs too), anonymous: ``(rows,
        total)``, each row its settings flattened (``CLASS_SETTINGS``), ``test_acc``, ``val_acc``
        and ``mine`` (True for ``viewer``'s runs), never who or the run's name. When there are
        more than ``limit``, the viewer's own (up to ``limit``) and an even random sample of the
        others, the same on every call while no run is added; ``total`` says how many there are.
        Reads the summary columns only (no events, no networks)."""
        rows = self._run(
            "read the class's runs",
            lambda conn: conn.execute(
                "SELECT seq, CASE WHEN owner = ? THEN 1 ELSE 0 END, config, test_acc, val_acc, n_train, "
                "CASE WHEN test_acc IS NULL THEN result END FROM runs WHERE status = 'finished' AND purpose = ? ORDER BY seq",
                (viewer, TRAIN),
            ).fetchall(),
            write=False,
        )
        total = len(rows)
        if total > limit:
            mine = [r for r in rows if r[1]][-limit:]
            others = [r for r in rows if not r[1]]
            chosen = random.Random(total).sample(others, max(0, min(len(others), limit - len(mine))))
            rows = sorted(mine + chosen, key=lambda r: r[0])
        return [_class_row(*row[1:]) for row in rows], total

    def _read(self, where, args):
        def read(conn):
            cursor = conn.execute("SELECT %s FROM runs %s" % (SUMMARY, where), args)
            return [RunRecord(row, [c[0] for c in cursor.description]) for row in cursor.fetchall()]

        records = self._run("read the runs", read, write=False)
        if any(lost(r) is not None for r in records):  # rare: then once more, after marking them in a writing transaction
            self._run("mark lost runs", self._mark_lost)
            records = self._run("read the runs", read, write=False)
        return records

    def events(self, run_id, since=0):
        """The run's events after event ``since``: ``(id, kind, body)``, oldest first."""
        rows = self._run(
            "read the run's events",
            lambda conn: conn.execute(
                "SELECT id, kind, body FROM run_events WHERE run = ? AND id > ? ORDER BY id", (run_id, since)
            ).fetchall(),
            write=False,
        )
        return [(i, kind, json.loads(body)) for i, kind, body in rows]

    def network(self, run_id, final=True):
        """The run's parameters: its final network (``final``) or the one at the end of its last
        epoch; None if there is none."""
        row = self._run(
            "read the run's network",
            lambda conn: conn.execute(
                "SELECT npz FROM run_networks WHERE run = ? AND final = ?", (run_id, int(final))
            ).fetchone(),
            write=False,
        )
        return None if row is None else params_from(row[0])

    def ahead(self, seq):
        """How many waiting runs will start before run number ``seq``: those with an earlier place
        in line (``runrecord.place``: first asked first started, a sweep's later runs behind the
        runs asked for after it)."""
        rows = self._run(
            "count the runs",
            lambda conn: conn.execute(
                "SELECT seq, (SELECT min(s.seq) FROM runs s WHERE s.sweep = runs.sweep) FROM runs WHERE status = 'queued' OR seq = ?",
                (seq,),
            ).fetchall(),
            write=False,
        )
        places = {s: place(s, first) for s, first in rows}
        mine = places.get(seq, seq)
        return sum(1 for s, p in places.items() if s != seq and p < mine)

    def waiting(self):
        return self._run(
            "count the runs",
            lambda conn: conn.execute("SELECT count(*) FROM runs WHERE status = 'queued'").fetchone()[0],
            write=False,
        )

    def timings(self, last=10):
        """The parts of the last ordinary runs that finished (a rate finder ends when it has seen
        enough: its time says nothing of the pace), each ``(startup, training, estimate, test,
        share)``: in seconds, from a worker's taking the run to its first mini-batch (the data
        built), the training itself (pauses left out), what it had been estimated at, and the test
        set; and the share of its machine's cores it had (``meta["machine_share"]``, else 1)."""
        rows = self._run(
            "read the runs",
            lambda conn: conn.execute(
                "SELECT started - began, trained - started - paused_seconds, estimate, ended - trained, meta FROM runs "
                "WHERE status = 'finished' AND purpose = 'train' AND began IS NOT NULL AND trained IS NOT NULL AND estimate > 0 "
                "ORDER BY seq DESC LIMIT ?",
                (last,),
            ).fetchall(),
            write=False,
        )
        return [tuple(row[:4]) + ((json.loads(row[4] or "{}").get("machine_share") or 1.0),) for row in rows]

    def busy(self):
        """``(training, waiting)``: how many runs train now and how many wait, and the time left
        of those training (``seconds_left`` or their estimate)."""
        rows = self._run(
            "count the runs",
            lambda conn: conn.execute(
                "SELECT status, coalesce(seconds_left, estimate, 0) FROM runs WHERE status IN ('queued', 'running', 'paused') "
                "AND (status = 'queued' OR heartbeat > ?)",
                (time.time() - lost_after(),),
            ).fetchall(),
            write=False,
        )
        training = [left for status, left in rows if status != "queued"]
        waiting = [left for status, left in rows if status == "queued"]
        return training, waiting

    @staticmethod
    def _mark_lost(conn):
        """End the runs that will never end by themselves (``runlost.lost``), inside a writing
        transaction, saying why."""
        cursor = conn.execute("SELECT %s FROM runs WHERE status IN (?, ?, ?)" % SUMMARY, ACTIVE)
        for record in [RunRecord(row, [c[0] for c in cursor.description]) for row in cursor.fetchall()]:
            why = lost(record)
            if why is not None:
                status, message = why
                if _end(conn, record.id, status, message, ACTIVE, ended=record.heartbeat):
                    conn.execute("UPDATE runs SET held = 0, seconds_left = NULL WHERE id = ?", (record.id,))


def _check_free(conn, owner):
    """``Busy`` when ``owner`` has a run, a sweep or a rate finder that has not ended."""
    if owner is None:
        return
    going = conn.execute(
        "SELECT sweep, purpose FROM runs WHERE owner = ? AND status IN (?, ?, ?) LIMIT 1", (owner,) + ACTIVE
    ).fetchone()
    if going is None:
        return
    what = (
        "a sweep under way" if going[0] else "the rate finder running" if going[1] == FIND_RATE else "a run training or waiting"
    )
    raise Busy("you have %s already (perhaps in another window). Stop it, or wait until it ends, before starting another" % what)


def _insert(conn, config, label, owner, data, started_from, engine, n_train, estimate, purpose, sweep):
    """A new run's row, waiting to start: ``(id, seq)``."""
    run_id = uuid.uuid4().hex
    cursor = conn.execute(
        "INSERT INTO runs (id, owner, label, config, data, started_from, engine, status, n_train, estimate, submitted, "
        "purpose, sweep) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?) RETURNING seq",
        (
            run_id,
            owner,
            label,
            json.dumps(config.to_dict()),
            data,
            started_from,
            engine,
            n_train,
            estimate,
            time.time(),
            purpose,
            sweep,
        ),
    )
    return run_id, cursor.fetchone()[0]


# The settings of a run on the class's chart (``RunStore.class_runs``), flattened from its config.
CLASS_SETTINGS = (
    "rate", "lamda", "layers", "width", "mini_batch", "activation", "optimizer", "dropout", "n_train", "epochs", "schedule"
)  # fmt: skip


def _class_row(mine, config_text, test_acc, val_acc, n_train, result_text):
    config = json.loads(config_text)
    dims, activs = config["layer_data"]["Dim"], config["layer_data"]["Activs"]
    hidden = dims[1:-1]
    row = {name: config.get(name) for name in CLASS_SETTINGS}
    row.update(
        layers=len(hidden),
        n_train=config.get("n_train") or n_train,  # None in its settings: all the images there were
        width=max(hidden) if hidden else 0,
        activation=activs[0] if hidden else None,
        test_acc=test_acc if test_acc is not None else (json.loads(result_text) or {}).get("accuracy") if result_text else None,
        val_acc=val_acc,
        mine=bool(mine),
    )
    return row


def _end(conn, run_id, status, message, was, ended=None):
    """End a run that is in one of the states ``was``, with its ``ended`` event in the same
    transaction; the number of runs ended (0 or 1)."""
    done = conn.execute(
        "UPDATE runs SET status = ?, message = ?, ended = coalesce(ended, ?) WHERE id = ? AND status IN (%s)"
        % ", ".join("?" * len(was)),
        (status, message, ended or time.time(), run_id) + tuple(was),
    ).rowcount
    if done:
        conn.execute(
            "INSERT INTO run_events (run, kind, body) VALUES (?, ?, ?)",
            (run_id, runstate.ENDED_EVENT, json.dumps({"status": status, "message": message})),
        )
    return done
