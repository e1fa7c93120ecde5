"""What watching a network's health costs (``nn_core.health``): seconds per epoch with and without
the figures, alternating, for the Train page's default network and for a deep narrow one.

    python bench/health.py [--rounds 5]

Needs MNIST in NN_CORE_DATA_DIR. Prints each network's median seconds per epoch both ways and the
extra share the figures cost.
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core import health  # noqa: E402
from nn_core.data import load_mnist  # noqa: E402
from nn_core.network import dense_layers  # noqa: E402
from nn_core.training import TrainConfig, Trainer  # noqa: E402


def epoch_seconds(config, mnist, watched):
    wanted = health.Health.wanted
    if not watched:
        health.Health.wanted = lambda self, batch: False
    try:
        trainer = Trainer(config, mnist.x_train, mnist.y_train)
        return statistics.median(r.seconds for r in trainer.run())
    finally:
        health.Health.wanted = wanted


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    mnist = load_mnist()
    networks = {
        "784-512-256-10 relu, mini_batch 128 (the default)": TrainConfig(epochs=2, n_train=20_000),
        "784-(64 x 4)-10 sigmoid, mini_batch 32": TrainConfig(
            layer_data=dense_layers([64] * 4, "sigmoid"), mini_batch=32, epochs=2, n_train=10_000
        ),
    }
    for name, config in networks.items():
        on, off = [], []
        for _ in range(args.rounds):
            off.append(epoch_seconds(config, mnist, False))
            on.append(epoch_seconds(config, mnist, True))
        a, b = statistics.median(off), statistics.median(on)
        print("%s: %.3f s per epoch without the figures, %.3f s with: %+.1f%%" % (name, a, b, 100 * (b / a - 1)))


if __name__ == "__main__":
    main()
