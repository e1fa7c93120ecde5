"""How well the Train page's time before Start holds: ten varied runs, each estimated as the page
estimates it (``Runner.expected_seconds``: a range, learning from the runs before it, as a server
does) and then run on the embedded cluster, from Start to its results. The first ``--busy-runs``
runs have ``--busy`` processes competing for the cores (as when the machine is shared), the others
not: the estimate should not learn the slowness of the machine's other work.

    python bench/estimate.py [--fresh] [--busy 2] [--busy-runs 3]

Needs MNIST in NN_CORE_DATA_DIR. Prints, per run: the range shown, the time from Start to the
results, whether it landed in the range, the parts of the run (startup, training, test) and the
share of the machine it had; then how many landed in their range, and how the estimate for the
defaults (all images, 15 epochs) moved: fresh, after the slowed runs, and at the end (aim: at
most 1.5x). ``--fresh`` estimates every run from the defaults alone, as on a server that has
finished no run.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core.data import data_dir  # noqa: E402
from nn_core.network import dense_layers  # noqa: E402
from nn_core.runner import Runner, duration  # noqa: E402
from nn_core.runs import RunStore  # noqa: E402
from nn_core.runspec import DataRecipe, RunSpec, planned_images  # noqa: E402
from nn_core.training import TrainConfig  # noqa: E402

RUNS = [
    ("defaults, 10,000 images, 3 epochs", TrainConfig(n_train=10_000, epochs=3)),
    (
        "2x256 relu, mini_batch 32, 10,000 images, 3 epochs",
        TrainConfig(layer_data=dense_layers([256, 256]), mini_batch=32, n_train=10_000, epochs=3),
    ),
    ("one layer of 64, 5,000 images, 10 epochs", TrainConfig(layer_data=dense_layers([64]), n_train=5000, epochs=10)),
    (
        "sigmoid 4x1024, gradient descent, 5,000 images, 2 epochs",
        TrainConfig(layer_data=dense_layers([1024] * 4, "sigmoid"), optimizer="gd", rate=0.1, n_train=5000, epochs=2),
    ),
    (
        "softmax regression, full batch, all images, 20 epochs",
        TrainConfig(layer_data=dense_layers([]), mini_batch=None, epochs=20, rate=0.1),
    ),
    ("defaults, all images, 2 epochs", TrainConfig(epochs=2)),
    ("512-256 with augmentation, 5,000 images, 2 epochs", TrainConfig(augment=True, n_train=5000, epochs=2)),
    (
        "3x128 tanh, mini_batch 8, 5,000 images, 2 epochs",
        TrainConfig(layer_data=dense_layers([128] * 3, "tanh"), mini_batch=8, n_train=5000, epochs=2),
    ),
    ("pen-drawn digits mixed in, 10,000 images, 2 epochs", TrainConfig(n_train=10_000, epochs=2, pen_digits=4)),
    (
        "1024-1024, mini_batch 256, 20,000 images, 2 epochs",
        TrainConfig(layer_data=dense_layers([1024, 1024]), mini_batch=256, n_train=20_000, epochs=2),
    ),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="estimate each run from the defaults alone")
    parser.add_argument("--busy", type=int, default=2, help="processes competing for the cores during the first runs")
    parser.add_argument("--busy-runs", type=int, default=3, help="how many of the first runs have them beside them")
    parser.add_argument("--runs", type=int, default=len(RUNS), help="how many of the ten runs to make (the first ones)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    runner = Runner(store=RunStore(folder / "runs.sqlite"))
    defaults = TrainConfig()
    n_defaults = planned_images(RunSpec(defaults, DataRecipe(data_dir=str(data_dir()))))["trained"]
    moves = [("fresh", runner.expected_seconds(defaults, n_defaults).seconds)]
    inside, done, busy = 0, 0, []
    try:
        for i, (name, config) in enumerate(RUNS[: args.runs]):
            if i < args.busy_runs and not busy:
                busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
            elif i >= args.busy_runs and busy:
                stop(busy)
                busy = []
                moves.append(("after %d slowed runs" % args.busy_runs, runner.expected_seconds(defaults, n_defaults).seconds))
            if args.fresh:
                runner._store = RunStore(folder / ("fresh-%d.sqlite" % i))  # no finished run to go by
            spec = RunSpec(config, DataRecipe(data_dir=str(data_dir())), label=name)
            expected = runner.expected_seconds(config, planned_images(spec)["trained"])
            start = time.perf_counter()
            run = runner.submit(spec)
            while run.runner.store.get(run.id).status in ("queued", "running"):
                time.sleep(0.2)
            actual = time.perf_counter() - start
            record = run.runner.store.get(run.id)
            landed = expected.low <= actual <= expected.high
            inside += landed
            done += 1
            print(
                "%-58s %s  %-24s actual %7s  %-7s (startup %.1f s, training %.1f s, test %.1f s, machine share %s)"
                % (
                    name,
                    "busy " if busy else "quiet",
                    str(expected),
                    duration(actual),
                    "inside" if landed else ("longer" if actual > expected.high else "shorter"),
                    record.started - record.began,
                    record.trained - record.started,
                    record.ended - record.trained,
                    (record.meta or {}).get("machine_share"),
                ),
                flush=True,
            )
    finally:  # (also when interrupted: the runs made so far are reported)
        stop(busy)
        if len(moves) == 1:
            moves.append(("after the slowed runs", runner.expected_seconds(defaults, n_defaults).seconds))
        moves.append(("at the end", runner.expected_seconds(defaults, n_defaults).seconds))
        print("%d of %d runs took a time inside the range shown before Start" % (inside, done))
        print(
            "The estimate for the defaults (%d images, %d epochs): %s; after the slowed runs it is %.2fx the fresh one"
            % (
                n_defaults,
                defaults.epochs,
                ", ".join("%s %s" % (when, duration(s)) for when, s in moves),
                moves[1][1] / moves[0][1],
            )
        )
        runner.close()


def stop(processes):
    for process in processes:
        process.kill()
        process.wait()


if __name__ == "__main__":
    main()
