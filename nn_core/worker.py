"""One training run in a process of its own, for the app (see ``jobs``).

The page scripts that answer every stroke on the Draw page run in the server's process. A run
training in a thread of that same process would share its interpreter and both cores with them,
and a stroke would wait for the training's arithmetic. So each run builds its training data
from its ``RunSpec`` and trains in a child process, every thread of it (its BLAS threads too) at
a lower CPU priority (``NICENESS``), and with as many BLAS threads as the cores it may use (all
of them for a run alone, half each for two; changed while it runs as other runs start and end), and
sends what the page shows back through a pipe: mini-batch progress and smoothed cost, each
epoch's record and parameters, settings changed mid-run, and at the end the model with its
metadata. Another pipe brings the page's commands: pause, resume, and new rate or lamda values.
"""

import contextlib
import os
import sys
import threading
import time
import types

from threadpoolctl import threadpool_info, threadpool_limits

from . import pendigits
from .model import from_run
from .runspec import build_training_set
from .training import Trainer

NICENESS = 10  # the operating system runs the page scripts first when both want a core
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SMOOTHING = 0.05  # weight of each new mini-batch in the smoothed training cost


@contextlib.contextmanager
def bare_main():
    """Around the start of a process of our own: a new process started by "spawn" first imports
    the parent's ``__main__`` from its file, and in a web server Streamlit's ``__main__`` is the
    page script last run, so every run's process would run a page (and import Streamlit and
    everything it needs) before it trained. Here ``__main__`` is a module with no file, so the new
    process imports only what its work needs. Hold ``SPAWN_LOCK``."""
    main = sys.modules.get("__main__")
    stub = types.ModuleType("__main__")
    sys.modules["__main__"] = stub
    try:
        yield
    finally:
        if sys.modules.get("__main__") is stub:  # unless a page run has set its own meanwhile
            sys.modules["__main__"] = main


SPAWN_LOCK = threading.Lock()  # the environment and __main__ a new process inherits are set around its start


def lower_priority():
    """Run every thread of this process at ``NICENESS``. ``os.nice`` would lower the calling thread
    only (on Linux a thread's priority is its own), and OpenBLAS starts its threads when NumPy is
    imported, before this process was told anything: they would train at the server's priority."""
    tasks = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else [str(os.getpid())]
    for tid in tasks:
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), max(NICENESS, os.getpriority(os.PRIO_PROCESS, int(tid))))
        except OSError:  # a thread that has ended, or no permission: it keeps its priority
            pass


def threads_in_use():
    """The BLAS threads NumPy uses in this process."""
    return max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def train(spec, params, conn, stop, commands):
    """The child process: build the training set of ``spec`` (a ``RunSpec``) and train it,
    starting from ``params`` if given, until it ends or ``stop`` is set, reporting to ``conn``
    and obeying ``commands``: ``("pause",)``, ``("resume",)``, ``("change", {"rate": r, ...})``,
    ``("threads", n)`` (the BLAS threads to use from now on, as other runs start or end).

    Messages: ``("ready", n_train, source)`` once the data is built; ``("threads", n)``, the BLAS
    threads it uses, at the start and after each change;
    ``("batch", epoch, batch, n_batches, smoothed_cost)`` at most five times a second;
    ``("epoch", record, params)`` after each epoch; ``("paused", bool)``; ``("change", dict)``;
    ``("end", status, message, params, meta, result)``; or ``("error", text)``.
    """
    lower_priority()
    conn.send(("threads", threads_in_use()))
    try:
        data = build_training_set(spec, pen_images=lambda *drawn: pendigits.cached_for_training(spec.data.data_dir, *drawn))
        trainer = Trainer(spec.config, data.images, data.labels, params=params, groups=data.groups)
        del data.images, data.labels, data.groups, params  # the trainer has its own split copies
    except Exception as exc:  # reported on the page rather than lost in a process
        conn.send(("error", "Could not build the training data: %s" % exc))
        conn.close()
        return
    conn.send(("ready", trainer.n_train, data.source))
    sent, smoothed, paused, paused_seconds = [0.0], [None], [False], [0.0]

    def on_batch(epoch, batch, n_batches, cost):
        smoothed[0] = cost if smoothed[0] is None else smoothed[0] + SMOOTHING * (cost - smoothed[0])
        now = time.monotonic()
        if now - sent[0] >= 0.2 or batch == n_batches:
            sent[0] = now
            conn.send(("batch", epoch, batch, n_batches, smoothed[0]))

    def control():
        """Obey the page's commands; while paused, wait here (between two mini-batches)."""
        since = None
        while True:
            while commands.poll():
                kind, *body = commands.recv()
                if kind in ("pause", "resume"):
                    paused[0] = kind == "pause"
                    conn.send(("paused", paused[0]))
                elif kind == "threads":
                    threadpool_limits(body[0], user_api="blas")
                    lower_priority()
                    conn.send(("threads", threads_in_use()))
                elif kind == "change":
                    try:
                        for made in trainer.change(**body[0]):
                            conn.send(("change", made))
                    except ValueError as exc:
                        conn.send(("refused", str(exc)))
            if not paused[0] or stop.is_set():
                if since is not None:
                    paused_seconds[0] += time.monotonic() - since
                return
            since = since or time.monotonic()
            commands.poll(0.1)

    start = time.time()
    try:
        for record in trainer.run(stop=stop, on_batch=on_batch, control=control):
            conn.send(("epoch", record, trainer.snapshot))
        model, result = from_run(trainer, time.time() - start - paused_seconds[0], data.test_images, data.test_labels,
                                 command="the app", data=data.source, started_from=spec.started_from)
        conn.send(("end", trainer.status, trainer.message, model.params, model.meta, result))
    except Exception as exc:  # reported on the page rather than lost in a process
        conn.send(("error", "Training failed: %s: %s" % (type(exc).__name__, exc)))
    finally:
        conn.close()
