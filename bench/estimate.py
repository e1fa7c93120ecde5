"""How well the Train page's time before Start holds: ten varied runs, each estimated as the page
estimates it (``Runner.expected_seconds``, learning from the runs before it, as a server does)
and then run on the embedded cluster, from Start to its results.

    python bench/estimate.py [--fresh]

Needs MNIST in NN_CORE_DATA_DIR. Prints, per run: the estimate, the time from Start to the
results, their ratio (the target is 0.6-1.6), and the parts of the run (startup, training, test).
``--fresh`` estimates every run from the defaults alone, as on a server that has finished no run.
"""

import argparse
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
    ("2x256 relu, mini_batch 32, 10,000 images, 3 epochs", TrainConfig(layer_data=dense_layers([256, 256]), mini_batch=32,
                                                                        n_train=10_000, epochs=3)),
    ("one layer of 64, 5,000 images, 10 epochs", TrainConfig(layer_data=dense_layers([64]), n_train=5000, epochs=10)),
    ("sigmoid 4x1024, gradient descent, 5,000 images, 2 epochs", TrainConfig(layer_data=dense_layers([1024] * 4, "sigmoid"),
                                                                              optimizer="gd", rate=0.1, n_train=5000, epochs=2)),
    ("softmax regression, full batch, all images, 20 epochs", TrainConfig(layer_data=dense_layers([]), mini_batch=None,
                                                                            epochs=20, rate=0.1)),
    ("defaults, all images, 2 epochs", TrainConfig(epochs=2)),
    ("512-256 with augmentation, 5,000 images, 2 epochs", TrainConfig(augment=True, n_train=5000, epochs=2)),
    ("3x128 tanh, mini_batch 8, 5,000 images, 2 epochs", TrainConfig(layer_data=dense_layers([128] * 3, "tanh"), mini_batch=8,
                                                                       n_train=5000, epochs=2)),
    ("pen-drawn digits mixed in, 10,000 images, 2 epochs", TrainConfig(n_train=10_000, epochs=2, pen_digits=4)),
    ("1024-1024, mini_batch 256, 20,000 images, 2 epochs", TrainConfig(layer_data=dense_layers([1024, 1024]), mini_batch=256,
                                                                        n_train=20_000, epochs=2)),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="estimate each run from the defaults alone")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    runner = Runner(store=RunStore(folder / "runs.sqlite"))
    ratios = []
    for i, (name, config) in enumerate(RUNS):
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
        ratios.append(expected.seconds / actual)
        print("%-58s estimate %7s  actual %7s  ratio %.2f  (startup %.1f s, training %.1f s, test %.1f s)" % (
            name, duration(expected.seconds), duration(actual), expected.seconds / actual, record.started - record.began,
            record.trained - record.started, record.ended - record.trained), flush=True)
    inside = sum(0.6 <= r <= 1.6 for r in ratios)
    print("%d of %d estimates within 0.6-1.6x of the time from Start to the results" % (inside, len(ratios)))
    runner.close()


if __name__ == "__main__":
    main()
