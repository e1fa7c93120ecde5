"""Accuracy on real people's pen-drawn digits, by writers the network never trained on.

Digits are drawn as people draw on the canvas (round brush 12-28 px, 45-85% of the canvas tall,
anywhere on it; ``nn_core.pendigits``) and sent through the Draw page's own preprocessing. One
writer's digits look alike, so everything here holds out whole writers, never single digits.

    python bench/pen_accuracy.py                       # the shipped model, on its held-out writers
    python bench/pen_accuracy.py --folds 5             # and its recipe, 5 folds by writer
    python bench/pen_accuracy.py --recipe defaults --folds 5   # the Train page defaults + pen digits
    python bench/pen_accuracy.py --thicker 3 --folds 5   # the recipe with strokes thickened (augment.restroke)
    python bench/pen_accuracy.py --drawing-time        # and how long a run's pen-drawn training set takes to draw

For each fold the recipe is trained again on MNIST and the pen digits of the other writers, then
measured on the fold's writers (and on the MNIST test set). Prints accuracy per digit.
"""

import argparse
import time

import numpy as np

from nn_core import data, pendigits
from nn_core.data import load_mnist
from nn_core.metrics import evaluate
from nn_core.model import Model
from nn_core.storage import load_model
from nn_core.training import TrainConfig, Trainer


def measure(model, digits, writers):
    images, labels, _ = pendigits.measuring_set(digits, writers)
    return evaluate(model, images, labels)


def row(name, result):
    per_class = "  ".join("%5.1f" % (100 * a) for a in result["per_class_accuracy"])
    return "%-26s %6.2f%%  %s  (n=%d)" % (name, 100 * result["accuracy"], per_class, result["n"])


def confusions(result, most=6):
    """The commonest misreadings, as "9 read as 7: 16"."""
    C = np.array(result["confusion_matrix"])
    np.fill_diagonal(C, 0)
    worst = np.argsort(C, axis=None)[::-1][:most]
    pairs = [np.unravel_index(i, C.shape) for i in worst]
    return "  commonest misreadings: " + ", ".join("%d read as %d: %d" % (t, p, C[t, p]) for t, p in pairs if C[t, p])


def header():
    return "%-26s %7s  %s" % ("", "all", "  ".join("%5d" % d for d in range(10)))


def recipe(name, shipped):
    if name == "shipped":
        hp = dict(shipped.meta["hyperparameters"])
        return TrainConfig(layer_data=shipped.layer_data, **hp)
    return TrainConfig(pen_digits=4)  # the Train page defaults, with pen-drawn digits mixed in


def pooled(results):
    C = sum(np.array(r["confusion_matrix"]) for r in results)
    return {
        "accuracy": np.trace(C) / C.sum(),
        "n": int(C.sum()),
        "confusion_matrix": C.tolist(),
        "per_class_accuracy": list(np.diag(C) / np.maximum(C.sum(axis=1), 1)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="model measured on its held-out writers (default: the shipped one)")
    parser.add_argument("--recipe", choices=["shipped", "defaults"], default="shipped", help="what the folds train")
    parser.add_argument("--folds", type=int, default=0, help="train the recipe again this many times, folds by writer (0: skip)")
    parser.add_argument("--data", default=None, help="data folder")
    parser.add_argument("--thicker", type=float, default=None, help="the folds' recipe with this TrainConfig.thicker instead")
    parser.add_argument(
        "--drawing-time",
        action="store_true",
        help="time the drawing of a training set (4 drawings of each digit, as a first run draws it)",
    )
    args = parser.parse_args()

    start = time.perf_counter()
    digits = pendigits.load_pendigits(args.data)
    if args.drawing_time:
        read = time.perf_counter() - start
        start = time.perf_counter()
        drawn = len(pendigits.for_training(digits, 4, 0)[1])
        seconds = time.perf_counter() - start
        print(
            "reading the %d pen-drawn digits: %.1f s; drawing %d of them for training: %.1f s, %.2f ms a drawing"
            % (len(digits), read, drawn, seconds, 1e3 * seconds / drawn)
        )
    model = load_model(args.model)
    held = model.meta.get("hyperparameters", {}).get("pen_holdout") or []
    print(
        "pen-drawn digits, drawn with a %d-%d px brush, %d drawings each; accuracy per digit in %%"
        % (*pendigits.MEASURE_BRUSH, pendigits.MEASURE_DRAWINGS)
    )
    print(header())
    if held:
        result = measure(model, digits, held)
        print(row("%s, writers %s" % (args.model, ",".join(map(str, held))), result))
    else:
        result = measure(model, digits, pendigits.writers_of(digits))
        print(row("%s, all 30 writers" % args.model, result))
    print(confusions(result))
    if not args.folds:
        return
    mnist = load_mnist(args.data)
    base = recipe(args.recipe, model)
    if args.thicker is not None:
        base.thicker = args.thicker
    results = []
    for fold in pendigits.writer_folds(pendigits.writers_of(digits), args.folds):
        config = TrainConfig(**dict(base.to_dict(), pen_holdout=fold))
        pen = pendigits.for_training(digits, config.pen_digits, config.seed, config.pen_holdout)
        images, labels, groups = data.mix(mnist.x_train, mnist.y_train, None, pen)
        trainer = Trainer(config, images, labels, groups=groups)
        start = time.perf_counter()
        for _ in trainer.run():
            pass
        trained = Model(config.layer_data, trainer.params)
        result = measure(trained, digits, fold)
        results.append(result)
        on_mnist = evaluate(trained, mnist.x_test, mnist.y_test)["accuracy"]
        print(
            row("%s, writers %d-%d" % (args.recipe, fold[0], fold[-1]), result)
            + "  MNIST test %.2f%%, %.0f s" % (100 * on_mnist, time.perf_counter() - start),
            flush=True,
        )
    print(row("%s, %d folds pooled" % (args.recipe, args.folds), pooled(results)))
    print(confusions(pooled(results)))


if __name__ == "__main__":
    main()
