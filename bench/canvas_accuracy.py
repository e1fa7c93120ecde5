"""Accuracy of a model on drawings rather than on MNIST itself.

Prints, for the given model (default: the shipped one):
- accuracy on the 10,000 MNIST test images as they are;
- accuracy on canvas-style drawings of MNIST test digits (``nn_core.synthetic``: thick brush,
  random size, position, slant and stroke width, 280x280), sent through exactly the
  preprocessing the Draw page uses (``nn_core.preprocess.to_mnist``);
- the median time of that preprocessing plus the forward pass for one drawing.

    python bench/canvas_accuracy.py [MODEL] [--n 10000] [--seed 0]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nn_core.data import load_mnist  # noqa: E402
from nn_core.predict import classify  # noqa: E402
from nn_core.storage import load_model  # noqa: E402
from nn_core.synthetic import canvas_style_set  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="default")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = load_model(args.model)
    digits = load_mnist()
    mnist_acc = np.mean(model.predict_proba(digits.x_test).argmax(1) == digits.y_test)
    print("model %s: MNIST test accuracy %.2f%% (10,000 images)" % (model.path, 100 * mnist_acc))

    drawings = canvas_style_set(digits.x_test[: args.n], seed=args.seed)
    labels = digits.y_test[: args.n]
    inputs, times = [], []
    for drawing in drawings:
        start = time.perf_counter()
        prediction = classify(model, drawing)
        times.append(time.perf_counter() - start)
        inputs.append(-1 if prediction is None else prediction.digit)
    canvas_acc = np.mean(np.array(inputs) == labels)
    print(
        "canvas-style drawings: accuracy %.2f%% (%d drawings of MNIST test digits, seed %d)"
        % (100 * canvas_acc, len(labels), args.seed)
    )
    print(
        "one drawing, preprocessing + forward pass: median %.2f ms, 95th percentile %.2f ms"
        % (1000 * np.median(times), 1000 * np.percentile(times, 95))
    )


if __name__ == "__main__":
    main()
