"""Training in the background, so that a page can show it, and leave, while it runs.

A ``TrainingJob`` wraps one ``Trainer``: ``start()`` trains it in a process of its own (see
``worker``) watched by a thread of this one; ``stop()`` asks it to stop between mini-batches,
``pause()`` and ``resume()`` hold it there, and ``change(rate=..., lamda=...)`` sets new values from
the next mini-batch on. The rest are reads that are safe from any thread while it runs:
``history``, ``batch_costs`` (the smoothed cost, a few points a second), ``changes``,
``progress``, ``seconds_left``, ``snapshot`` (the parameters at the end of the last epoch),
``status`` and ``message``. When training ends the job measures the network on the test set
(``result``).

A job is given a ``RunSpec`` (settings and a data recipe, no images): its process builds the
training set (``runspec.build_training_set``), so the server holds no training arrays for a run,
running or finished.

The server is shared, so jobs share it fairly: at most ``MAX_RUNNING`` run at once and the others
wait in line (``ahead`` says how many runs are before one); a person has at most one run training
or waiting, whatever the number of their tabs; a run whose estimated time is above
``max_minutes()``, or whose data or memory is above the server's ceilings, is refused before it
starts, and one that trains longer than that limit is stopped; a run paused for
``max_pause_seconds()`` while others wait is stopped (its network kept) and gives its place back;
and a job whose visitor has gone (its ``alive`` function has said no for ``GONE_AFTER`` seconds:
the tab was closed) stops and frees its place.
"""

import dataclasses
import multiprocessing
import os
import threading
import time

from . import worker
from .model import Model
from .runspec import DataRecipe, RunSpec, check_size, memory_needed, planned_images
from .training import check_live, estimated_seconds

MAX_RUNNING = 2
GONE_AFTER = 30.0  # seconds without the visitor's page before a job stops
MAX_BATCH_POINTS = 2000  # the smoothed mini-batch cost keeps at most this many points (thinned out evenly)
LEFT_SMOOTHING = 0.1  # weight of each new reading in the smoothed time left
MAX_MINUTES_ENV = "NN_CORE_MAX_RUN_MINUTES"
DEFAULT_MAX_MINUTES = 120
MAX_PAUSE_ENV = "NN_CORE_MAX_PAUSE_MINUTES"
DEFAULT_MAX_PAUSE_MINUTES = 3
MAX_RUN_MB = 1500  # what one run's process may hold (``runspec.memory_needed``)
_running = set()
_waiting = []  # first come, first served
_lock = threading.Lock()


