"""What one store operation costs on each back end: SQLite files (a laptop) and PostgreSQL (a
class; a throwaway server on 127.0.0.1 started as the tests start it).

Printed, per back end, the median of ``--repeat`` rounds: keeping a drawing (what a correction
costs), reading a person's 100 drawings (My drawings), a run's progress report (4 a second per
run), reading a run's record and new events (each refresh of a Train page), and saving and loading
the shipped 5.1 MB model (models as files, or as ``BYTEA`` rows).

    python bench/stores.py [--repeat 20]
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

import pgserver  # noqa: E402
from nn_core import database  # noqa: E402
from nn_core.drawings import DrawingStore  # noqa: E402
from nn_core.models import DatabaseModels, FolderModels  # noqa: E402
from nn_core.runs import RunStore  # noqa: E402
from nn_core.storage import WEIGHTS_DIR, load_model  # noqa: E402
from nn_core.training import TrainConfig  # noqa: E402


def timed(work, repeat):
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        work(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(drawings, runs, models, repeat):
    rng = np.random.default_rng(0)
    person = uuid.uuid4().hex
    drawings.count()  # the schema made before anything is timed
    rows = {}
    rows["keep a drawing"] = timed(
        lambda i: drawings.add(person, i % 10, rng.random((28, 28)), answer=3, probabilities=np.full(10, 0.1), model="default"),
        repeat,
    )
    for i in range(100 - repeat):
        drawings.add(person, i % 10, rng.random((28, 28)))
    rows["read 100 drawings"] = timed(lambda i: drawings.drawings(person), repeat)
    run_id, _ = runs.add(TrainConfig(), "run 1", owner=person)
    runs.begin(run_id)
    rows["a run's progress report"] = timed(
        lambda i: runs.report(run_id, [("batch", [i, 1.0])], batch=i, seconds_left=10.0), repeat
    )
    rows["a page's refresh of a run"] = timed(lambda i: (runs.get(run_id), runs.events(run_id, since=max(0, i - 2))), repeat)
    shipped = load_model(WEIGHTS_DIR / "default.npz")
    rows["save the 5.1 MB model"] = timed(
        lambda i: models.save(
            "bench-%s-%d" % (person[:8], i), shipped.params, shipped.layer_data, dict(shipped.meta, owner="bench-%d" % i)
        ),
        repeat,
    )
    rows["load the 5.1 MB model"] = timed(lambda i: models.load("bench-%s-%d" % (person[:8], i)), repeat)
    return rows


def main(args):
    import os

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NN_CORE_WEIGHTS_DIR"] = tmp + "/weights"
        results["SQLite + weights folder"] = measure(
            DrawingStore(tmp + "/drawings.sqlite"), RunStore(tmp + "/runs.sqlite"), FolderModels(), args.repeat
        )
        server = pgserver.PostgresServer(durable=True).init().start()  # commits wait for the disk, as on a real server
        try:
            results["PostgreSQL"] = measure(
                DrawingStore(server.url), RunStore(server.url), DatabaseModels(server.url), args.repeat
            )
        finally:
            database.close_pools()
            server.remove()
    names = list(next(iter(results.values())))
    print("median of %d, in milliseconds" % args.repeat)
    print("%-28s" % "" + "".join("%26s" % backend for backend in results))
    for name in names:
        print("%-28s" % name + "".join("%26.1f" % (1000 * rows[name]) for rows in results.values()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    main(parser.parse_args())
