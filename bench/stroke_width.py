"""How well models read digits whatever the pen: accuracy against the width of the strokes.

Two measures, each for every model given (a name in weights/ or a path):
- the 10,000 MNIST test digits thickened or thinned by whole pixel steps, as the Inside page's
  "thicker strokes" robustness curve does (``augment.transform``); with each level's typical
  stroke width as a share of the digit's height (2 steps: about a quarter);
- the pen-drawn digits of writers 27-30 (kept out of the shipped models' training), drawn once
  each with a round brush of a fixed width, the digit 45% of the canvas tall (a small digit),
  through the Draw page's preprocessing; the brush as a share of the digit's height.

    python bench/stroke_width.py                      # the shipped model
    python -m nn_core train --hidden 800,800 --dropout 0.2 --augment --thicker 2 --schedule cosine \
        --epochs 30 --val-fraction 0 --seed 0 --pen-digits 4 --pen-holdout 27,28,29,30 --name thicker2
    python bench/stroke_width.py default thicker2 thicker3 --names "shipped,--thicker 2,--thicker 3" \
        --png docs/screenshots/thicker-strokes.png  # the shipped recipe with --thicker 2 and 3 beside it

Prints a table per measure and, with ``--png``, draws both side by side (Pillow).
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nn_core import augment, pendigits
from nn_core.data import load_mnist
from nn_core.preprocess import ink_heights, stroke_shares
from nn_core.storage import load_model

STEPS = [-2, -1, 0, 1, 2, 3, 4]  # the robustness view's -2..2, and the thicker pens beyond
BRUSHES = [12, 20, 30, 42, 56]  # canvas pixels; the Draw page's brush goes up to 30
HEIGHT = 0.45  # of the 280-pixel canvas
WRITERS = [27, 28, 29, 30]
COLOURS = ["#9a9a9a", "#1f6fb4", "#d9730d", "#2a9d4b"]


def share_of_height(images):
    """The median, over 28x28 digits, of stroke width over ink height (``preprocess.stroke_shares``)."""
    shares = stroke_shares(images)
    drawn = np.isfinite(shares)
    if not drawn.any() or np.median(ink_heights(images[drawn])) < 8:
        return float("nan")  # most digits erased: nothing left to measure
    return float(np.median(shares[drawn]))


def mnist_curve(models, x, y):
    rows = []
    for step in STEPS:
        images = augment.transform(x, thickness=step)
        accuracy = [float((m.predict_proba(images).argmax(axis=1) == y).mean()) for m in models]
        rows.append((step, share_of_height(images), accuracy, images[:1]))
    return rows


def pen_curve(models, data_dir):
    digits = pendigits.select(pendigits.load_pendigits(data_dir), writers=WRITERS)
    rows = []
    for brush in BRUSHES:
        images, labels, _ = pendigits.pen_images(
            digits, seed=pendigits.MEASURE_SEED, brush=(brush, brush), height=(HEIGHT, HEIGHT)
        )
        accuracy = [float((m.predict_proba(images).argmax(axis=1) == labels).mean()) for m in models]
        rows.append((brush, brush / (HEIGHT * pendigits.CANVAS), accuracy, len(labels)))
    return rows


def panel(draw, box, title, xs, xlabels, series, names, font, small):
    """One line chart of accuracy (0-100%) in ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    draw.text((left, top - 44), title, fill="black", font=font)
    for pct in range(0, 101, 20):
        yy = bottom - (bottom - top) * pct / 100
        draw.line([(left, yy), (right, yy)], fill="#e4e4e4")
        draw.text((left - 8, yy), "%d%%" % pct, fill="#555", font=small, anchor="rm")
    px = [left + (right - left) * (i + 0.5) / len(xs) for i in range(len(xs))]
    for x, label in zip(px, xlabels):
        draw.text((x, bottom + 8), label, fill="#333", font=small, anchor="ma")
    for k, (values, name) in enumerate(zip(series, names)):
        points = [(x, bottom - (bottom - top) * v) for x, v in zip(px, values)]
        draw.line(points, fill=COLOURS[k % len(COLOURS)], width=3)
        for x, yy in points:
            draw.ellipse([x - 4, yy - 4, x + 4, yy + 4], fill=COLOURS[k % len(COLOURS)])
        draw.line([(left + 8 + 150 * k, top - 12), (left + 30 + 150 * k, top - 12)], fill=COLOURS[k % len(COLOURS)], width=3)
        draw.text((left + 36 + 150 * k, top - 12), name, fill=COLOURS[k % len(COLOURS)], font=small, anchor="lm")
    return px


