"""Training runs on Dask: asked for by anyone, trained by a worker, shown by any process.

A ``Runner`` takes a ``RunSpec`` (settings and a data recipe, no images), records the run in the
run store (``runs.RunStore``) and hands it to Dask distributed, which starts it on a free worker,
first asked first started (each run's task has the priority of its place in the store). The task,
``train_run``, builds the training set where it runs (``runspec.build_training_set``), trains,
and writes what it does to the store: progress and the cost mini-batch by mini-batch a few times a
second (the epoch's mean cost so far), each epoch's record and network, changes of rate or lamda, and at the end the network
with its metadata and test result. Commands (pause, resume, new rate or lamda, stop) go the other
way through the store, read by the task between mini-batches: Dask cannot interrupt a running
task, so stopping is cooperative; a run that waits is cancelled at once. ``Run`` is a handle on
one run that any process can build from its id (the store says everything), which is what makes a
person's runs survive a reload, a new tab and a restart of the app server.

Where the workers are:
- by default (no ``NN_CORE_DASK_ADDRESS``) each server process starts one ``LocalCluster`` the
  first time a run is asked for: 127.0.0.1 only, no dashboard, one worker per core with one
  thread each. A laptop needs nothing else. A run waiting there when the server stops is cancelled;
  one training is lost with it (marked failed, its curves and last network kept);
- ``NN_CORE_DASK_ADDRESS=tcp://host:8786``: a running ``dask scheduler`` with ``dask worker``s,
  on this machine or others; runs then outlive the app server.

Fairness: one run training or waiting per person (``runs.Busy``), the number of runs ahead of
one from the store's order, a run longer than ``max_minutes()`` refused before it starts and
stopped if it trains longer, a run paused for ``max_pause_seconds()`` while others wait stopped
(its network kept). Every thread of a run trains below the web server's priority
(``worker.lower_priority``), and a run shares its machine's cores with the others training there.
"""

import collections
import dataclasses
import logging
import os
import socket
import threading
import time

from . import drawings, pendigits, worker
from .model import Model, from_run
from .runs import ACTIVE, RunStore
from .runspec import build_training_set, check_size, memory_needed, planned_images
from .training import EpochRecord, Trainer, check_live, estimated_seconds

ADDRESS_ENV = "NN_CORE_DASK_ADDRESS"
MAX_MINUTES_ENV = "NN_CORE_MAX_RUN_MINUTES"
DEFAULT_MAX_MINUTES = 120
MAX_PAUSE_ENV = "NN_CORE_MAX_PAUSE_MINUTES"
DEFAULT_MAX_PAUSE_MINUTES = 3
MAX_RUN_MB = 1500  # what one run's process may hold (``runspec.memory_needed``)
MAX_BATCH_POINTS = 2000  # the mini-batch cost line shows at most this many points (thinned out evenly)
LEFT_SMOOTHING = 0.1  # weight of each new reading in the smoothed time left
REPORT_EVERY = 0.25  # seconds between two progress reports of a run
HEARTBEAT_EVERY = 5.0  # seconds between two signs of life of a run, whatever it is doing
THREADS_EVERY = 2.0  # seconds between two looks at how many runs share the machine
# Without finished runs to go by (bench/estimate.py measures them on this machine):
STARTUP_SECONDS = 1.0  # a worker building the run's data (MNIST read, the pen-drawn digits from their cache)
CLUSTER_SECONDS = 1.0  # the embedded cluster starting, the first time a server sends a run
TEST_SECONDS = 0.5  # measuring the network on the 10,000 test images
PACE = 1.2  # training time over ``estimated_seconds``: per-step costs the arithmetic leaves out
FIRST_SNAPSHOT = 5  # mini-batches into the first epoch, the network is kept for the pages to show


def _minutes(name, default):
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return float(default)
    return value if value > 0 else float(default)


def max_minutes():
    """The longest run this server accepts, in minutes (``NN_CORE_MAX_RUN_MINUTES``, default 120)."""
    return _minutes(MAX_MINUTES_ENV, DEFAULT_MAX_MINUTES)


