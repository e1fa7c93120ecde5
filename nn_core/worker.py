"""One training run in a process of its own, for the app (see ``jobs``).

The page scripts that answer every stroke on the Draw page run in the server's process. A run
training in a thread of that same process would share its interpreter and both cores with them,
and a stroke would wait for the training's arithmetic. So each run trains in a child process, at
a lower CPU priority (``NICENESS``) and with as many BLAS threads as the cores it may use (all
of them for a run alone, half each for two; changed while it runs as other runs start and end), and
sends what the page shows back through a pipe: mini-batch progress and smoothed cost, each
epoch's record and parameters, settings changed mid-run, and at the end the model with its
metadata. Another pipe brings the page's commands: pause, resume, and new rate or lamda values.
"""

import os
import time

from threadpoolctl import threadpool_info, threadpool_limits

from .model import from_run

NICENESS = 10  # the operating system runs the page scripts first when both want a core
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SMOOTHING = 0.05  # weight of each new mini-batch in the smoothed training cost


def threads_in_use():
    """The BLAS threads NumPy uses in this process."""
    return max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def train(trainer, test_images, test_labels, source, started_from, conn, stop, commands):
    """The child process: run ``trainer`` until it ends or ``stop`` is set, reporting to ``conn``
    and obeying ``commands``: ``("pause",)``, ``("resume",)``, ``("change", {"rate": r, ...})``,
    ``("threads", n)`` (the BLAS threads to use from now on, as other runs start or end).

    Messages: ``("threads", n)``, the BLAS threads it uses, at the start and after each change;
    ``("batch", epoch, batch, n_batches, smoothed_cost)`` at most five times a second;
    ``("epoch", record, params)`` after each epoch; ``("paused", bool)``; ``("change", dict)``;
    ``("end", status, message, params, meta, result)``; or ``("error", text)``.
    """
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    conn.send(("threads", threads_in_use()))
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
        model, result = from_run(trainer, time.time() - start - paused_seconds[0], test_images, test_labels, command="Train page", data=source,
                                 started_from=started_from)
        conn.send(("end", trainer.status, trainer.message, model.params, model.meta, result))
    except Exception as exc:  # reported on the page rather than lost in a process
        conn.send(("error", "Training failed: %s: %s" % (type(exc).__name__, exc)))
    finally:
        conn.close()
