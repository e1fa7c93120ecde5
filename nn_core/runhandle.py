"""A handle on one run, for the pages: what it is doing and has done, and the requests they send.

Any process can make one from the run's id: everything is in the run store, which is what makes a
person's runs survive a reload, a new tab and a restart of the app server. Its state is the one
the run's events add up to, with the requests it has not acknowledged yet (``runstate.shown``).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from . import runstate
from .model import Model
from .runstate import ACTIVE
from .training import EpochRecord, batch_size

MAX_BATCH_POINTS = 2000  # the mini-batch cost line shows at most this many points (thinned out evenly)


class Run:
    """A handle on one run, read from the store (at most every ``FRESH`` seconds): what the
    pages show and the requests they send. ``runner`` is the ``Runner`` that sends them."""

    FRESH = 0.2

    def __init__(self, runner: Any, run_id: str, record: Any = None) -> None:
        self.runner, self.id = runner, run_id
        self._record, self._read = record, time.monotonic() if record is not None else 0.0
        self._last_event = 0
        self._history: list[EpochRecord] = []
        self._batch_costs: list[tuple] = []
        self._changes: list[dict] = []
        self._rates: list[tuple] = []  # a rate finder's (rate, cost) per mini-batch
        self._events_for = None  # the record after whose reading the events were last read

    def __eq__(self, other):
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def refresh(self, record):
        """Take ``record`` (just read from the store) as the run's state."""
        self._record, self._read = record, time.monotonic()

    def _state(self):
        if self._record is None or time.monotonic() - self._read > self.FRESH:
            self.refresh(self.runner.store.get(self.id))
        if self._events_for is self._record or self._record.status == "queued":
            return self._record  # the events are read once per reading of the record, not on every property
        self._events_for = self._record
        for event_id, kind, body in self.runner.store.events(self.id, self._last_event):
            self._last_event = event_id
            if kind == "batch":
                self._batch_costs.append(tuple(body))
            elif kind == "epoch":
                self._history.append(EpochRecord(**body))
            elif kind == "change":
                self._changes.append(body)
            elif kind == "rate":
                self._rates.append(tuple(body))
        return self._record

    # -- commands ----------------------------------------------------------------------------
    def pause(self):
        self.runner.send(self.id, "pause")
        self._record = None

    def resume(self):
        self.runner.send(self.id, "resume")
        self._record = None

    def change(self, **settings):
        """New ``rate`` and/or ``lamda`` from the next mini-batch on; False if the run has ended."""
        if not self.running:
            return False
        sent = self.runner.send(self.id, "change", **settings)
        self._record = None
        return sent

    def stop(self):
        self.runner.send(self.id, "stop")
        self._record = None

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end (a waiting run waits for its turn too); True if it has."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    # -- reads -------------------------------------------------------------------------------
    @property
    def label(self):
        return self._state().label

    @label.setter
    def label(self, name):
        self.runner.store.rename(self.id, name)
        self._record = None

    config = property(lambda self: self._state().config)
    owner = property(lambda self: self._state().owner)
    started_from = property(lambda self: self._state().started_from)
    estimate = property(lambda self: self._state().estimate or 0.0)
    source = property(lambda self: self._state().data)
    notice = property(lambda self: self._state().notice)
    result = property(lambda self: self._state().result)
    threads_in_use = property(lambda self: self._state().threads)
    purpose = property(lambda self: self._state().purpose)  # "train", or "find-rate" for a rate finder
    sweep = property(lambda self: self._state().sweep)  # the id of the sweep it is part of, or None
    pid = property(lambda self: self._state().pid)

    @property
    def n_train(self):
        return self._state().n_train

    @property
    def status(self):
        """The state pages show (``runstate.shown``): the run's own, or "pausing", "resuming" or
        "stopping" while a request waits for it to acknowledge."""
        return self._state().shown

    @property
    def message(self):
        return self._state().message

    @property
    def running(self):
        """True while it trains or waits to."""
        return self._state().status in ACTIVE

    @property
    def preparing(self):
        """True while its process builds the training data (taken, not training yet)."""
        r = self._state()
        return r.status == runstate.RUNNING and r.started is None

    @property
    def queued(self):
        return self._state().status == "queued"

    @property
    def paused(self):
        """True once the run has acknowledged a pause (it waits between two mini-batches)."""
        return self._state().status == runstate.PAUSED

    held = paused

    @property
    def ahead(self):
        """How many waiting runs will start before this one (None once it has started)."""
        record = self._state()
        return self.runner.store.ahead(record.seq) if record.status == "queued" else None

    @property
    def waited(self):
        """Seconds since it was asked for, while it waits (None once it has started)."""
        record = self._state()
        return time.time() - record.submitted if record.status == "queued" else None

    @property
    def history(self):
        self._state()
        return list(self._history)

    @property
    def changes(self):
        self._state()
        return list(self._changes)

    @property
    def batch_costs(self):
        """``(position in epochs, the epoch's mean training cost so far)`` pairs, at most ``MAX_BATCH_POINTS``."""
        self._state()
        points = self._batch_costs
        step = -(-len(points) // MAX_BATCH_POINTS)
        return points[::step] if step > 1 else list(points)

    @property
    def batch_size(self):
        return batch_size(self.config.mini_batch, self.n_train or 0)

    @property
    def trained(self):
        """Whether it ended with a network to save and measure: finished, or stopped with its
        network so far (in its first epoch too: the test accuracy shown is that network's)."""
        return self.result is not None

    @property
    def elapsed(self):
        """Seconds of training so far (pauses left out)."""
        r = self._state()
        if r.started is None:
            return 0.0
        end = r.ended or time.time()
        paused = r.paused_seconds + (end - r.paused_since if r.paused_since else 0.0)
        return max(0.0, end - r.started - paused)

    @property
    def progress(self):
        """Fraction of all mini-batches of all epochs done, in [0, 1]."""
        r = self._state()
        if r.epoch == 0:
            return 0.0
        return min(1.0, ((r.epoch - 1) * r.n_batches + r.batch) / (r.config.epochs * r.n_batches))

    @property
    def seconds_left(self):
        r = self._state()
        return r.seconds_left if r.status == runstate.RUNNING else None

    @property
    def has_network(self):
        """Whether there is a network to show yet: a few mini-batches in, or once it has ended."""
        r = self._state()
        return r.snapshot_epoch is not None or (r.status not in ACTIVE and r.status != "cancelled" and bool(self._history))

    @property
    def snapshot(self):
        """The network at the end of the last complete epoch (the final one once it has ended)."""
        r = self._state()
        if r.status not in ACTIVE:
            return self.model().params
        return _network(self.runner.store, self.id, False, r.snapshot_epoch)

    def finder(self):
        """A rate finder's result (``ratefinder.FinderResult``: rates, costs, smoothed costs and the
        suggestion): once it has ended, what it found; while it runs, what it has measured so far;
        None for an ordinary run, or before its first mini-batch."""
        from .ratefinder import FinderResult

        r = self._state()
        if r.purpose != "find-rate":
            return None
        if r.status not in ACTIVE and r.meta and "finder" in r.meta:
            return FinderResult.from_dict(r.meta["finder"])
        rates = [rate for rate, _ in self._rates]
        return FinderResult.of(rates, [cost for _, cost in self._rates], r.message) if rates else None

    def model(self):
        """The trained network as a ``Model`` with its metadata once the run has ended; before,
        the network as it was at the end of the last complete epoch."""
        r = self._state()
        if r.status not in ACTIVE:
            params = _network(self.runner.store, self.id, True, None)
            if params is None:  # it ended without a final network (failed, cancelled): its last epoch's
                return Model(
                    r.config.layer_data, _network(self.runner.store, self.id, False, r.snapshot_epoch), {"status": r.status}
                )
            return Model(r.config.layer_data, params, r.meta or {})
        return Model(r.config.layer_data, self.snapshot, {"status": self.status})


_networks: collections.OrderedDict = (
    collections.OrderedDict()
)  # (store, run, final, epoch) -> params: the last few read, for every session
_networks_lock = threading.Lock()
NETWORKS_KEPT = 8


def _network(store, run_id, final, epoch):
    """A run's network (``RunStore.network``), read once for every session of this process: a
    cache per session would hold megabytes for each of the closed tabs Streamlit keeps."""
    key = (store.where, run_id, final, epoch)
    with _networks_lock:
        if key in _networks:
            _networks.move_to_end(key)
            return _networks[key]
    params = store.network(run_id, final=final)
    with _networks_lock:
        _networks[key] = params
        while len(_networks) > NETWORKS_KEPT:
            _networks.popitem(last=False)
    return params
