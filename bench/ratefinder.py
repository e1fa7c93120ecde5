"""How good is the rate finder's suggestion? Against the best of a sweep of constant rates.

For each optimizer and each of a few slices of 4,000 MNIST training images (a different seed
each), a 784-64-10 relu network: the finder's suggested rate (one run of 100 mini-batches of 64),
and the best of 7 constant rates spaced about 3.2 times apart, each trained for 3 epochs (best:
highest validation accuracy on 1,000 held-out images). Prints both, their ratio, the ratios of
the two usual rules the suggestion sits between ("fastest": where the cost falls fastest; "tenth":
a tenth of where it is lowest), and the seconds each took; tests/test_ratefinder.py holds the
first slice of adam and gd to a factor of 3.

    python bench/ratefinder.py [--slices 4]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core.data import load_mnist  # noqa: E402
from nn_core.network import dense_layers  # noqa: E402
from nn_core.ratefinder import find_rate  # noqa: E402
from nn_core.sweep import Axis, SweepPlan, landscape, values  # noqa: E402
from nn_core.training import TrainConfig, Trainer  # noqa: E402

RANGES = {"adam": (1e-4, 0.1), "gd": (3e-3, 3.0), "momentum": (1e-3, 1.0)}  # each optimizer's sweep
N = 4000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=4, help="slices of 4,000 images (and seeds) per optimizer")
    args = parser.parse_args()
    digits = load_mnist()
    print("optimizer  slice  suggested  best swept  ratio  fastest  tenth  finder s  sweep s")
    ratios: dict[str, list] = {"suggested": [], "fastest fall": [], "a tenth of the lowest": []}
    for optimizer, (low, high) in RANGES.items():
        for k in range(args.slices):
            X, y = digits.x_train[k * N : (k + 1) * N], digits.y_train[k * N : (k + 1) * N]
            base = TrainConfig(
                layer_data=dense_layers([64]),
                epochs=3,
                mini_batch=64,
                optimizer=optimizer,
                schedule="constant",
                dropout=0.0,
                val_fraction=0.25,
                seed=k,
            )
            start = time.perf_counter()
            found = find_rate(base, X, y).suggestion
            suggested = found.rate
            finder_seconds = time.perf_counter() - start
            plan = SweepPlan([Axis("rate", values("rate", low, high, 7))], base)
            results = []
            for config in plan.configs():
                trainer = Trainer(config, X, y)
                records = list(trainer.run())
                results.append({"val_acc": records[-1].val_acc if trainer.status == "finished" else None})
            best = plan.points()[landscape(plan, results).best]["rate"]
            # The suggestion, and the two usual rules it sits between, each against the best swept rate.
            for name, rate in zip(ratios, (suggested, found.steepest, found.blowup / 10)):
                ratios[name].append(rate / best)
            print(
                "%-9s  %5d  %9.2g  %10.3g  %5.2f  %7.2f  %5.2f  %8.1f  %7.1f"
                % (
                    optimizer,
                    k,
                    suggested,
                    best,
                    *(ratios[name][-1] for name in ratios),
                    finder_seconds,
                    time.perf_counter() - start - finder_seconds,
                )
            )
    for name, found_ratios in ratios.items():
        inside = sum(1 / 3 <= r <= 3 for r in found_ratios)
        print("%s: within a factor of 3 of the best swept rate in %d of %d" % (name, inside, len(found_ratios)))


if __name__ == "__main__":
    main()
