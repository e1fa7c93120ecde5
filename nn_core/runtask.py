"""The task of one run, on a Dask worker: a training callback that writes the run's events.

``train_run`` takes the run (``RunStore.begin``: it is trained once), builds its data where it
runs, and trains with a ``RunCallback``: the run's one author. The callback writes what happens,
a few times a second (progress, the cost mini-batch by mini-batch), each epoch with its network,
and answers the requests people send through the store (pause, resume, change, stop) between two
mini-batches, each acknowledged by the event that answers it (``nn_core.runstate``). A store that
cannot be reached for a while does not end the run: its reports wait and are written when the
store is back, and the run says so; after ``STORE_OUTAGE_SECONDS`` it stops, its network kept.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from . import pendigits, runstate, worker
from .estimate import ShareMeter, count_down, duration
from .model import from_run
from .runlimits import MAX_RUN_MB, BusyCores, blas_threads, cores
from .runrecord import final_figures
from .runs import RunsError, RunStore
from .runspec import RunSpec, build_training_set
from .sweeps import finder, finder_end
from .training import Callback, EpochRecord, Trainer
from .words import minutes

REPORT_EVERY = 0.25  # seconds between two progress reports of a run
HEARTBEAT_EVERY = 5.0  # seconds between two signs of life of a run, whatever it is doing
THREADS_EVERY = 2.0  # seconds between two looks at how many runs share the machine, and how busy it is
FIRST_SNAPSHOT = 5  # mini-batches into the first epoch, the network is kept for the pages to show
STORE_OUTAGE_SECONDS = 120.0  # a run that cannot reach its store for longer stops (its reports would be lost)


class RunCallback(Callback):
    """One run being trained: the callback that writes its events and obeys its requests."""

    def __init__(self, store: RunStore, run_id: str, limits: tuple[float, float]):
        super().__init__()
        self.store, self.id = store, run_id
        self.max_seconds, self.max_pause = limits
        self.events: list = []
        self.columns: dict = {}
        self.done: list = []  # requests acknowledged by the next report
        self.seen: set = set()  # every request read
        self.stopping: list = []  # stop requests, acknowledged when the run has ended
        self.changing: list = []  # change requests, acknowledged when the trainer has made them
        self.reported = self.requests_read = self.threads_set = 0.0
        self.epoch_sum = self.epoch_seen = 0.0  # the epoch's mini-batch costs so far, weighted by size
        self.paused_seconds = 0.0
        self.paused_since: float | None = None
        self.started = time.time()
        self.ended_early: str | None = None
        self.left: tuple | None = None
        self.pace_from: tuple | None = None
        self.trainer: Any = None  # the run's ``Trainer``, once its data is built
        self.threads: int | None = None  # the BLAS threads it was told to use
        self.busy = BusyCores()  # how many cores other processes keep busy
        self.host = socket.gethostname()
        self.store_down: float | None = None  # since when the store could not be reached

    # -- writing -------------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Seconds of training so far, pauses left out."""
        now = time.time()
        return now - self.started - self.paused_seconds - (now - self.paused_since if self.paused_since else 0.0)

    def flush(self, **columns: Any) -> bool:
        """Write what is waiting (events, acknowledged requests, columns) in one transaction.
        When the store cannot be reached it all waits for the next try; False then."""
        self.columns.update(columns)
        self.reported = time.monotonic()
        try:
            self.store.report(self.id, self.events, done=self.done, **self.columns)
        except RunsError:
            if self.store_down is None:
                self.store_down = time.monotonic()
            elif time.monotonic() - self.store_down > STORE_OUTAGE_SECONDS and not self.stop_training:
                self.ended_early = (
                    "Stopped: the database could not be reached for over %s, so its progress could not be "
                    "recorded. Its network so far is kept." % duration(STORE_OUTAGE_SECONDS)
                )
                self.stop_training = True
            return False
        self.events, self.columns, self.done = [], {}, []
        if self.store_down is not None:
            gone, self.store_down = time.monotonic() - self.store_down, None
            self.flush(
                notice="The database could not be reached for %s: the run went on training, and what it did "
                "meanwhile was written when the database came back." % duration(gone)
            )
        return True

    def finish(self, **columns: Any) -> None:
        """The last report: the run's end, its pause (if it ended paused) counted as paused time,
        and its stop requests acknowledged; tried again while the store cannot be reached."""
        if self.paused_since is not None:
            self.paused_seconds += time.time() - self.paused_since
            self.paused_since = None
        self.done.extend(self.stopping + self.changing)
        columns.update(ended=time.time(), held=0, paused_seconds=self.paused_seconds, paused_since=None, seconds_left=None)
        deadline = time.monotonic() + STORE_OUTAGE_SECONDS
        while not self.flush(**columns) and time.monotonic() < deadline:
            time.sleep(1.0)

    # -- the trainer's callback ----------------------------------------------------------------
    def on_batch(self, epoch: int, batch: int, n_batches: int, cost: float, size: int) -> None:
        """The cost so far in the epoch: the mean of its mini-batches, each weighted by its size,
        which is how the epoch's own training cost is measured: the line ends on its point."""
        if batch == 1:
            self.epoch_sum = self.epoch_seen = 0.0
        self.epoch_sum += cost * size
        self.epoch_seen += size
        trainer = self.trainer
        if epoch == 1 and batch == FIRST_SNAPSHOT and batch < n_batches:
            # The network a few mini-batches in, for "the network training now", long before the first epoch ends.
            self.columns.update(snapshot=trainer.params, snapshot_epoch=0)
        if time.monotonic() - self.reported >= REPORT_EVERY or batch == n_batches or "snapshot" in self.columns:
            progress = ((epoch - 1) * n_batches + batch) / (trainer.config.epochs * n_batches)
            self.events.append(("batch", [epoch - 1 + batch / n_batches, self.epoch_sum / self.epoch_seen]))
            self.flush(epoch=epoch, batch=batch, n_batches=n_batches, seconds_left=self.seconds_left(progress))

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.events.append(("epoch", vars(record)))
        self.flush(snapshot=self.trainer.snapshot, snapshot_epoch=record.epoch)

    def on_change(self, made: list) -> None:
        self.events.extend(("change", m) for m in made)
        self.done.extend(self.changing)
        self.changing = []
        self.flush(config=self.trainer.config)

    def before_batch(self) -> None:
        """Answer the requests people sent; while paused, wait here (between two mini-batches)."""
        while True:
            now = time.monotonic()
            if now - self.requests_read >= REPORT_EVERY or self.paused_since:
                self.requests_read = now
                try:
                    for request, kind, body in self.store.commands(self.id):
                        if request not in self.seen:
                            self.seen.add(request)
                            self.answer(request, kind, body)
                    self.check_limits()
                    self.share_cores()
                except RunsError:  # the store is away: training goes on, its reports wait (``flush``)
                    pass
            if self.paused_since is None or self.stop_training:
                return
            time.sleep(0.1)

    def answer(self, request: int, kind: str, body: Any) -> None:
        """Answer one request as the run's state allows (``runstate.answer``)."""
        state = runstate.PAUSED if self.paused_since else runstate.RUNNING
        if runstate.answer(state, kind).action != runstate.SEND:
            self.done.append(request)  # it does not apply (a second pause): acknowledged, nothing moves
        elif kind == "stop":
            self.stop_training = True
            self.stopping.append(request)
        elif kind == "pause":
            self.paused_since = time.time()
            self.done.append(request)
            self.events.append((runstate.PAUSED_EVENT, None))
            self.flush(paused_since=self.paused_since)
        elif kind == "resume" and self.paused_since is not None:
            self.paused_seconds += time.time() - self.paused_since
            self.paused_since, self.pace_from, self.left = None, None, None
            self.done.append(request)
            self.events.append((runstate.RESUMED, None))
            self.flush(paused_since=None, paused_seconds=self.paused_seconds)
        elif kind == "change":
            self.pending.update(body)
            self.changing.append(request)

    def seconds_left(self, progress: float) -> float | None:
        """From the run's own pace since training got going (start-up left out), counted down
        steadily instead of jumping with each reading; None until there is a pace to go by."""
        now = self.elapsed()
        if self.pace_from is None:
            self.pace_from = (now, progress)
            return None
        then, p0 = self.pace_from
        if progress <= p0 or now - then < 1.0 or (progress - p0 < 0.01 and now - then < 3.0):
            return None  # a second of pace at least, three unless it is a hundredth of the run
        self.left = count_down(self.left, (1 - progress) * (now - then) / (progress - p0), now)
        return self.left[0]

    def check_limits(self) -> None:
        """Stop a run that has trained longer than the server allows, or that has been paused for
        ``max_pause`` seconds while others wait for a place (its network is kept)."""
        if self.stop_training:
            return
        if self.elapsed() > self.max_seconds:
            self.ended_early = "Stopped: it reached this server's limit of %s of training. Its network so far is kept." % minutes(
                self.max_seconds / 60
            )
            self.stop_training = True
        elif self.paused_since and time.time() - self.paused_since > self.max_pause and self.store.waiting():
            self.ended_early = (
                "Stopped: it was paused for over %s while others waited, so its place went to the next run. "
                "Its network so far is kept." % duration(self.max_pause)
            )
            self.stop_training = True

    def share_cores(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.threads_set > THREADS_EVERY:
            self.threads_set = now
            step = self.trainer and self.trainer.step_operations  # (None until the data is built)
            threads = blas_threads(self.store.busy_here(self.host), self.busy.look(first=force), step)
            if threads != self.threads:
                if self.threads is not None:  # its pace changes: the time left starts again
                    self.pace_from = self.left = None
                self.threads = threads
                if threads != worker.threads_in_use():  # (setting the same again cost a tenth of the speed: bench/engine.py)
                    worker.use_threads(threads)
                self.columns["threads"] = worker.threads_in_use()


def train_run(store_path: str, run_id: str, spec: RunSpec, params: dict | None, limits: tuple[float, float]) -> str:
    """The Dask task of one run: train ``spec``, starting from ``params`` if given, writing everything to the run store at
    ``store_path``, within ``limits`` (the longest training and the longest pause while others wait, in seconds: the app
    server's, so that one home sets them). Returns the run's status. A run that is not waiting any more (cancelled, or
    taken before by a worker that died) is not started; a rate finder (``spec.purpose``) is steered by ``sweeps.finder``."""
    store = RunStore(store_path)
    if not store.begin(run_id):
        return "not started"
    worker.lower_priority()
    ceiling = worker.limit_memory(MAX_RUN_MB)  # a wrong estimate fails this run, not the machine
    task = RunCallback(store, run_id, limits)
    alive = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, run_id, alive), name="run-heartbeat", daemon=True)
    beat.start()
    try:
        task.flush(pid=os.getpid())
        try:
            folder: Any = spec.data.data_dir  # None: the default folder
            data = build_training_set(spec, pen_images=lambda *drawn: pendigits.cached_for_training(folder, *drawn))
            task.trainer = Trainer(spec.config, data.images, data.labels, params=params, groups=data.groups)
            del data.images, data.labels, data.groups, params  # the trainer has its own split copies
        except MemoryError:
            raise
        except Exception as exc:  # shown to the person rather than lost in a worker's log
            task.finish(status="failed", message="Could not build the training data: %s" % exc)
            return "failed"
        task.share_cores(force=True)  # once its mini-batch's size is known (small ones train on one thread)
        task.started = time.time()  # the time limit and the time left count training, not the data's assembly
        meter = ShareMeter(cores())  # how much of the machine it gets: what the next estimates learn from
        task.flush(n_train=task.trainer.n_train, data=data.source, started=task.started)
        trainer = task.trainer
        callback = finder(task, spec.purpose)  # the task itself, or a rate finder wrapped around it
        for _ in trainer.run(callback):
            pass
        task.flush(trained=time.time())
        share = meter.share()
        model, result = from_run(
            trainer,
            task.elapsed(),
            data.test_images,
            data.test_labels,
            command="the app",
            data=data.source,
            started_from=spec.started_from,
        )
        if share is not None:
            model.meta["machine_share"] = round(share, 3)
        status, message = finder_end(callback, task, task.ended_early or trainer.message, model.meta)
        task.finish(
            status=status,
            message=message,
            params=model.params,
            meta=model.meta,
            result=result,
            **final_figures(trainer.history, result),
        )
        return trainer.status
    except MemoryError:  # its own ceiling: the arrays go, the limit is lifted, and the person is told in words
        worker.lift_memory_limit(ceiling)
        ceiling = task.trainer = None
        task.finish(status="failed", message=worker.out_of_memory(MAX_RUN_MB))
        return "failed"
    except Exception as exc:  # shown to the person rather than lost in a worker's log
        task.finish(status="failed", message="Training failed: %s: %s" % (type(exc).__name__, exc))
        return "failed"
    finally:
        alive.set()
        worker.lift_memory_limit(ceiling)


def _heartbeat(store: RunStore, run_id: str, done: threading.Event) -> None:
    """A sign of life every ``HEARTBEAT_EVERY`` seconds, even while the data is built or the run is
    paused, so that readers can tell a run that is slow from one whose process is gone."""
    while not done.wait(HEARTBEAT_EVERY):
        try:
            store.report(run_id)
        except Exception:  # a busy store: the next beat will do
            pass