def max_pause_seconds():
    """How long a run may stay paused while others wait (``NN_CORE_MAX_PAUSE_MINUTES``, default 3)."""
    return 60 * _minutes(MAX_PAUSE_ENV, DEFAULT_MAX_PAUSE_MINUTES)


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def blas_threads(running):
    """BLAS threads for each of ``running`` runs on one machine: its cores shared among them."""
    return max(1, cores() // max(1, running))


class TooLong(ValueError):
    """Refused: the run's estimated time is above the server's limit."""


class RunnerError(RuntimeError):
    """The training cluster could not be reached or used; the message says so in words."""


# -- the task, on a Dask worker ------------------------------------------------------------------
class _Task:
    """One run being trained: what ``train_run`` keeps between two mini-batches."""

    def __init__(self, store, run_id, spec, limits):
        self.store, self.id, self.spec = store, run_id, spec
        self.max_seconds, self.max_pause = limits
        self.events, self.columns = [], {}
        self.reported = self.commands_read = self.threads_set = 0.0
        self.epoch_sum = self.epoch_seen = 0.0  # the epoch's mini-batch costs so far, weighted by size
        self.paused_seconds, self.paused_since = 0.0, None
        self.started = time.time()
        self.stop = threading.Event()
        self.ended_early = None
        self.left = self.pace_from = None
        self.trainer = None
        self.threads = None  # the BLAS threads it was told to use
        self.host = socket.gethostname()

    def elapsed(self):
        now = time.time()
        return now - self.started - self.paused_seconds - (now - self.paused_since if self.paused_since else 0.0)

    def flush(self, **columns):
        self.columns.update(columns)
        self.store.report(self.id, self.events, **self.columns)
        self.events, self.columns = [], {}
        self.reported = time.monotonic()

    def share_cores(self, force=False):
        now = time.monotonic()
        if force or now - self.threads_set > THREADS_EVERY:
            self.threads_set = now
            threads = blas_threads(self.store.busy_here(self.host))
            if threads != self.threads:
                self.threads = threads
                # Only when it changes what BLAS uses: setting the same number again cost a run alone
                # (all cores, as OpenBLAS starts) a tenth of its speed (bench/engine.py).
                if threads != worker.threads_in_use():
                    worker.use_threads(threads)
                self.columns["threads"] = worker.threads_in_use()

    def on_batch(self, epoch, batch, n_batches, cost):
        """The cost so far in the epoch: the mean of its mini-batches, each weighted by its size,
        which is how the epoch's own training cost is measured: the line ends on its point."""
        if batch == 1:
            self.epoch_sum = self.epoch_seen = 0.0
        size = min(self.trainer.batch_size, self.trainer.n_train - (batch - 1) * self.trainer.batch_size)
        self.epoch_sum += cost * size
        self.epoch_seen += size
        if epoch == 1 and batch == FIRST_SNAPSHOT and batch < n_batches:
            # The network a few mini-batches in, for "the network training now", long before the first epoch ends.
            self.columns.update(snapshot=self.trainer.params, snapshot_epoch=0)
        if time.monotonic() - self.reported >= REPORT_EVERY or batch == n_batches or "snapshot" in self.columns:
            config = self.trainer.config
            progress = ((epoch - 1) * n_batches + batch) / (config.epochs * n_batches)
            self.events.append(("batch", [epoch - 1 + batch / n_batches, self.epoch_sum / self.epoch_seen]))
            self.flush(epoch=epoch, batch=batch, n_batches=n_batches, seconds_left=self.seconds_left(progress))

    def seconds_left(self, progress):
        """From the pace since training got going (start-up left out), counted down steadily
        instead of jumping with each reading; None until there is a pace to go by."""
        now = self.elapsed()
        if self.pace_from is None:
            self.pace_from = (now, progress)
            return None
        then, p0 = self.pace_from
        if progress - p0 < 0.01 or now - then < 1.0:
            return None
        self.left = count_down(self.left, (1 - progress) * (now - then) / (progress - p0), now)
        return self.left[0]

    def control(self):
        """Obey the commands people sent; while paused, wait here (between two mini-batches)."""
        while True:
            now = time.monotonic()
            if now - self.commands_read >= REPORT_EVERY or self.paused_since:
                self.commands_read = now
                for kind, body in self.store.commands(self.id):
                    self.obey(kind, body)
                self.check_limits()
                self.share_cores()
            if self.paused_since is None or self.stop.is_set():
                return
            time.sleep(0.1)

    def obey(self, kind, body):
        if kind == "pause" and self.paused_since is None:
            self.paused_since = time.time()
            self.flush(held=1, paused_since=self.paused_since, status="paused")
        elif kind == "resume" and self.paused_since is not None:
            self.paused_seconds += time.time() - self.paused_since
            self.paused_since, self.pace_from, self.left = None, None, None
            self.flush(held=0, paused_since=None, paused_seconds=self.paused_seconds, status="running")
        elif kind == "stop":
            self.stop.set()
        elif kind == "change":
            try:
                made = self.trainer.change(**body)
            except ValueError as exc:
                self.flush(notice=str(exc))
            else:
                self.events.extend(("change", m) for m in made)
                self.flush(config=self.trainer.config)

    def check_limits(self):
        """Stop a run that has trained longer than the server allows, or that has been paused for
        ``max_pause_seconds()`` while others wait for a place (its network is kept)."""
        if self.stop.is_set():
            return
        if self.elapsed() > self.max_seconds:
            self.ended_early = ("Stopped: it reached this server's limit of %g minutes of training. Its network so far is kept."
                                % (self.max_seconds / 60))
            self.stop.set()
        elif self.paused_since and time.time() - self.paused_since > self.max_pause and self.store.waiting():
            self.ended_early = ("Stopped: it was paused for over %s while others waited, so its place went to the next run. "
                                "Its network so far is kept." % duration(self.max_pause))
            self.stop.set()


def train_run(store_path, run_id, spec, params, limits):
    """The Dask task of one run: train ``spec`` (a ``RunSpec``), starting from ``params`` if
    given, writing everything to the run store at ``store_path``, within ``limits`` (the longest
    training and the longest pause while others wait, in seconds: the app server's, so that one
    home sets them). Returns the run's status. A run
    that is not waiting any more (cancelled, or taken before by a worker that died) is not started."""
    store = RunStore(store_path)
    if not store.begin(run_id):
        return "not started"
    worker.lower_priority()
    ceiling = worker.limit_memory(MAX_RUN_MB)  # a wrong estimate fails this run, not the machine
    task = _Task(store, run_id, spec, limits)
    alive = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, run_id, alive), name="run-heartbeat", daemon=True)
    beat.start()
    try:
        task.share_cores(force=True)
        task.flush(pid=os.getpid())
        try:
            data = build_training_set(spec, pen_images=lambda *drawn: pendigits.cached_for_training(spec.data.data_dir, *drawn))
            task.trainer = Trainer(spec.config, data.images, data.labels, params=params, groups=data.groups)
            del data.images, data.labels, data.groups, params  # the trainer has its own split copies
        except MemoryError:
            raise
        except Exception as exc:  # shown to the person rather than lost in a worker's log
            task.flush(status="failed", message="Could not build the training data: %s" % exc, ended=time.time())
            return "failed"
        task.started = time.time()  # the time limit and the time left count training, not the data's assembly
        task.flush(n_train=task.trainer.n_train, data=data.source, started=task.started)
        trainer = task.trainer
        for record in trainer.run(stop=task.stop, on_batch=task.on_batch, control=task.control):
            task.events.append(("epoch", vars(record)))
            task.flush(snapshot=trainer.snapshot, snapshot_epoch=record.epoch)
        task.flush(trained=time.time())
        model, result = from_run(trainer, task.elapsed(), data.test_images, data.test_labels, command="the app",
                                 data=data.source, started_from=spec.started_from)
        task.flush(status=trainer.status, message=task.ended_early or trainer.message, params=model.params, meta=model.meta,
                   result=result, ended=time.time(), held=0, paused_seconds=task.paused_seconds, paused_since=None,
                   seconds_left=None)
        return trainer.status
    except MemoryError:  # its own ceiling: the arrays go, the limit is lifted, and the person is told in words
        worker.lift_memory_limit(ceiling)
        ceiling = task.trainer = None
        try:
            task.flush(status="failed", message=worker.out_of_memory(MAX_RUN_MB), ended=time.time())
        except Exception:  # the store itself is unusable: readers mark the run lost once its heartbeat stops
            pass
        return "failed"
    except Exception as exc:  # shown to the person rather than lost in a worker's log
        try:
            task.flush(status="failed", message="Training failed: %s: %s" % (type(exc).__name__, exc), ended=time.time())
        except Exception:  # the store itself is unusable: readers mark the run lost once its heartbeat stops
            pass
        return "failed"
    finally:
        alive.set()
        worker.lift_memory_limit(ceiling)


