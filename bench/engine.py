"""What running the training on Dask costs: the embedded cluster's start and memory, how soon a
run's progress can be read, and epoch times on a Dask worker against the same run in a plain
process.

    python bench/engine.py [--epochs 4] [--rounds 6]

Needs MNIST in NN_CORE_DATA_DIR (or the default data folder). Prints:
- the embedded LocalCluster's start (first ``Runner.client()``) and its processes' memory, idle;
- from ``submit`` to the run's first mini-batch point readable in the run store, and from a
  point's being written to its being read (the store is the channel between worker and pages);
- seconds per epoch (median) of the Train page's default network on 20,000 MNIST images, in a
  plain process and on a worker, alternating, and their ratio per round.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nn_core.runner import Runner  # noqa: E402
from nn_core.runs import RunStore  # noqa: E402
from nn_core.runspec import DataRecipe, RunSpec  # noqa: E402
from nn_core.training import TrainConfig  # noqa: E402

PLAIN = """
import json, sys
from nn_core.runspec import RunSpec, DataRecipe, build_training_set
from nn_core.training import TrainConfig, Trainer
config = TrainConfig(**json.loads(sys.argv[1]))
data = build_training_set(RunSpec(config, DataRecipe()))
trainer = Trainer(config, data.images, data.labels)
print(json.dumps([r.seconds for r in trainer.run()]))
"""


def rss_mb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    found = [int(p) for p in out.split()]
    return found + [c for p in found for c in children(p)]


def plain_epochs(config):
    import json

    out = subprocess.run(
        [sys.executable, "-c", PLAIN, json.dumps(config.to_dict())], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    runner = Runner(store=RunStore(folder / "runs.sqlite"))
    before = rss_mb(os.getpid())
    start = time.perf_counter()
    runner.client()
    started = time.perf_counter() - start
    time.sleep(3)
    workers = children(os.getpid())
    print(
        "embedded LocalCluster: started in %.2f s; %d worker processes, %.0f MB between them, idle; "
        "this process +%.0f MB" % (started, len(workers), sum(rss_mb(p) for p in workers), rss_mb(os.getpid()) - before)
    )

    config = TrainConfig(epochs=args.epochs, n_train=20_000, val_fraction=0.0, augment=False, dropout=0.0)
    start = time.perf_counter()
    run = runner.submit(RunSpec(config, DataRecipe(), label="bench"))
    while not run.batch_costs:
        time.sleep(0.01)
    print("submit to the first mini-batch point readable: %.2f s (builds 20,000 images first)" % (time.perf_counter() - start))
    lags = []
    while run.running and len(lags) < 50:
        record = run.runner.store.get(run.id)
        if record.status == "running" and record.heartbeat:
            lags.append(time.time() - record.heartbeat)  # how old the freshest report is when read
        time.sleep(0.05)
    run.join()
    print(
        "age of the freshest report when read, polling every 0.05 s: median %.0f ms, max %.0f ms (reports every %.2f s)"
        % (1000 * statistics.median(lags), 1000 * max(lags), 0.25)
    )

    ratios = []
    for round_ in range(1, args.rounds + 1):

        def on_worker():
            run = runner.submit(RunSpec(config, DataRecipe(), label="bench %d" % round_))  # noqa: B023 (run in this round)
            while runner.store.get(run.id).status in ("queued", "running"):  # a look a second, as a page's refresh
                time.sleep(1.0)
            return statistics.median(r.seconds for r in run.history)

        # Which goes first alternates: the second of two runs in a row tends to meet a slower machine.
        if round_ % 2:
            plain, worker = statistics.median(plain_epochs(config)), on_worker()
        else:
            worker, plain = on_worker(), statistics.median(plain_epochs(config))
        ratios.append(worker / plain)
        print(
            "round %d: seconds per epoch, plain process %.3f s, Dask worker %.3f s: ratio %.2f"
            % (round_, plain, worker, worker / plain)
        )
    print(
        "ratio, Dask worker / plain process: median %.2f over %d rounds (this machine's speed drifts by more than "
        "that from one minute to the next: compare rounds, not single runs)" % (statistics.median(ratios), len(ratios))
    )
    runner.close()


if __name__ == "__main__":
    main()