def blas_threads(running):
    """BLAS threads for a run that starts while ``running`` runs (itself included) go: the
    machine's cores shared among them, all of them for a run alone."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, running))


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


_paces = []  # actual / estimated seconds of the runs that finished on this server, latest last


def expected_seconds(config, n_train):
    """How long ``config`` should take on ``n_train`` images on this server: the estimate from the
    machine's measured arithmetic rate (``training.estimated_seconds``), corrected by how the
    last runs here compared with their own estimates."""
    pace = sorted(_paces)[len(_paces) // 2] if _paces else 1.0
    return estimated_seconds(config, n_train) * pace


class TooLong(ValueError):
    """Refused: the run's estimated time is above the server's limit."""


class Busy(ValueError):
    """Refused: the person has a run training or waiting already."""


def _start_waiting():
    """Start waiting jobs while there is room (the caller holds ``_lock``); a job whose visitor
    has gone is dropped from the line instead. Then share the cores among the running jobs."""
    while _waiting and len(_running) < MAX_RUNNING:
        job = _waiting.pop(0)
        if job.alive is not None and not job.alive():
            job._cancel("Not started: the page that asked for it was closed.")
            continue
        job._launch()
    # A run that started alone uses every core; once a second starts, each keeps its half (more
    # BLAS threads than cores make both spin and wait), and a run left alone gets them all back.
    for job in _running:
        job._set_threads(blas_threads(len(_running)))


class TrainingJob:
    """One training run in the background, described by a ``RunSpec``."""

    def __init__(self, spec, alive=None, params=None):
        """``alive``, if given, is a function that says (from any thread) whether the visitor's
        page is still open. ``params`` are weights to start from (fine-tuning the model named
        ``spec.started_from``), else training starts from random ones. Raises ``ValueError`` for
        bad settings or a run above the server's ceilings (``TooLong`` for its time), before
        anything starts."""
        self.spec, self.config = spec, spec.config
        planned = planned_images(spec)
        self.config.validate(n_available=planned["base_total"])  # may raise ValueError
        check_size(spec, planned)
        need = memory_needed(self.config, planned["total"])
        if need > MAX_RUN_MB * 2**20:
            raise ValueError("this run would need about %.1f GB of memory, more than the %.1f GB a run may use here. "
                             "Smaller layers, a smaller mini_batch or fewer training images need less."
                             % (need / 2**30, MAX_RUN_MB / 1024))
        self.n_train = planned["trained"]
        self.estimate = estimated_seconds(self.config, self.n_train)
        if self.estimate > 60 * max_minutes():
            raise TooLong(
                "this run would take about %s on this server, and runs here may take at most %g minutes (%s). "
                "Fewer epochs, a larger mini_batch, fewer training images or smaller layers make it shorter."
                % (duration(self.estimate), max_minutes(), MAX_MINUTES_ENV))
        self.alive = alive
        self.label, self.started_from, self.owner = spec.label, spec.started_from, spec.owner
        self.source = spec.data.arrays[5] if spec.data.arrays is not None else ""
        self._start_params = params
        self.result = self._model = None
        self._history, self._changes, self._snapshot = [], [], None
        self._status, self._message = "ready", ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._batch = (0, 0, 1)  # epoch, batch, n_batches
        self._started = self._ended = None
        self._thread = None
        self._error = self._ended_early = None
        self._gone_since = None
        self._checked = 0.0
        self._commands = None  # the pipe to the child process, once it runs
        self._allowed_threads = None  # BLAS threads it may use (its share of the cores), once it runs
        self.threads_in_use = None  # BLAS threads its process says it uses
        self.pid = None  # its process, once started
        self._batch_costs = []
        self._paused = self._held = False
        self._paused_since, self._paused_seconds = None, 0.0
        self._left = None  # (smoothed seconds left, when)
        self._pace_from = None  # (elapsed, progress) when the time left was first asked for
        self.notice = None  # a command the child refused, in words

    @classmethod
    def on_arrays(cls, config, images, labels, test_images=None, test_labels=None, label="run", source="", groups=None,
                  alive=None, params=None, started_from=None, owner=None):
        """A job on arrays already in memory (from Python and the tests): they go to the run's
        process when it starts, and the job keeps no reference to them."""
        arrays = (images, labels, groups, test_images, test_labels, source)
        spec = RunSpec(config, DataRecipe(arrays=arrays), started_from=started_from, owner=owner, label=label)
        return cls(spec, alive=alive, params=params)

    # -- control -----------------------------------------------------------------------------
    def start(self):
        """Start now if fewer than ``MAX_RUNNING`` jobs run, else wait in line (``queued``).
        Raises ``Busy`` if the job's owner has another run training or waiting."""
        with _lock:
            if self.owner is not None and any(job.owner == self.owner for job in list(_running) + _waiting):
                raise Busy("you have a run training or waiting already (in this tab or another). Stop it, or wait until "
                           "it ends, before starting another")
            _waiting.append(self)
            _start_waiting()
        return self

    def _launch(self):
        _running.add(self)
        self._allowed_threads = blas_threads(len(_running))  # before its thread reads it; _start_waiting then shares the cores
        self._started = time.time()
        self._thread = threading.Thread(target=self._work, name="training-job", daemon=True)
        self._thread.start()

    def _set_threads(self, threads):
        """Have the run use ``threads`` BLAS threads: from its start, or from its next mini-batch."""
        if threads != self._allowed_threads:
            self._allowed_threads = threads
            self._command("threads", threads)

    def _cancel(self, message):
        self._ended_early = message
        self._stop.set()

    def _command(self, *message):
        """Send a command to the child; False if there is no child (yet, or any more)."""
        with self._lock:
            if self._commands is None:
                return False
            try:
                self._commands.send(message)
            except (OSError, ValueError):  # the child has ended
                return False
            return True

    def pause(self):
        """Hold the run between two mini-batches (the visitor can resume it). ``paused`` is
        True at once; the child stops at its next mini-batch and confirms."""
        if self._command("pause"):
            self._set_paused(True)

    def resume(self):
        if self._command("resume"):
            self._set_paused(False)

    def change(self, **settings):
        """New ``rate`` and/or ``lamda``, from the next mini-batch on (marked in ``changes``);
        a job still waiting in line simply starts with them. Raises ``ValueError`` for a value
        out of range; returns False if the run has already ended."""
        settings = check_live(**settings)
        if self.queued:
            for name, value in settings.items():
                setattr(self.config, name, value)
            return True
        return self._command("change", settings)

    def stop(self):
        """Stop between mini-batches; a job still waiting in line leaves it."""
        with _lock:
            if self in _waiting:
                _waiting.remove(self)
                self._cancel("Cancelled before it started.")
        self._stop.set()

    @property
    def queued(self):
        return self._thread is None and self._ended_early is None

    @property
    def ahead(self):
        """How many waiting runs will start before this one (None once it has started)."""
        with _lock:
            return _waiting.index(self) if self in _waiting else None

    def join(self, timeout=None):
        """Wait for the job to end (a queued job waits for its turn too)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.queued and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)
        if self._thread is not None:
            self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _page_gone(self):
        """True once the visitor's page has been gone for ``GONE_AFTER`` seconds (checked at
        most once a second)."""
        now = time.monotonic()
        if self.alive is None or now - self._checked < 1.0:
            return False
        self._checked = now
        if self.alive():
            self._gone_since = None
        elif self._gone_since is None:
            self._gone_since = now
        return self._gone_since is not None and now - self._gone_since > GONE_AFTER

    def _work(self):
        """This thread starts the child process and turns its messages into the job's state."""
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: never fork a threaded server
        receive, send = context.Pipe(duplex=False)
        commands, self._commands = context.Pipe(duplex=False)
        stop = context.Event()
        process = context.Process(target=worker.train, daemon=True, name="training-job",
                                  args=(self.spec, self._start_params, send, stop, commands))
        ended = False
        try:
            with worker.SPAWN_LOCK, worker.bare_main():
                saved = {k: os.environ.get(k) for k in worker.BLAS_THREADS_ENV}
                os.environ.update({k: str(self._allowed_threads) for k in worker.BLAS_THREADS_ENV})
                try:
                    process.start()
                    self.pid = process.pid
                finally:
                    for k, v in saved.items():
                        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
                    # The process has its copy now: the server keeps no training arrays or weights.
                    self._start_params = None
                    self.spec = dataclasses.replace(self.spec, data=dataclasses.replace(self.spec.data, arrays=None))
            send.close()
            commands.close()
            while not ended:
                if self._page_gone():
                    self._cancel("Stopped: the page that started it was closed.")
                self._check_limits()
                if self._stop.is_set():
                    stop.set()
                if not receive.poll(0.25):
                    if not process.is_alive() and not receive.poll(0):
                        raise RuntimeError("the training process ended unexpectedly (exit code %s)" % process.exitcode)
                    continue
                ended = self._receive(receive.recv())
        except Exception as exc:  # reported on the page rather than lost in a thread
            self._error = "Training failed: %s: %s" % (type(exc).__name__, exc)
        finally:
            stop.set()
            if process.pid is not None:  # it started
                process.join(10)
                if process.is_alive():
                    process.kill()
            receive.close()
            with self._lock:
                self._commands.close()
                self._commands = None
            if self._paused:
                self._set_paused(False)
            self._ended = time.time()
            if self._status == "finished" and self.estimate > 5.0:  # short runs are mostly start-up
                _paces.append(self.elapsed / self.estimate)
                del _paces[:-10]
            with _lock:
                _running.discard(self)
                _start_waiting()

    def _check_limits(self):
        """Stop a run that has trained longer than the server allows, or that has been paused
        for ``max_pause_seconds()`` while others wait for a place (its network is kept)."""
        if self._stop.is_set():
            return
        if self.elapsed > 60 * max_minutes():
            self._cancel("Stopped: it reached this server's limit of %g minutes of training. Its network so far is kept."
                         % max_minutes())
        elif self._paused and time.time() - self._paused_since > max_pause_seconds() and _waiting:
            self._cancel("Stopped: it was paused for over %s while others waited, so its place went to the next run. "
                         "Its network so far is kept." % duration(max_pause_seconds()))

    def _receive(self, message):
        """Apply one message from the child; True when it was the last."""
        kind, *body = message
        if kind == "ready":
            self.n_train, self.source = body
        elif kind == "batch":
            epoch, batch, n_batches, cost = body
            self._batch = (epoch, batch, n_batches)
            with self._lock:
                self._batch_costs.append((epoch - 1 + batch / n_batches, cost))
                if len(self._batch_costs) > MAX_BATCH_POINTS:
                    self._batch_costs = self._batch_costs[::2]
        elif kind == "paused":
            self._held = body[0]
            self._set_paused(body[0])
        elif kind == "change":
            made = body[0]
            with self._lock:
                self._changes.append(made)
                setattr(self.config, made["setting"], made["new"])
        elif kind == "threads":
            self.threads_in_use = body[0]
        elif kind == "refused":
            self.notice = body[0]
        elif kind == "epoch":
            record, params = body
            with self._lock:
                self._history.append(record)
                self._snapshot = params
        elif kind == "end":
            status, text, params, meta, self.result = body
            self._status, self._message = status, text
            self._model = Model(self.config.layer_data, params, meta)
            self._snapshot = None  # the model's parameters say the same
            return True
        elif kind == "error":
            self._error = body[0]
            return True
        return False

    def _set_paused(self, paused):
        now = time.time()
        if paused and not self._paused:
            self._paused_since = now
        elif not paused and self._paused:
            self._paused_seconds += now - self._paused_since
            self._paused_since = None
        self._paused = paused

    # -- reads -------------------------------------------------------------------------------
    @property
    def paused(self):
        """True from the moment a pause is asked for (the page shows Resume at once)."""
        return self._paused

    @property
    def held(self):
        """True once the training process has actually stopped between two mini-batches."""
        return self._held and self._paused

    @property
    def batch_costs(self):
        """``(position in epochs, smoothed training cost)`` pairs, a few a second."""
        with self._lock:
            return list(self._batch_costs)

    @property
    def changes(self):
        """Settings changed during the run: dicts ``epoch``, ``setting``, ``old``, ``new``."""
        with self._lock:
            return list(self._changes)

    @property
    def running(self):
        """True while it trains or waits in line to."""
        return self.queued or (self._thread is not None and self._thread.is_alive())

    @property
    def status(self):
        if self._error:
            return "failed"
        if self.queued:
            return "queued"
        if self._thread is None:
            return "cancelled"
        if self._thread.is_alive():
            return "stopping" if self._stop.is_set() else "paused" if self._paused else "running"
        return self._status

    @property
    def message(self):
        return self._error or self._ended_early or self._message

    @property
    def history(self):
        with self._lock:
            return list(self._history)

    @property
    def snapshot(self):
        """The parameters at the end of the last complete epoch (the final ones once it has ended)."""
        return self._model.params if self._model is not None else self._snapshot

    @property
    def batch_size(self):
        """The mini-batch size the run uses: ``mini_batch``, at most the training-set size."""
        mb = self.config.mini_batch
        return self.n_train if mb is None else min(mb, self.n_train)

    @property
    def elapsed(self):
        """Seconds of training so far (pauses left out)."""
        if self._started is None:
            return 0.0
        end = self._ended or time.time()
        paused = self._paused_seconds + (end - self._paused_since if self._paused_since else 0.0)
        return end - self._started - paused

    @property
    def progress(self):
        """Fraction of all mini-batches of all epochs done, in [0, 1]."""
        epoch, batch, n_batches = self._batch
        if epoch == 0:
            return 0.0
        done = (epoch - 1) * n_batches + batch
        return min(1.0, done / (self.config.epochs * n_batches))

    @property
    def seconds_left(self):
        """Estimated seconds to the end, from the pace since training got going (start-up left
        out), smoothed so that it counts down steadily instead of jumping with each reading; None
        until there is a pace to go by."""
        p, now = self.progress, self.elapsed
        if p <= 0 or not self.running:
            return None
        with self._lock:
            if self._pace_from is None:
                self._pace_from = (now, p)
                return None
            then, p0 = self._pace_from
            if p - p0 < 0.01 or now - then < 1.0:
                return None
            self._left = count_down(self._left, (1 - p) * (now - then) / (p - p0), now)
            return self._left[0]

    def model(self):
        """The trained network as a ``Model`` with its metadata once the run has ended; while it
        runs, the network as it was at the end of the last complete epoch."""
        if self._model is not None:
            return self._model
        return Model(self.config.layer_data, self.snapshot, {"status": self.status})


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
