"""Training while other processes keep the machine busy: BLAS on one thread against all cores.

OpenBLAS's threads wait for one another at the end of every product; when another process holds
a core, the thread that shares it holds the others back. A run therefore uses no more threads
than the cores other processes leave free (``runlimits.blas_threads``). This prints, for a few
networks and mini-batches, one epoch's time on 1 thread and on all cores, with the machine idle
and with other processes (each a matrix-multiply loop at normal priority) keeping ``--load``
cores busy; then the threads a run on the embedded Dask cluster chose under that load.

    python bench/busy.py [--load 2] [--images 20000]

Needs MNIST in NN_CORE_DATA_DIR (or the default data folder).
"""

import argparse
import multiprocessing
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from threadpoolctl import threadpool_limits  # noqa: E402

from nn_core.data import data_dir, load_mnist  # noqa: E402
from nn_core.network import dense_layers  # noqa: E402
from nn_core.runlimits import cores  # noqa: E402
from nn_core.training import TrainConfig, Trainer  # noqa: E402

CASES = [([64], 16), ([64], 128), ([256], 16), ([256], 128), ([800, 800], 128)]


def spin(stop):
    """Another process's work: float32 products of 256x256, until told to stop."""
    import numpy as np

    with threadpool_limits(1, user_api="blas"):
        a = np.random.default_rng(0).random((256, 256), dtype=np.float32)
        while not stop.is_set():
            a = (a @ a) / 256.0


def epoch_seconds(x, y, hidden, batch, threads):
    config = TrainConfig(layer_data=dense_layers(hidden), epochs=1, mini_batch=batch, val_fraction=0.0, dropout=0.2)
    with threadpool_limits(threads, user_api="blas"):
        trainer = Trainer(config, x, y)
        start = time.perf_counter()
        for _ in trainer.run():
            pass
    return time.perf_counter() - start


def table(x, y, title):
    print(title)
    print("%-12s %6s %9s %9s %7s" % ("network", "batch", "1 thread", "%d threads" % cores(), "ratio"))
    for hidden, batch in CASES:
        one = epoch_seconds(x, y, hidden, batch, 1)
        many = epoch_seconds(x, y, hidden, batch, cores())
        print("%-12s %6d %8.2fs %8.2fs %7.2f" % ("-".join(map(str, hidden)), batch, one, many, many / one), flush=True)


def run_on_the_cluster(n_images):
    """A run submitted as the Train page does: the threads it chose, and its epochs' seconds."""
    from nn_core.runner import Runner
    from nn_core.runspec import DataRecipe, RunSpec

    config = TrainConfig(layer_data=dense_layers([256]), epochs=3, mini_batch=32, n_train=n_images)
    run = Runner.shared().submit(RunSpec(config, DataRecipe(data_dir=str(data_dir())), owner=uuid.uuid4().hex))
    run.join(600)
    record = Runner.shared().store.get(run.id)
    print(
        "a run on the embedded cluster (256 neurons, mini_batch 32, %d images): %s, on %s BLAS thread(s), epochs %s s"
        % (n_images, run.status, record.threads, ", ".join("%.2f" % r.seconds for r in run.history))
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", type=int, default=cores(), help="cores kept busy by other processes (default: all)")
    parser.add_argument("--images", type=int, default=20000, help="training images per epoch")
    args = parser.parse_args()
    mnist = load_mnist()
    x, y = mnist.x_train[: args.images], mnist.y_train[: args.images]
    table(x, y, "machine idle (one epoch, %d images)" % args.images)
    run_on_the_cluster(args.images)
    stop = multiprocessing.Event()
    others = [multiprocessing.Process(target=spin, args=(stop,), daemon=True) for _ in range(args.load)]
    for p in others:
        p.start()
    try:
        time.sleep(1.0)
        table(x, y, "\n%d core(s) kept busy by other processes" % args.load)
        run_on_the_cluster(args.images)
    finally:
        stop.set()
        for p in others:
            p.join(10)


if __name__ == "__main__":
    main()
