"""Teaching the shipped model a style it misreads, from a handful of corrected drawings.

A curly-tailed 9 (its tail curls back under the loop; ``tests/strokes.py``) is read as 8 or 0 by
the shipped model most of the time. For each trial, 30 such drawings are kept in a drawings
database with their right label, and the shipped model is fine-tuned on them exactly as the
command line does it:

    python -m nn_core train --from default --drawings DB --epochs 3 --rate 1e-4 --schedule constant \\
        --n-train 10000 --val-fraction 0 --name tuned

then measured on those 30, on 30 new drawings of the same style, and on the MNIST test set.

    python bench/fine_tune.py [--trials 5] [--drawings 30] [--weight 20]
"""

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nn_core import cli  # noqa: E402
from nn_core.data import load_mnist  # noqa: E402
from nn_core.drawings import DrawingStore  # noqa: E402
from nn_core.metrics import evaluate  # noqa: E402
from nn_core.preprocess import to_mnist  # noqa: E402
from nn_core.storage import WEIGHTS_DIR, load_model  # noqa: E402
from strokes import curly_nines  # noqa: E402


def right(model, images):
    return int((model.predict_proba(images.reshape(len(images), -1)).argmax(axis=1) == 9).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--drawings", type=int, default=30)
    parser.add_argument("--weight", type=int, default=20, help="--drawings-weight")
    args = parser.parse_args()
    shipped = load_model(WEIGHTS_DIR / "default.npz")
    mnist = load_mnist()
    base = evaluate(shipped, mnist.x_test, mnist.y_test)["accuracy"]
    n = args.drawings
    print("shipped model: %.2f%% on the MNIST test set" % (100 * base))
    print("trial  seen right before -> after   new right before -> after   MNIST after   seconds")
    for trial in range(args.trials):
        seen = np.array([to_mnist(p) for p in curly_nines(n, seed=1 + trial)])
        new = np.array([to_mnist(p) for p in curly_nines(n, seed=101 + trial)])
        with tempfile.TemporaryDirectory() as folder:
            os.environ["NN_CORE_WEIGHTS_DIR"] = folder
            shutil.copy(WEIGHTS_DIR / "default.npz", folder)
            store = DrawingStore(Path(folder) / "drawings.sqlite")
            store.add_many("bench", seen, [9] * n)
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                status = cli.main(
                    [
                        "train",
                        "--from",
                        "default",
                        "--drawings",
                        str(store.path),
                        "--drawings-weight",
                        str(args.weight),
                        "--epochs",
                        "3",
                        "--rate",
                        "1e-4",
                        "--schedule",
                        "constant",
                        "--n-train",
                        "10000",
                        "--val-fraction",
                        "0",
                        "--seed",
                        str(trial),
                        "--name",
                        "tuned",
                    ]
                )
            seconds = time.perf_counter() - start
            assert status == 0
            tuned = load_model("tuned")
        print(
            "%5d  %7d/%d -> %2d/%d        %7d/%d -> %2d/%d        %6.2f%%     %5.1f"
            % (
                trial,
                right(shipped, seen),
                n,
                right(tuned, seen),
                n,
                right(shipped, new),
                n,
                right(tuned, new),
                n,
                100 * tuned.meta["test_accuracy"],
                seconds,
            )
        )


if __name__ == "__main__":
    main()