def _heartbeat(store, run_id, done):
    """A sign of life every ``HEARTBEAT_EVERY`` seconds, even while the data is built or the run is
    paused, so that readers can tell a run that is slow from one whose process is gone."""
    while not done.wait(HEARTBEAT_EVERY):
        try:
            store.report(run_id)
        except Exception:  # a busy store: the next beat will do
            pass


# -- the app's side -----------------------------------------------------------------------------
class Runner:
    """Sends runs to Dask and reads them back (see the module's description). One per server
    process is enough (``shared()``); it may be used from many threads."""

    _shared = None
    _shared_lock = threading.Lock()

    def __init__(self, store=None, address=None):
        self._store = store
        self.address = address if address is not None else (os.environ.get(ADDRESS_ENV) or None)
        self._client = self._cluster = None
        self._lock = threading.Lock()
        self._futures = {}

    @classmethod
    def shared(cls):
        """The process's runner, made on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def store(self):
        """The run store: the one given, else the one the environment names now (opened per use)."""
        return self._store if self._store is not None else RunStore()

    @property
    def engine(self):
        """Where this runner sends runs: its scheduler's address, or its embedded cluster."""
        return self.address or "embedded:%s:%d" % (socket.gethostname(), os.getpid())

    def client(self):
        """The Dask client, connected (and the embedded cluster started) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self):
        import dask
        from distributed import Client, LocalCluster

        try:
            if self.address:
                return Client(self.address, timeout="10s", set_as_default=False)
            worker.keep_main_out_of_children()
            with dask.config.set({
                # A run that fails, fails once, with its reason: it is not tried again on another worker.
                "distributed.scheduler.allowed-failures": 0,
                # The nanny's MALLOC_TRIM_THRESHOLD_ made epochs 2-3x slower than in a plain process,
                # and its one-BLAS-thread settings would hold a run alone to one core.
                "distributed.nanny.pre-spawn-environ": {},
                # The workers' statistical profiler takes the interpreter from the training 100 times a second.
                "distributed.worker.profile.enabled": False,
            }):
                # No dashboard; the scheduler's small HTTP server (health checks) takes any free port of
                # 127.0.0.1, so that two servers on one machine do not fight over 8787.
                self._cluster = LocalCluster(n_workers=cores(), threads_per_worker=1, processes=True, host="127.0.0.1",
                                             dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
            return Client(self._cluster, set_as_default=False)
        except Exception as exc:
            raise RunnerError("could not reach the training cluster%s: %s" % (
                " at %s (%s)" % (self.address, ADDRESS_ENV) if self.address else "", exc)) from exc

    def close(self):
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None

    # -- asking for runs ----------------------------------------------------------------------
    def check(self, spec):
        """Refuse, before anything is recorded, a run with bad settings or above the server's
        ceilings (``ValueError``; ``TooLong`` for its time). Returns ``(n_train, estimate)``."""
        config = spec.config
        planned = planned_images(spec)
        config.validate(n_available=planned["base_total"])
        check_size(spec, planned)
        need = memory_needed(config, planned["total"])
        if need > MAX_RUN_MB * 2**20:
            raise ValueError("this run would need about %.1f GB of memory, more than the %.1f GB a run may use here. "
                             "Smaller layers, a smaller mini_batch or fewer training images need less."
                             % (need / 2**30, MAX_RUN_MB / 1024))
        estimate = estimated_seconds(config, planned["trained"])
        if estimate > 60 * max_minutes():
            raise TooLong(
                "this run would take about %s on this server, and runs here may take at most %g minutes (%s). "
                "Fewer epochs, a larger mini_batch, fewer training images or smaller layers make it shorter."
                % (duration(estimate), max_minutes(), MAX_MINUTES_ENV))
        return planned["trained"], estimate

    def submit(self, spec, params=None):
        """Record the run and send it to the cluster; returns its ``Run``. Raises ``ValueError``
        (see ``check``), ``runs.Busy`` if its owner has a run that has not ended, ``RunnerError``
        if the cluster cannot be reached (the run is then marked failed, with the reason)."""
        from distributed import fire_and_forget

        n_train, estimate = self.check(spec)
        if spec.data.drawings_of is not None and spec.data.drawings_db is None:
            # The files a run reads are named where it is asked for: a worker's environment is the
            # one it was started with, and may be another machine's.
            spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data, drawings_db=str(drawings.database_path())))
        source = spec.data.arrays[5] if spec.data.arrays is not None else ""
        run_id, seq = self.store.add(spec.config, spec.label, owner=spec.owner, data=source, started_from=spec.started_from,
                                     estimate=estimate, n_train=n_train, engine=self.engine)
        try:
            client = self.client()
            limits = (60 * max_minutes(), max_pause_seconds())
            if params is not None:  # megabytes of weights travel beside the task, not inside its description
                params = client.scatter(params, hash=False)
            future = client.submit(train_run, self.store.where, run_id, spec, params, limits, key="nn-core-run-" + run_id,
                                   pure=False, priority=-seq, retries=0)
        except Exception as exc:
            self.store.fail(run_id, "Not started: %s" % exc)
            raise exc if isinstance(exc, RunnerError) else RunnerError(str(exc)) from exc
        fire_and_forget(future)  # the run goes on when this process (and its client) goes away
        with self._lock:
            self._futures[run_id] = future
        future.add_done_callback(self._ended)
        return Run(self, run_id)

    def _ended(self, future):
        """A run's task ended: if it did not end by itself (its worker died), say so."""
        run_id = future.key[len("nn-core-run-"):]
        with self._lock:
            self._futures.pop(run_id, None)
        if future.status == "error":
            self.store.fail(run_id, "Training stopped: the worker training it went away (%s: it may have run out of memory, "
                                    "or its machine was shut down). Its curves and its network at the end of its last epoch "
                                    "are kept; it was not started again." % type(future.exception()).__name__)

    def send(self, run_id, kind, **body):
        """Ask a run for something: ``pause``, ``resume``, ``change`` (``rate=``, ``lamda=``;
        ``ValueError`` for a value out of range) or ``stop`` (a waiting run is cancelled)."""
        if kind == "change":
            body = check_live(**body)
            record = self.store.get(run_id)
            if record.status == "queued":
                for name, value in body.items():
                    setattr(record.config, name, value)
                self.store.set_config(run_id, record.config)
                return
        if kind == "stop" and self.cancel(run_id):
            return
        self.store.command(run_id, kind, body)

    def cancel(self, run_id):
        """Cancel a run that waits; True if it did."""
        if not self.store.cancel(run_id, "Cancelled before it started."):
            return False
        if self._client is not None:
            from distributed import Future

            Future("nn-core-run-" + run_id, self._client).cancel()
        return True

    def events(self, run_id, since=0):
        """What the run reported after event ``since``: ``(id, kind, body)``, oldest first (kinds
        ``batch``, ``epoch``, ``change``); ``Run`` is the same, rebuilt as an object."""
        return self.store.events(run_id, since)

    def run(self, run_id):
        return Run(self, run_id)

    def runs_of(self, owner):
        """A person's runs, oldest first, as ``Run``s."""
        return [Run(self, record.id, record) for record in self.store.runs_of(owner)]

    def expected_seconds(self, config, n_train):
        """How long ``config`` on ``n_train`` images should take from Start to its results here, as
        ``Expected``. Every part counts: the wait for a free worker, building the data, the
        training (the machine's arithmetic rate, corrected by how the last runs here compared with
        their own estimates, and slowed by the runs it would share its machine with), and the
        test set. Without finished runs to go by, the parts are this machine's (bench/estimate.py)."""
        timings = self.store.timings()
        startup = _median([t[0] for t in timings], STARTUP_SECONDS) + (0.0 if self._client else CLUSTER_SECONDS)
        pace = _median([t[1] / t[2] for t in timings], PACE)
        test = _median([t[3] for t in timings], TEST_SECONDS)
        training_now, waiting = self.store.busy()
        workers = self.workers()
        sharing = min(len(training_now), workers - 1) if len(training_now) < workers else 0
        training = estimated_seconds(config, n_train) * pace * blas_threads(1) / blas_threads(sharing + 1)
        wait = 0.0
        if len(training_now) + len(waiting) >= workers:  # every worker busy: a place frees as runs end
            wait = (min(training_now, default=0.0) + sum(waiting) * pace / workers)
        return Expected(startup + training + test + wait, len(training_now), len(waiting), wait)

    def workers(self):
        """How many runs can train at once: the cluster's workers (this machine's cores for the
        embedded one, before it has started)."""
        if self._client is not None:
            try:
                return max(1, len(self._client.scheduler_info(n_workers=-1)["workers"]))
            except Exception:  # the scheduler is away: the page's estimate should not fail for that
                pass
        return cores()