def chart(mnist_rows, pen_rows, names, path):
    width, height = 1100, 520
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    font, small = ImageFont.load_default(size=17), ImageFont.load_default(size=13)
    px = panel(
        draw,
        (70, 80, 520, 380),
        "MNIST test digits, strokes thinned or thickened",
        [r[0] for r in mnist_rows],
        ["%+d" % r[0] if r[0] else "as is" for r in mnist_rows],
        [[r[2][k] for r in mnist_rows] for k in range(len(names))],
        names,
        font,
        small,
    )
    for x, row in zip(px, mnist_rows):  # what each level looks like, and its stroke width
        digit = Image.fromarray((255 - 255 * row[3].reshape(28, 28)).astype(np.uint8)).resize((42, 42))
        picture.paste(digit, (int(x - 21), 420))
        draw.text((x, 470), "%.2f" % row[1] if row[1] == row[1] else "erased", fill="#333", font=small, anchor="ma")
    draw.text(
        (70, 492),
        "pixel steps thinner (-) or thicker, as on the Inside page; stroke width / digit height",
        fill="#555",
        font=small,
    )
    panel(
        draw,
        (620, 80, 1070, 380),
        "Pen-drawn digits of unseen writers, brush widths",
        [r[0] for r in pen_rows],
        ["%d px" % r[0] for r in pen_rows],
        [[r[2][k] for r in pen_rows] for k in range(len(names))],
        names,
        font,
        small,
    )
    for i, row in enumerate(pen_rows):
        x = 620 + 450 * (i + 0.5) / len(pen_rows)
        draw.text((x, 420), "%.2f" % row[1], fill="#333", font=small, anchor="ma")
    draw.text((620, 445), "brush width / digit height (the Draw page's brush: up to 30 px)", fill="#555", font=small)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["default"], help="model names or paths (default: the shipped one)")
    parser.add_argument("--names", default=None, help="their names in the tables and chart, comma-separated (e.g. before,after)")
    parser.add_argument("--data", default=None, help="data folder")
    parser.add_argument("--png", default=None, help="also draw the two curves side by side into this PNG")
    args = parser.parse_args()
    models = [load_model(m) for m in args.models]
    names = args.names.split(",") if args.names else [Path(m).stem for m in args.models]
    mnist = load_mnist(args.data)

    mnist_rows = mnist_curve(models, mnist.x_test, mnist.y_test)
    print("MNIST test digits (n=%d), strokes thinned (-) or thickened by pixel steps; accuracy in %%" % len(mnist.y_test))
    print("%6s %15s  %s" % ("steps", "stroke/height", "  ".join("%10s" % n for n in names)))
    for step, share, accuracy, _ in mnist_rows:
        shown = "%.2f" % share if share == share else "erased"
        print("%+6d %15s  %s" % (step, shown, "  ".join("%10.2f" % (100 * a) for a in accuracy)))

    pen_rows = pen_curve(models, args.data)
    print()
    print(
        "pen-drawn digits of writers %s (n=%d), the digit %d%% of the canvas tall; accuracy in %%"
        % (",".join(map(str, WRITERS)), pen_rows[0][3], 100 * HEIGHT)
    )
    print("%6s %15s  %s" % ("brush", "brush/height", "  ".join("%10s" % n for n in names)))
    for brush, share, accuracy, _ in pen_rows:
        print("%6d %15.2f  %s" % (brush, share, "  ".join("%10.2f" % (100 * a) for a in accuracy)))
    if args.png:
        chart(mnist_rows, pen_rows, names, args.png)
        print("\nchart: %s" % args.png)


if __name__ == "__main__":
    main()
