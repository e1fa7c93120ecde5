"""How long the Train page's default settings take to reach 98% on the MNIST test set.

    python bench/time_to_accuracy.py [--target 0.98]

Trains ``TrainConfig()`` (the defaults of the Train page and the command line) on MNIST and
prints, after every epoch, the training seconds so far and the test accuracy (measured outside
the clock), then the time at which the target was first reached.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core.data import load_mnist  # noqa: E402
from nn_core.network import predict_proba  # noqa: E402
from nn_core.training import TrainConfig, Trainer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="time to accuracy of the default settings")
    parser.add_argument("--target", type=float, default=0.98)
    args = parser.parse_args()
    d = load_mnist()
    config = TrainConfig()
    print("defaults: %s" % {k: v for k, v in config.to_dict().items()})
    trainer = Trainer(config, d.x_train, d.y_train)
    clock, reached = 0.0, None
    start = time.perf_counter()
    for record in trainer.run():
        clock += time.perf_counter() - start
        acc = float(np.mean(predict_proba(trainer.params, config.layer_data, d.x_test).argmax(1) == d.y_test))
        print("epoch %2d  %5.1f s  test accuracy %.2f%%" % (record.epoch, clock, 100 * acc))
        if reached is None and acc >= args.target:
            reached = clock
        start = time.perf_counter()
    if reached is None:
        print("never reached %.1f%% (final %.2f%% after %.1f s)" % (100 * args.target, 100 * acc, clock))
    else:
        print("reached %.1f%% after %.1f s of training; final %.2f%% after %.1f s" % (100 * args.target, reached, 100 * acc, clock))


if __name__ == "__main__":
    main()
