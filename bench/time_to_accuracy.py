"""How long the Train page's default settings take to reach 98% on the MNIST test set.

    python bench/time_to_accuracy.py [--target 0.98] [--old] [--set rate=0.003 --set mini_batch=256 ...]

Trains ``TrainConfig()`` (the defaults of the Train page and the command line) on MNIST and
prints, after every epoch, the training seconds so far and the test accuracy (measured outside
the clock), then the time at which the target was first reached. Beside it, the machine's float32
matrix-multiply rate (measured before and after training), so that a time measured on one machine
can be compared with another's. ``--old`` trains the defaults before this rate was aimed at
(``OLD_DEFAULTS``), ``--set`` changes any setting, for side-by-side comparisons.
"""

import argparse
import ast
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core.data import load_mnist  # noqa: E402
from nn_core.network import dense_layers, predict_proba  # noqa: E402
from nn_core.training import TrainConfig, Trainer  # noqa: E402
from speed import gemm_rate  # noqa: E402  (bench/speed.py, beside this file)

# The defaults until the end of 2026: 98.0% after 4 epochs (13 s on a 2-core machine), 98.5% after 15.
OLD_DEFAULTS = {
    "layer_data": dense_layers([512, 256], "relu"),
    "epochs": 15,
    "mini_batch": 128,
    "rate": 1e-3,
    "optimizer": "adam",
    "schedule": "cosine",
    "dropout": 0.2,
}


def setting(text):
    """``key=value`` from the command line, the value read as a Python literal where it is one."""
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main():
    parser = argparse.ArgumentParser(description="time to accuracy of the default settings")
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--old", action="store_true", help="the defaults before this benchmark's aim (OLD_DEFAULTS)")
    parser.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting, e.g. rate=0.003 or hidden=[256,128]",
    )
    args = parser.parse_args()
    d = load_mnist()
    changes = dict(OLD_DEFAULTS) if args.old else {}
    for key, value in args.set:
        if key == "hidden":
            changes["layer_data"] = dense_layers(value, "relu")
        else:
            changes[key] = value
    config = TrainConfig(**changes)
    print("settings: %s" % {k: v for k, v in config.to_dict().items()})
    rates = [gemm_rate()]
    print("float32 matrix multiply (2048x2048) before training: %.1f GFLOP/s" % (rates[0] / 1e9))
    trainer = Trainer(config, d.x_train, d.y_train)
    clock, reached, reached_epoch = 0.0, None, None
    start = time.perf_counter()
    for record in trainer.run():
        clock += time.perf_counter() - start
        acc = float(np.mean(predict_proba(trainer.params, config.layer_data, d.x_test).argmax(1) == d.y_test))
        print("epoch %2d  %5.1f s  test accuracy %.2f%%" % (record.epoch, clock, 100 * acc), flush=True)
        if reached is None and acc >= args.target:
            reached, reached_epoch = clock, record.epoch
        start = time.perf_counter()
    rates.append(gemm_rate())
    rate = "matrix multiply %.1f GFLOP/s (before and after training: %s)" % (
        statistics.mean(rates) / 1e9,
        ", ".join("%.1f" % (r / 1e9) for r in rates),
    )
    if reached is None:
        print("never reached %.1f%% (final %.2f%% after %.1f s); %s" % (100 * args.target, 100 * acc, clock, rate))
    else:
        print(
            "reached %.1f%% after %.1f s of training (epoch %d); final %.2f%% after %.1f s (%d epochs); %s"
            % (100 * args.target, reached, reached_epoch, 100 * acc, clock, config.epochs, rate)
        )


if __name__ == "__main__":
    main()