@dataclasses.dataclass
class Expected:
    """A run's expected time from Start to its results, and what the server is doing meanwhile."""

    seconds: float
    training: int  # runs training now
    waiting: int  # runs waiting for a place
    wait: float  # of ``seconds``, the wait for a free place

    def __str__(self):
        if self.wait > 0:
            return "%d run%s training, %d waiting: about %s, %s of it waiting for a place" % (
                self.training, "s are" if self.training != 1 else " is", self.waiting, duration(self.seconds), duration(self.wait))
        if self.training:
            return "%d run%s training: about %s" % (self.training, "s are" if self.training != 1 else " is", duration(self.seconds))
        return "About %s" % duration(self.seconds)


def _median(values, default):
    values = sorted(values)
    return values[len(values) // 2] if values else default


class Run:
    """A handle on one run, read from the store (at most every ``FRESH`` seconds): what the
    pages show and the commands they send. Any process can make one from the run's id."""

    FRESH = 0.2

    def __init__(self, runner, run_id, record=None):
        self.runner, self.id = runner, run_id
        self._record, self._read = record, time.monotonic() if record is not None else 0.0
        self._last_event = 0
        self._history, self._batch_costs, self._changes = [], [], []
        self._stopping = False
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
        self.runner.send(self.id, "change", **settings)
        return True

    def stop(self):
        self._stopping = True
        self.runner.send(self.id, "stop")
        self._record = None

    def join(self, timeout=None):
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
    pid = property(lambda self: self._state().pid)

    @property
    def n_train(self):
        return self._state().n_train

    @property
    def status(self):
        record = self._state()
        if record.status in ("running", "paused") and self._stopping:
            return "stopping"
        return record.status

    @property
    def message(self):
        return self._state().message

    @property
    def running(self):
        """True while it trains or waits to."""
        return self._state().status in ACTIVE

    @property
    def queued(self):
        return self._state().status == "queued"

    @property
    def paused(self):
        """True from the moment a pause is asked for (the page shows Resume at once)."""
        return self.status == "paused"

    @property
    def held(self):
        """True once the training process has actually stopped between two mini-batches."""
        record = self._state()
        return bool(record.held) and record.status in ("running", "paused")

    @property
    def ahead(self):
        """How many waiting runs will start before this one (None once it has started)."""
        record = self._state()
        return self.runner.store.ahead(record.seq) if record.status == "queued" else None

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
        mb, n = self.config.mini_batch, self.n_train or 0
        return n if mb is None else min(mb, n)

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
        return r.seconds_left if r.status == "running" and not r.held else None

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

    def model(self):
        """The trained network as a ``Model`` with its metadata once the run has ended; before,
        the network as it was at the end of the last complete epoch."""
        r = self._state()
        if r.status not in ACTIVE:
            params = _network(self.runner.store, self.id, True, None)
            if params is None:  # it ended without a final network (failed, cancelled): its last epoch's
                return Model(r.config.layer_data, _network(self.runner.store, self.id, False, r.snapshot_epoch), {"status": r.status})
            return Model(r.config.layer_data, params, r.meta or {})
        return Model(r.config.layer_data, self.snapshot, {"status": self.status})


_networks = collections.OrderedDict()  # (store, run, final, epoch) -> params: the last few read, for every session
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


def count_down(previous, raw, now):
    """The time left, smoothed: ``previous`` is the last ``(seconds left, when)`` or None, ``raw``
    the new estimate at time ``now``. The last figure is counted down by the time gone by, then
    moved a little (``LEFT_SMOOTHING``) towards the new estimate, unless the two are more than a
    factor of two apart. Returns ``(seconds left, now)``."""
    if previous is None:
        return raw, now
    left, then = previous
    counted = max(0.0, left - (now - then))
    if not counted / 2 <= raw <= counted * 2:  # far off (the pace changed: a new rate, a pause): start again
        return raw, now
    return counted + LEFT_SMOOTHING * (raw - counted), now


def duration(seconds):
    """A length of time in words: "40 seconds", "25 minutes", "2.5 hours"."""
    if seconds < 90:
        return "%.0f seconds" % max(seconds, 1)
    if seconds < 5400:
        return "%.0f minutes" % (seconds / 60)
    return "%.1f hours" % (seconds / 3600)
