"""Canvas-style digits: MNIST test digits redrawn the way people draw on the Draw page.

People draw with a thick round brush, anywhere on a 280x280 canvas, large or small, slanted,
with strokes whose width varies. ``canvas_style`` re-renders a 28x28 digit that way: scaled to a
random height, slanted, its strokes rebuilt at a random (and locally varying) width with soft
edges, and placed at a random spot, white on black like the Draw page's canvas. Feeding these
through ``preprocess.to_mnist`` measures what the network does with drawings rather than with
MNIST itself. Only ever build them from *test* images, so they say nothing the training saw.
"""

import numpy as np
from PIL import Image, ImageFilter

CANVAS = 280


def canvas_style(digit: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS) -> np.ndarray:
    """One 28x28 digit (values in [0, 1]) -> a (canvas, canvas) uint8 drawing, white on black."""
    digit = np.asarray(digit, dtype=np.float32).reshape(28, 28)
    rows, cols = np.nonzero(digit > 0.1)
    crop = digit[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    height = rng.uniform(80, 250)
    f = height / h
    new_w, new_h = max(2, round(w * f)), max(2, round(h * f))
    if new_w > canvas - 20:  # a wide digit: shrink it to fit
        g = (canvas - 20) / new_w
        new_w, new_h, f = canvas - 20, max(2, round(new_h * g)), f * g
    big = Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.Resampling.BICUBIC)

    # Slant: shear around the middle row, widening the image so nothing is cut off.
    shear = rng.uniform(-0.35, 0.35)
    pad = int(abs(shear) * new_h) + 2
    wide = Image.new("L", (new_w + 2 * pad, new_h))
    wide.paste(big, (pad, 0))
    slanted = wide.transform(
        wide.size, Image.Transform.AFFINE, (1, shear, -shear * new_h / 2, 0, 1, 0), Image.Resampling.BILINEAR
    )
    shape = np.asarray(slanted, dtype=np.float32) / 255.0

    # Strokes rebuilt as a brush would draw them. The stroke's core (a threshold that varies
    # smoothly across the digit, so the width varies too) is grown to a brush width drawn from
    # what people use on a 280x280 canvas, then its edges are softened (anti-aliasing). A brush
    # thinner than the core keeps the core: eroding would break the strokes apart.
    coarse = rng.uniform(0.3, 0.65, (3, 3)).astype(np.float32)
    level = np.asarray(Image.fromarray(coarse).resize(shape.shape[::-1], Image.Resampling.BILINEAR))
    core = shape > level
    brush = min(rng.uniform(8, 32), 0.2 * new_h)
    radius = int(round((brush - stroke_width(core)) / 2))
    ink = Image.fromarray((core * 255).astype(np.uint8))
    if radius > 0:
        ink = ink.filter(ImageFilter.MaxFilter(2 * radius + 1))
    ink = ink.filter(ImageFilter.GaussianBlur(1.0))

    out = Image.new("L", (canvas, canvas))
    iw, ih = ink.size
    if iw > canvas or ih > canvas:
        ink = ink.resize((min(iw, canvas), min(ih, canvas)), Image.Resampling.BILINEAR)
        iw, ih = ink.size
    x = int(rng.integers(0, canvas - iw + 1))
    y = int(rng.integers(0, canvas - ih + 1))
    out.paste(ink, (x, y))
    return np.asarray(out)


def stroke_width(mask: np.ndarray) -> float:
    """Mean width of the strokes in a binary mask: area divided by half the perimeter."""
    mask = np.asarray(mask, dtype=bool)
    area = mask.sum()
    if area == 0:
        return 0.0
    edge = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
    return 2.0 * area / max(edge.sum(), 1)


def canvas_style_set(images: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """``canvas_style`` for every image, reproducibly from ``seed``; a list of uint8 arrays."""
    rng = np.random.default_rng(seed)
    return [canvas_style(img, rng) for img in images]
