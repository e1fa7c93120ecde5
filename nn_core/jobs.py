"""Training in a background thread, so that a page can show it, and leave, while it runs.

A ``TrainingJob`` wraps one ``Trainer``: ``start()`` runs it in a daemon thread, ``stop()`` asks it
to stop between mini-batches, and the rest are reads that are safe from any thread while it
runs: ``history``, ``progress``, ``seconds_left``, ``snapshot`` (the parameters at the end of the
last epoch), ``status`` and ``message``. When training ends the job measures the network on the
test set (``result``). At most ``MAX_RUNNING`` jobs run at once on the whole server, so that two
users cannot starve each other of the machine's cores.
"""

import threading
import time

from .model import Model, from_run
from .training import Trainer

MAX_RUNNING = 2
_running = set()
_running_lock = threading.Lock()


class Busy(RuntimeError):
    """Refused to start: too many jobs are already running."""


class TrainingJob:
    """One training run in the background; ``label`` and ``source`` name it and its data for people."""

    def __init__(self, config, images, labels, test_images=None, test_labels=None, label="run", source="", groups=None):
        self.trainer = Trainer(config, images, labels, groups=groups)  # validates config, may raise ValueError
        self.label, self.source = label, source
        self.config = self.trainer.config
        self.test_images, self.test_labels = test_images, test_labels
        self.result = self._model = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._history = []
        self._batch = (0, 0, 1)  # epoch, batch, n_batches
        self._started = self._ended = None
        self._thread = None
        self._error = None

    # -- control -----------------------------------------------------------------------------
    def start(self):
        with _running_lock:
            alive = {job for job in _running if job.running}
            _running.intersection_update(alive)
            if len(alive) >= MAX_RUNNING:
                raise Busy(
                    "%d networks are already training on this server; start again when one has finished." % len(alive)
                )
            _running.add(self)
        self._started = time.time()
        self._thread = threading.Thread(target=self._work, name="training-job", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_batch(self, epoch, batch, n_batches, cost):
        self._batch = (epoch, batch, n_batches)

    def _work(self):
        try:
            for record in self.trainer.run(stop=self._stop, on_batch=self._on_batch):
                with self._lock:
                    self._history.append(record)
            self._model, self.result = from_run(
                self.trainer, time.time() - self._started, self.test_images, self.test_labels,
                command="Train page", data=self.source)
        except Exception as exc:  # reported on the page rather than lost in a thread
            self._error = "Training failed: %s: %s" % (type(exc).__name__, exc)
        finally:
            self._ended = time.time()
            with _running_lock:
                _running.discard(self)

    # -- reads -------------------------------------------------------------------------------
    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self):
        if self._error:
            return "failed"
        if self.running:
            return "stopping" if self._stop.is_set() else "running"
        return self.trainer.status

    @property
    def message(self):
        return self._error or self.trainer.message

    @property
    def history(self):
        with self._lock:
            return list(self._history)

    @property
    def snapshot(self):
        return self.trainer.snapshot

    @property
    def elapsed(self):
        if self._started is None:
            return 0.0
        return (self._ended or time.time()) - self._started

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
        """Estimated seconds to the end, from the pace so far; None before the first mini-batch."""
        p = self.progress
        if p <= 0 or not self.running:
            return None
        return self.elapsed * (1 - p) / p

    def model(self):
        """The trained network as a ``Model`` with its metadata once the run has ended; while it
        runs, the network as it was at the end of the last complete epoch."""
        if self._model is not None:
            return self._model
        return Model(self.config.layer_data, self.snapshot, {"status": self.status})
