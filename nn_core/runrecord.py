"""A run's record: the tables of the run store, one row read as an object, and networks as bytes.

Written once for both back ends (``database`` translates the SQL for PostgreSQL); ``runs.RunStore``
reads and writes them.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from . import runstate
from .training import EpochRecord, TrainConfig

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
    # 2: sweeps (runs asked for together, ``sweeps``), what a run is for (``purpose``: an ordinary
    # run or a rate finder), and its final figures beside the summary (the class's runs on one
    # chart read them without the events).
    """
    ALTER TABLE runs ADD COLUMN sweep TEXT;
    ALTER TABLE runs ADD COLUMN purpose TEXT NOT NULL DEFAULT 'train';
    ALTER TABLE runs ADD COLUMN val_acc REAL;
    ALTER TABLE runs ADD COLUMN val_cost REAL;
    ALTER TABLE runs ADD COLUMN test_acc REAL;
    CREATE INDEX runs_by_sweep ON runs (sweep);
    CREATE TABLE sweeps (
        id TEXT PRIMARY KEY,
        owner TEXT,
        label TEXT,
        plan TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX sweeps_by_owner ON sweeps (owner)
    """,
]
TRAIN, FIND_RATE = "train", "find-rate"  # a run's ``purpose``
SPACING = 1_000_000  # places in line between two runs of a sweep (more runs than a server is ever asked for)


def place(seq: int, first: int | None) -> int:
    """A waiting run's place in line (the lowest starts first; its Dask priority is ``-place``):
    an ordinary run's number ``seq``; run ``k`` of a sweep whose first run is number ``first``,
    ``first + k * SPACING``: behind every run asked for after the sweep started (see ``sweeps``)."""
    return seq if first is None else first + (seq - first) * SPACING


def params_bytes(params: dict, dtype: Any = np.float64) -> bytes:
    """Parameters as the bytes of an ``.npz`` (no pickles: ``params_from`` reads them back with
    ``allow_pickle=False``)."""
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def params_from(blob: bytes | None) -> dict | None:
    if blob is None:
        return None
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def config_from(text: str) -> TrainConfig:
    return TrainConfig(**json.loads(text))


class RunRecord:
    """One run as read from the store: every column of ``runs`` as an attribute (``config`` a
    ``TrainConfig``, ``result`` and ``meta`` dicts), without the networks; ``pending`` the
    requests its process has not acknowledged yet (``pause`` or ``resume``, the latest, and
    ``stop``)."""

    config: Any
    result: Any
    meta: Any
    status: str

    def __init__(self, row: Any, columns: list) -> None:
        self.__dict__.update(zip(columns, row))
        self.config = config_from(self.config)
        self.result = None if self.result is None else json.loads(self.result)
        self.meta = None if self.meta is None else json.loads(self.meta)
        hold, stop = self.__dict__.pop("pending_hold", None), self.__dict__.pop("pending_stop", 0)
        self.pending = [k for k in (hold, "stop" if stop else None) if k]

    @property
    def shown(self):
        """The state pages show (``runstate.shown``): "pausing" while a pause waits, and so on."""
        return runstate.shown(self.status, self.pending)


SUMMARY = (
    "seq, id, owner, label, config, data, started_from, engine, status, message, notice, n_train, estimate, host, "
    "submitted, started, ended, heartbeat, paused_seconds, paused_since, held, epoch, batch, n_batches, "
    "seconds_left, threads, pid, snapshot_epoch, meta, result, began, trained, sweep, purpose, val_acc, val_cost, test_acc, "
    "(SELECT kind FROM run_commands c WHERE c.run = runs.id AND c.done = 0 AND c.kind IN ('pause', 'resume') "
    "ORDER BY c.id DESC LIMIT 1) AS pending_hold, "
    "(SELECT count(*) FROM run_commands c WHERE c.run = runs.id AND c.done = 0 AND c.kind = 'stop') AS pending_stop"
)


def final_figures(history: list, result: dict | None) -> dict:
    """The columns a run's end writes beside its summary: its last epoch's validation accuracy and
    cost, and its test accuracy (None where there is none)."""
    last = history[-1] if history else None
    return {
        "val_acc": None if last is None else last.val_acc,
        "val_cost": None if last is None else last.val_cost,
        "test_acc": (result or {}).get("accuracy"),
    }


def plain_json(value: Any) -> Any:
    """JSON for NumPy numbers and arrays and for records."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, EpochRecord):
        return vars(value)
    raise TypeError("cannot store %r" % type(value))
