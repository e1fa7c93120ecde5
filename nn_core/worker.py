"""One training run in a process of its own, for the app (see ``jobs``).

The page scripts that answer every stroke on the Draw page run in the server's process. A run
training in a thread of that same process would share its interpreter and both cores with them,
and a stroke would wait for the training's arithmetic. So each run trains in a child process, at
a lower CPU priority (``NICENESS``) and with as many BLAS threads as the cores it may use (all
of them for a run alone, half each for two), and
sends what the page shows back through a pipe: mini-batch progress, each epoch's record and
parameters, and at the end the model with its metadata.
"""

import os
import time

from .model import from_run

NICENESS = 10  # the operating system runs the page scripts first when both want a core
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def train(trainer, test_images, test_labels, source, started_from, conn, stop):
    """The child process: run ``trainer`` until it ends or ``stop`` is set, reporting to ``conn``.

    Messages: ``("batch", epoch, batch, n_batches)`` at most five times a second;
    ``("epoch", record, params)`` after each epoch; ``("end", status, message, params, meta,
    result)``; or ``("error", text)``.
    """
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    sent = [0.0]

    def on_batch(epoch, batch, n_batches, cost):
        now = time.monotonic()
        if now - sent[0] >= 0.2 or batch == n_batches:
            sent[0] = now
            conn.send(("batch", epoch, batch, n_batches))

    start = time.time()
    try:
        for record in trainer.run(stop=stop, on_batch=on_batch):
            conn.send(("epoch", record, trainer.snapshot))
        model, result = from_run(trainer, time.time() - start, test_images, test_labels, command="Train page", data=source,
                                 started_from=started_from)
        conn.send(("end", trainer.status, trainer.message, model.params, model.meta, result))
    except Exception as exc:  # reported on the page rather than lost in a process
        conn.send(("error", "Training failed: %s: %s" % (type(exc).__name__, exc)))
    finally:
        conn.close()
