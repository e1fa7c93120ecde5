"""Sweeps on the embedded Dask cluster, and the class's runs with thousands stored.

1. The wall time of a sweep of ``--runs`` runs (rates x widths on ``--images`` MNIST images, 2
   epochs each) from Start to its last result (``Runner.start_sweep``), against the same runs asked
   for one after another (each started when the one before has ended), on the same cluster (one
   worker per core). The aim: close to the number of workers times faster.
2. ``RunStore.class_runs`` with ``--stored`` finished runs in the store (SQLite; PostgreSQL too with
   ``--postgres``, a throwaway server as the tests start it), and the "All runs" chart's Vega-Lite
   spec built from its rows and serialised as Streamlit sends it: the median of ``--repeat``.

    NN_CORE_DATA_DIR=... python bench/sweep.py [--runs 12] [--images 5000] [--stored 5000] [--postgres]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nn_core import database, drawings, sweep  # noqa: E402
from nn_core.runner import Runner  # noqa: E402
from nn_core.runs import RunStore  # noqa: E402
from nn_core.runspec import RunSpec  # noqa: E402
from nn_core.training import TrainConfig  # noqa: E402

WIDTHS = (32, 64, 128)


def plan_of(runs, images):
    base = TrainConfig(
        layer_data={"Dim": [784, 64, 10], "Activs": ["relu", "softmax"]},
        epochs=2,
        mini_batch=64,
        n_train=images,
        optimizer="adam",
        dropout=0.0,
    )
    widths = list(WIDTHS) if runs % len(WIDTHS) == 0 else [64]  # rates x widths, or rates alone
    rates = sweep.values("rate", 1e-4, 1e-1, runs // len(widths))
    return sweep.check(sweep.SweepPlan([sweep.Axis("rate", rates), sweep.Axis("width", widths)], base))


def sweep_against_one_by_one(runner, runs, images):
    plan = plan_of(runs, images)
    runner.client()  # the cluster started (and a run's data cached on the workers) before anything is timed
    warm = runner.start(RunSpec(plan.configs()[0], owner="warm-up", label="warm-up"))
    warm.join()
    began = time.perf_counter()
    going = runner.start_sweep(plan, RunSpec(plan.base, owner="sweeper", label="bench sweep"))
    going.join()
    swept = time.perf_counter() - began
    statuses = {r.status for r in going.runs}
    began = time.perf_counter()
    for config in plan.configs():
        run = runner.start(RunSpec(config, owner="one-by-one", label="one by one"))
        run.join()
        statuses.add(run.status)
    one_by_one = time.perf_counter() - began
    return len(plan), swept, one_by_one, statuses, going.landscape()


def stored_runs(store, n):
    """``n`` finished runs of 100 people with varied settings, written straight into the store."""
    rows = []
    for i in range(n):
        config = TrainConfig(
            layer_data={"Dim": [784] + [32 * (1 + i % 4)] * (1 + i % 3) + [10], "Activs": ["relu"] * (1 + i % 3) + ["softmax"]},
            rate=10 ** (-4 + 3 * (i % 97) / 96),
            mini_batch=(16, 64, 128, None)[i % 4],
            epochs=1 + i % 10,
        )
        rows.append((uuid.uuid4().hex, "person %d" % (i % 100), "run %d" % i, json.dumps(config.to_dict()), 0.5 + (i % 50) / 100))
    store._run(
        "record the runs",
        lambda conn: conn.executemany(
            "INSERT INTO runs (id, owner, label, config, status, submitted, test_acc, val_acc, result) "
            "VALUES (?, ?, ?, ?, 'finished', 0, ?, 0.5, '{}')",
            rows,
        ),
    )


def class_chart_time(store, repeat):
    try:  # the page's own chart, where it is there
        from pages._class_runs import class_chart
    except ImportError:
        class_chart = None
    read, drawn = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        rows, total = store.class_runs("person 7")
        read.append(time.perf_counter() - began)
        if class_chart is not None:
            began = time.perf_counter()
            json.dumps(class_chart([dict(r, index=i) for i, r in enumerate(rows)], "rate", "width", ["rate", "width"]))
            drawn.append(time.perf_counter() - began)
    return len(rows), total, statistics.median(read), statistics.median(drawn) if drawn else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--stored", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="also the class's runs on a throwaway PostgreSQL server")
    parser.add_argument("--skip-sweep", action="store_true", help="only the class's runs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nn-core-bench-sweep-"))
    os.environ[sweep.MAX_SWEEP_ENV] = str(max(args.runs, sweep.max_sweep_runs()))
    database_url = os.environ.pop(database.ENV_VAR, None)  # SQLite files of the bench's own
    os.environ[drawings.ENV_VAR] = str(folder / "drawings.sqlite")

    if not args.skip_sweep:
        runner = Runner(store=RunStore(str(folder / "runs.sqlite")))
        try:
            n, swept, one_by_one, statuses, land = sweep_against_one_by_one(runner, args.runs, args.images)
            workers = runner.workers()
        finally:
            runner.close()
        print(
            "sweep of %d runs (%d images, 2 epochs each) on %d workers: %.1f s; the same runs one after another: %.1f s; "
            "%.2fx faster (runs ended: %s; best %s)"
            % (
                n,
                args.images,
                workers,
                swept,
                one_by_one,
                one_by_one / swept,
                ", ".join(sorted(statuses)),
                land.rows[land.best]["label"],
            )
        )

    backends = [("SQLite", str(folder / "class.sqlite"), None)]
    if args.postgres:
        import pgserver

        server = pgserver.PostgresServer().init().start()
        backends.append(("PostgreSQL", server.url, server))
    try:
        for name, where, _ in backends:
            store = RunStore(where)
            stored_runs(store, args.stored)
            shown, total, read, drawn = class_chart_time(store, args.repeat)
            print(
                "class's runs on %s: %d stored, %d shown; read in %.0f ms%s"
                % (
                    name,
                    total,
                    shown,
                    1000 * read,
                    "" if drawn is None else ", chart spec built and serialised in %.0f ms" % (1000 * drawn),
                )
            )
    finally:
        database.close_pools()
        for _, _, server in backends:
            if server is not None:
                server.remove()
        if database_url:
            os.environ[database.ENV_VAR] = database_url


if __name__ == "__main__":
    main()
