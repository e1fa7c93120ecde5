"""The first runs on a fresh server: the time shown before Start, against the time from Start to
the first epoch's point on the chart and to the results.

    python bench/first_run.py [--epochs 3]

A new run store and a new embedded cluster (its start counted, as the first Start of a server
pays it), an empty cache of drawn pen-drawn digits; then, in turn: the defaults; the defaults
with the pen-drawn digits mixed in (drawn now, as a first run with them would draw them); the
same again (read back from the cache). Needs MNIST and the pen-drawn digits in NN_CORE_DATA_DIR.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core import pendigits  # noqa: E402
from nn_core.data import data_dir  # noqa: E402
from nn_core.runner import Runner, duration  # noqa: E402
from nn_core.runs import RunStore  # noqa: E402
from nn_core.runspec import DataRecipe, RunSpec, planned_images  # noqa: E402
from nn_core.training import TrainConfig  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    os.environ["NN_CORE_CACHE_DIR"] = str(folder / "drawn")  # before the cluster starts: its workers read it
    runner = Runner(store=RunStore(folder / "runs.sqlite"))
    runs = [
        ("defaults", TrainConfig(epochs=args.epochs)),
        ("defaults + pen-drawn digits, not drawn yet", TrainConfig(epochs=args.epochs, pen_digits=pendigits.PAGE_DRAWINGS)),
        ("defaults + pen-drawn digits, drawn before", TrainConfig(epochs=args.epochs, pen_digits=pendigits.PAGE_DRAWINGS)),
    ]
    try:
        for name, config in runs:
            spec = RunSpec(config, DataRecipe(data_dir=str(data_dir())), label=name)
            expected = runner.expected_seconds(config, planned_images(spec)["trained"])
            start = time.perf_counter()
            run = runner.submit(spec)
            first = None
            while run.runner.store.get(run.id).status in ("queued", "running"):
                if first is None and run.history:
                    first = time.perf_counter() - start
                time.sleep(0.05)
            total = time.perf_counter() - start
            record = run.runner.store.get(run.id)
            print(
                "%-44s shown %-22s first epoch's point %6s, results %6s (%s; building the data %.1f s)"
                % (
                    name,
                    str(expected),
                    duration(first) if first is not None else "never",
                    duration(total),
                    "inside the range" if expected.low <= total <= expected.high else "outside the range",
                    record.started - record.began,
                ),
                flush=True,
            )
    finally:
        runner.close()


if __name__ == "__main__":
    main()
