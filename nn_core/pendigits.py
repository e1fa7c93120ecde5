"""Pen-drawn digits: real people's handwriting, drawn again the way the Draw page's canvas draws it.

MNIST's digits were written on paper by American census clerks and students. People who draw on
the canvas write differently (a 1 with a flag and a base, a 7 with a crossbar, a 9 with a curved
tail, an open 4), and a network that has only seen MNIST misreads them. The UCI "Pen-Based
Recognition of Handwritten Digits" data set (Alpaydin and Alimoglu, 1998; CC BY 4.0) holds digits
by 30 writers as pen trajectories, in the UNIPEN text format::

    .SEGMENT DIGIT    0 ? "8"        a new digit; its label in quotes
    .COMMENT 8 12  224               label, writer number, sample number
    .PEN_DOWN                        a stroke starts
     267  333                        x y in tablet units; y grows *upwards*
    .PEN_UP                          the stroke ends; a digit may have several

``render`` draws a digit as the canvas would (a white 280x280 picture, a round black brush of a
chosen width, the digit at a chosen size and place), and ``pen_images`` sends such pictures
through the Draw page's own preprocessing, so the network trains and is measured on exactly what
it will see from a person. Since one writer's digits look alike, anything held out for measuring
is held out by *writer* (``writer_folds``), never by sample.
"""

import dataclasses
import hashlib
import os
import time
from collections.abc import Collection, Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .data import DataError, data_dir, find_file, read_bytes
from .files import atomic_write
from .network import N_PIXELS
from .preprocess import BOX
from .preprocess import SIZE as FIELD  # 28 (``SIZE`` here is the file's)

FILE = "pendigits-orig.tra"
SHA256 = "a66225d68d7d68591e62944df1ad33b3f5aa608e2df2505844b41f5568a80da4"
SIZE = 3_641_673  # bytes, decompressed
CANVAS = 280
PenSet = tuple[np.ndarray, np.ndarray, np.ndarray]  # images (n, 784) in [0, 1], labels (n,), writers (n,)
PathText = str | os.PathLike[str]
# How people draw on the canvas: brush width in pixels, digit height as a share of the canvas.
BRUSH = (10.0, 30.0)
HEIGHT = (0.45, 0.85)
# Training drawings are also slanted at random, by up to this shear either way: some people write
# far more slanted than any of the 30 writers (see ``for_training``).
TRAINING_SLANT = 0.35


@dataclasses.dataclass
class PenDigit:
    """One digit: its label, its writer and sample number (None where the file does not say) and
    its strokes, each an ``(n, 2)`` array of x, y points with y growing upwards."""

    label: int
    writer: int | None
    strokes: list
    sample: int | None = None


def parse_unipen(text: str, source: str = "the file") -> list[PenDigit]:
    """The digits of a UNIPEN text; ``DataError`` naming the line of the first problem."""
    digits: list[PenDigit] = []
    strokes: list[list[tuple[float, float]]] | None = None  # of the digit being read
    stroke: list[tuple[float, float]] | None = None  # of the stroke being read
    label = writer = sample = None

    def finish():
        if strokes is not None:
            if not strokes:
                raise DataError("%s: the digit that starts before line %d has no strokes" % (source, lineno))
            digits.append(PenDigit(label, writer, [np.array(s, dtype=np.float64) for s in strokes], sample))

    lineno = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        keyword = words[0]
        if keyword == ".SEGMENT":
            if stroke is not None:
                raise DataError("%s, line %d: a new digit starts inside a stroke (.PEN_UP missing)" % (source, lineno))
            finish()
            quoted = line.split('"')
            if len(quoted) < 3 or len(quoted[1]) != 1 or not quoted[1].isdigit():
                raise DataError('%s, line %d: .SEGMENT needs a label "0" to "9" in quotes: %r' % (source, lineno, line.strip()))
            label, writer, sample, strokes = int(quoted[1]), None, None, []
        elif keyword == ".COMMENT" and strokes is not None and len(words) >= 3 and words[2].isdigit():
            writer = int(words[2])
            sample = int(words[3]) if len(words) >= 4 and words[3].isdigit() else None
        elif keyword == ".PEN_DOWN":
            if strokes is None:
                raise DataError("%s, line %d: .PEN_DOWN before any .SEGMENT" % (source, lineno))
            if stroke is not None:
                raise DataError("%s, line %d: .PEN_DOWN inside a stroke (.PEN_UP missing)" % (source, lineno))
            stroke = []
        elif keyword == ".PEN_UP":
            if stroke is None:
                raise DataError("%s, line %d: .PEN_UP without .PEN_DOWN" % (source, lineno))
            if not stroke:
                raise DataError("%s, line %d: a stroke with no points" % (source, lineno))
            assert strokes is not None  # .PEN_DOWN has checked that a digit is open
            strokes.append(stroke)
            stroke = None
        elif keyword.startswith("."):
            continue  # other keywords (.COMMENT, .DT, .LEXICON, ...) say nothing about the shapes
        else:
            if stroke is None:
                raise DataError("%s, line %d: a point outside a stroke: %r" % (source, lineno, line.strip()))
            try:
                x, y = (float(w) for w in words)
            except ValueError:
                raise DataError("%s, line %d: a point is two numbers, x and y; got %r" % (source, lineno, line.strip())) from None
            if not (np.isfinite(x) and np.isfinite(y)):
                raise DataError("%s, line %d: a point must be finite; got %r" % (source, lineno, line.strip()))
            stroke.append((x, y))
    if stroke is not None:
        raise DataError("%s, line %d: the file ends inside a stroke (.PEN_UP missing)" % (source, lineno))
    lineno += 1
    finish()
    return digits


def load_pendigits(path: PathText | None = None, verify: bool = True) -> list[PenDigit]:
    """The pen-drawn digits in the data folder (found as MNIST is, see ``data.data_dir``);
    ``DataError`` saying what to do when the file is missing or corrupt."""
    folder = data_dir(path)
    found = find_file(folder, FILE)
    if found is None:
        raise DataError(missing_message(folder))
    raw = read_bytes(found, SIZE if verify else None)
    if verify and hashlib.sha256(raw).hexdigest() != SHA256:
        raise DataError(
            "%s is corrupt or incomplete (its SHA-256 does not match the data set's). Delete it and "
            "run `python -m nn_core download --pendigits`." % found.name
        )
    return parse_unipen(raw.decode("latin-1"), found.name)


def pendigits_available(path: PathText | None = None) -> bool:
    return find_file(data_dir(path), FILE) is not None


def missing_message(folder: Path) -> str:
    return (
        "The pen-drawn digits were not found in the data folder %s. Run `python -m nn_core download "
        "--pendigits`, or put %s (gzipped or not) there." % (folder, FILE)
    )


def canvas_strokes(
    digit: PenDigit, brush: float = 20.0, height: float = 0.65, centre: tuple[float, float] = (0.5, 0.5), canvas: int = CANVAS
) -> list[np.ndarray]:
    """The strokes of ``digit`` in canvas pixels (y growing downwards, as on a screen): the digit
    ``height`` (a share of the canvas) tall, or less if it would otherwise not fit across, its
    middle at ``centre`` (shares of the canvas), moved as little as needed to keep a brush
    ``brush`` pixels wide on the canvas. A list of ``(n, 2)`` arrays of x, y."""
    points = np.concatenate(digit.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-9)
    room = canvas - brush - 2  # the ink must fit, brush included
    scale = min(height * canvas, room) / span[1] if span[1] > 1e-6 else room / span[0]
    scale = min(scale, room / span[0])
    size = span * scale
    margin = brush / 2 + 1
    cx = np.clip(centre[0] * canvas, margin + size[0] / 2, canvas - margin - size[0] / 2)
    cy = np.clip(centre[1] * canvas, margin + size[1] / 2, canvas - margin - size[1] / 2)
    middle = (low + high) / 2
    # The tablet's y grows upwards, the canvas's downwards.
    return [np.column_stack([cx + (s[:, 0] - middle[0]) * scale, cy - (s[:, 1] - middle[1]) * scale]) for s in digit.strokes]


def render(
    digit: PenDigit, brush: float = 20.0, height: float = 0.65, centre: tuple[float, float] = (0.5, 0.5), canvas: int = CANVAS
) -> np.ndarray:
    """Draw ``digit`` as on the canvas: a white ``canvas`` x ``canvas`` uint8 picture with round
    black strokes ``brush`` pixels wide, placed as ``canvas_strokes`` says."""
    picture = Image.new("L", (canvas, canvas), 255)
    pen = ImageDraw.Draw(picture)
    r = brush / 2
    for stroke in canvas_strokes(digit, brush, height, centre, canvas):
        xy = [tuple(p) for p in stroke.tolist()]
        if len(xy) > 1:
            pen.line(xy, fill=0, width=max(1, round(brush)), joint="curve")
        for px, py in (xy[0], xy[-1]):  # round ends, as a round brush leaves them
            pen.ellipse((px - r, py - r, px + r, py + r), fill=0)
    return np.asarray(picture)


def slanted(digit: PenDigit, shear: float) -> PenDigit:
    """``digit`` with its strokes slanted: x moves by ``shear`` times the height above the middle
    (positive leans the top to the right, as in most right-handed writing)."""
    points = np.concatenate(digit.strokes)
    middle = (points[:, 1].min() + points[:, 1].max()) / 2
    strokes = [np.column_stack([s[:, 0] + shear * (s[:, 1] - middle), s[:, 1]]) for s in digit.strokes]
    return dataclasses.replace(digit, strokes=strokes)


def random_render(
    digit: PenDigit,
    rng: np.random.Generator,
    brush: tuple[float, float] = BRUSH,
    height: tuple[float, float] = HEIGHT,
    canvas: int = CANVAS,
    slant: float = 0.0,
) -> np.ndarray:
    """``render`` at a brush width and a height drawn uniformly from the given ranges, anywhere
    on the canvas; with ``slant``, first slanted by a shear drawn from [-slant, slant]."""
    if slant:
        digit = slanted(digit, rng.uniform(-slant, slant))
    return render(digit, rng.uniform(*brush), rng.uniform(*height), tuple(rng.uniform(0, 1, 2)), canvas)


def pen_images(
    digits: list[PenDigit],
    seed: int = 0,
    variants: int = 1,
    brush: tuple[float, float] = BRUSH,
    height: tuple[float, float] = HEIGHT,
    slant: float = 0.0,
) -> PenSet:
    """Every digit drawn ``variants`` times at random (reproducibly per ``seed``; see
    ``random_render``) and preprocessed as the Draw page does: ``(images (n, 784) float32,
    labels (n,) uint8, writers (n,) int)``. The pictures are drawn straight at the size
    ``to_mnist`` brings them to (see ``draw_mnist``), not on a 280-pixel canvas first."""
    rng = np.random.default_rng(seed)
    drawn, draws = [], []
    for _ in range(variants):
        for d in digits:
            # The same draws, in the same order, as ``random_render``: a slant, a brush width, a
            # height and a place (which changes nothing once ``to_mnist`` has cropped the ink).
            shear = rng.uniform(-slant, slant) if slant else 0.0
            draws.append((shear, rng.uniform(*brush), rng.uniform(*height)))
            rng.uniform(0, 1, 2)
            drawn.append(d)
    if not drawn:
        return np.zeros((0, N_PIXELS), np.float32), np.zeros(0, np.uint8), np.zeros(0, np.int64)
    table = np.array(draws)
    images = np.concatenate(
        [_draw(*pen_geometry(drawn[i : i + DRAW_CHUNK], *table[i : i + DRAW_CHUNK].T)) for i in range(0, len(drawn), DRAW_CHUNK)]
    )
    labels = np.array([d.label for d in drawn], np.uint8)
    writers = np.array([-1 if d.writer is None else d.writer for d in drawn], np.int64)
    return images.reshape(len(drawn), N_PIXELS), labels, writers


# ``draw_mnist`` can draw this many times finer than the 20-pixel box and shrink the result as
# ``to_mnist`` does. 1 is enough: each pixel already takes the share of it that the brush covers
# (anti-aliased), and the shipped model reads such drawings as well as the canvas's (98.4% and
# 98.3% on its unseen writers) at an eighth of the time.
SUPERSAMPLE = 1
PIECE = 2.0  # longest piece of a stroke, in fine pixels: one small window of pixels then covers each
DRAW_CHUNK = 256  # drawings computed together (a few tens of MB of work arrays)


def draw_mnist(jobs: list[tuple[list[np.ndarray], float]]) -> np.ndarray:
    """``to_mnist(picture)`` for each ``(strokes, brush)`` of ``jobs`` (strokes in canvas pixels,
    as ``canvas_strokes`` gives them, drawn with a round brush ``brush`` pixels wide), computed
    without drawing the canvas: ``(n, 28, 28)`` float32.

    ``to_mnist`` keeps only the ink's bounding box, shrunk so that its longest side is 20 pixels;
    so each digit is drawn straight into that box at ``SUPERSAMPLE`` times its resolution. A round
    brush inks every point within its radius of the pen's path: each pixel takes the coverage
    ``radius - distance + 0.5`` (clipped to 0..1) of the nearest piece of stroke, for all the
    pieces of all the digits of ``jobs`` in a few whole-array operations. The box is then shrunk
    (Lanczos, as ``to_mnist``) and placed by its centre of mass in the 28x28 field. The result
    differs from ``to_mnist(render(...))`` by about as much as drawing the digit elsewhere on the
    canvas does (tests/test_pendigits.py)."""
    n, s = len(jobs), SUPERSAMPLE
    starts, ends, radius, boxes = [], [], np.empty(n, np.float32), np.empty((n, 2), np.int64)
    for i, (strokes, brush) in enumerate(jobs):
        half = brush / 2
        points = np.concatenate(strokes)
        low = points.min(axis=0) - half
        span = points.max(axis=0) + half - low  # the ink's width and height on the canvas
        scale = BOX / span.max() * s  # fine pixels per canvas pixel
        boxes[i] = [max(1, round(v * BOX / span.max())) for v in span]  # the box's width, height
        radius[i] = half * scale
        # A stroke of one point is a dot: a piece from the point to itself.
        starts.append((np.concatenate([st[:-1] if len(st) > 1 else st for st in strokes]) - low) * scale)
        ends.append((np.concatenate([st[1:] if len(st) > 1 else st for st in strokes]) - low) * scale)
    owner = np.repeat(np.arange(n), [len(a) for a in starts])
    return _draw(np.concatenate(starts), np.concatenate(ends), owner, radius, boxes)


def pen_geometry(digits: list[PenDigit], shear: np.ndarray, brush: np.ndarray, height: np.ndarray):
    """What ``draw_mnist`` computes from ``canvas_strokes``, for many drawings at once: each of
    ``digits`` slanted by ``shear`` (see ``slanted``), as tall as ``height`` says on the canvas
    (or less, see ``canvas_strokes``) and drawn with a brush ``brush`` canvas pixels wide. Returns
    the pieces' starts and ends in fine pixels, the drawing each belongs to, each drawing's brush
    radius in fine pixels and its box's width and height in the 28x28 field."""
    s = SUPERSAMPLE
    points = [_points(d) for d in digits]
    counts = np.array([len(p[0]) for p in points])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    xy = np.concatenate([p[0] for p in points])
    owner = np.repeat(np.arange(len(digits)), counts)
    y = xy[:, 1]
    y_low, y_high = np.minimum.reduceat(y, offsets), np.maximum.reduceat(y, offsets)
    x = xy[:, 0] + shear[owner] * (y - ((y_low + y_high) / 2)[owner])
    x_low, x_high = np.minimum.reduceat(x, offsets), np.maximum.reduceat(x, offsets)
    # canvas_strokes's scale: canvas pixels per tablet unit.
    span_x, span_y = np.maximum(x_high - x_low, 1e-9), np.maximum(y_high - y_low, 1e-9)
    room = CANVAS - brush - 2
    scale = np.where(span_y > 1e-6, np.minimum(height * CANVAS, room) / span_y, room / span_x)
    scale = np.minimum(scale, room / span_x)
    half = brush / 2
    width, tall = span_x * scale + brush, span_y * scale + brush  # the ink on the canvas
    fine = BOX / np.maximum(width, tall) * s  # fine pixels per canvas pixel
    boxes = np.column_stack(
        [
            np.maximum(1, np.round(width * BOX / np.maximum(width, tall))),
            np.maximum(1, np.round(tall * BOX / np.maximum(width, tall))),
        ]
    ).astype(np.int64)
    radius = (half * fine).astype(np.float32)
    unit = (scale * fine)[owner]  # fine pixels per tablet unit
    # The canvas's y grows downwards, the tablet's upwards.
    grid = np.column_stack([(x - x_low[owner]) * unit + radius[owner], (y_high[owner] - y) * unit + radius[owner]])
    pairs = np.concatenate([p[1] + o for p, o in zip(points, offsets)])
    return grid[pairs[:, 0]], grid[pairs[:, 1]], owner[pairs[:, 0]], radius, boxes


def _points(digit: PenDigit) -> tuple[np.ndarray, np.ndarray]:
    """A digit's points in one array, and the pairs of them that are a piece of stroke (a stroke of
    one point is a dot: a piece from the point to itself)."""
    xy = np.concatenate(digit.strokes)
    pairs, start = [], 0
    for stroke in digit.strokes:
        k = np.arange(start, start + len(stroke))
        pairs.append(np.column_stack([k[:-1], k[1:]]) if len(stroke) > 1 else np.column_stack([k, k]))
        start += len(stroke)
    return xy, np.concatenate(pairs)


def _draw(a: np.ndarray, b: np.ndarray, owner: np.ndarray, radius: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The drawings of ``draw_mnist``: pieces of stroke from ``a`` to ``b`` (fine pixels), of the
    drawing ``owner``, with the drawings' brush ``radius`` (fine pixels) and ``boxes``."""
    n, s = len(radius), SUPERSAMPLE
    a, b = a.astype(np.float32), b.astype(np.float32)
    # Cut the segments into pieces no longer than PIECE.
    count = np.maximum(1, np.ceil(np.hypot(*(b - a).T) / PIECE)).astype(np.int64)
    segment = np.repeat(np.arange(len(a)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    step = ((b - a)[segment] / count[segment, None]).astype(np.float32)
    start = a[segment] + k[:, None].astype(np.float32) * step
    owner = owner[segment]
    r = radius[owner][:, None, None]
    # Each piece's window: the pixels within its reach. Its pixels' centres relative to the piece.
    win = int(np.ceil(PIECE + 2 * radius.max() + 2))
    corner = np.floor(np.minimum(start, start + step) - r[:, :, 0] - 0.5).astype(np.int64)
    x = corner[:, 0, None, None] + np.arange(win)[None, None, :]
    y = corner[:, 1, None, None] + np.arange(win)[None, :, None]
    px = (x + 0.5 - start[:, 0, None, None]).astype(np.float32)
    py = (y + 0.5 - start[:, 1, None, None]).astype(np.float32)
    dx, dy = step[:, 0, None, None], step[:, 1, None, None]
    # Distance to a segment: to the nearest of its points, at t in [0, 1] along it.
    t = np.clip((px * dx + py * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0, 1)
    coverage = np.clip(r + 0.5 - np.hypot(px - t * dx, py - t * dy), 0, 1)
    # One padded grid per digit, so that no window falls outside it; overlapping pieces keep the darkest.
    side = BOX * s + 2 * win
    where = (owner[:, None, None] * side + (y + win)) * side + (x + win)
    grid = np.zeros(n * side * side, np.float32)
    np.maximum.at(grid, where.ravel(), coverage.ravel())
    fine = (grid.reshape(n, side, side) * 255).astype(np.uint8)
    field = np.zeros((n, FIELD, FIELD), np.float32)
    for i, (w, h) in enumerate(boxes):
        crop = fine[i, win : win + h * s, win : win + w * s]
        if s > 1:
            crop = np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.LANCZOS))
        y0, x0 = (FIELD - h) // 2, (FIELD - w) // 2
        field[i, y0 : y0 + h, x0 : x0 + w] = crop * np.float32(1 / 255)
    return centre_of_mass_shifts(field)


def centre_of_mass_shifts(fields: np.ndarray) -> np.ndarray:
    """``preprocess.center_of_mass_shift`` of each of ``fields`` (``(n, 28, 28)``), all at once."""
    n = len(fields)
    total = fields.sum(axis=(1, 2))
    total = np.where(total > 0, total, 1)
    cy = (fields.sum(axis=2) * np.arange(FIELD)).sum(axis=1) / total
    cx = (fields.sum(axis=1) * np.arange(FIELD)).sum(axis=1) / total
    ink: np.ndarray = fields > 0
    rows = np.any(ink, axis=2)
    cols = np.any(ink, axis=1)
    first_row, last_row = rows.argmax(axis=1), FIELD - 1 - rows[:, ::-1].argmax(axis=1)
    first_col, last_col = cols.argmax(axis=1), FIELD - 1 - cols[:, ::-1].argmax(axis=1)
    dy = np.clip(np.round((FIELD - 1) / 2 - cy).astype(np.int64), -first_row, FIELD - 1 - last_row)
    dx = np.clip(np.round((FIELD - 1) / 2 - cx).astype(np.int64), -first_col, FIELD - 1 - last_col)
    index = np.arange(FIELD)
    from_row = (index[None, :] - dy[:, None]) % FIELD
    from_col = (index[None, :] - dx[:, None]) % FIELD
    return fields[np.arange(n)[:, None, None], from_row[:, :, None], from_col[:, None, :]]


def writers_of(digits: Iterable[PenDigit]) -> list[int]:
    return sorted({d.writer for d in digits if d.writer is not None})


def writer_folds(writers: list[int], k: int = 5) -> list[list[int]]:
    """Split the writer numbers into ``k`` folds of (nearly) equal size, in order: fold ``i`` is
    the ``i``-th slice of the sorted numbers. Train on the others, measure on the fold."""
    writers = sorted(writers)
    if not 2 <= k <= len(writers):
        raise ValueError("k must lie between 2 and the number of writers (%d), got %r" % (len(writers), k))
    return [[int(w) for w in part] for part in np.array_split(writers, k)]


def select(
    digits: Iterable[PenDigit], writers: Collection[int] | None = None, exclude: Collection[int] | None = None
) -> list[PenDigit]:
    """The digits by the given writers, or by all but the excluded ones."""
    writers = None if writers is None else set(writers)
    exclude = set(exclude or ())
    return [d for d in digits if (writers is None or d.writer in writers) and d.writer not in exclude]


def for_training(digits: list[PenDigit], drawings: int, seed: int, holdout: Collection[int] = ()) -> PenSet:
    """The pen-drawn images a run trains on (see ``TrainConfig.pen_digits``): every digit by a
    writer not in ``holdout``, drawn ``drawings`` times, reproducibly per ``seed``, each drawing
    slanted at random (``TRAINING_SLANT``)."""
    return pen_images(select(digits, exclude=holdout), seed=seed, variants=drawings, slant=TRAINING_SLANT)


PAGE_DRAWINGS = 4  # drawings of each digit when the Train page mixes them in (as bench/pen_accuracy.py measures)
RENDER_VERSION = 3  # raise when the drawing of the digits changes, so that older cached drawings are not used
CACHED_SETS = 4  # drawn training sets kept on disk at most


def cache_dir() -> Path:
    """Where drawn training sets are kept between runs: ``NN_CORE_CACHE_DIR``, else ~/.cache/nn_core/drawn."""
    return Path(os.environ.get("NN_CORE_CACHE_DIR") or Path.home() / ".cache" / "nn_core" / "drawn")


# Seconds to draw one pen-drawn training image, when they are not in the cache yet: 0.11-0.17 ms on
# the project's 2-core machine at load 1-1.4, 0.34 ms at load 4.5 (bench/pen_accuracy.py
# --drawing-time; bench/first_run.py).
SECONDS_PER_DRAWING = 1.5e-4


def cache_path(drawings: int, seed: int, holdout: Collection[int] = ()) -> Path:
    """The file that keeps ``for_training(..., drawings, seed, holdout)`` once drawn."""
    return cache_dir() / ("pen-v%d-%d-%d-%s.npz" % (RENDER_VERSION, drawings, seed, "_".join(map(str, sorted(holdout))) or "all"))


def is_cached(drawings: int, seed: int, holdout: Collection[int] = ()) -> bool:
    """Whether that training set is drawn already (a run then reads it in a fraction of a second)."""
    return cache_path(drawings, seed, holdout).is_file()


def cached_for_training(folder: Path, drawings: int, seed: int, holdout: Collection[int] = ()) -> PenSet:
    """``for_training`` of the data folder's digits, drawn once and then read from a file (drawing
    four of each takes a few seconds, reading them back a fraction of a second). A cache that
    cannot be written or read is simply drawn again."""
    path = cache_path(drawings, seed, holdout)
    try:
        with np.load(path, allow_pickle=False) as cached:
            return cached["images"], cached["labels"], cached["writers"]
    except (OSError, ValueError, KeyError, EOFError):
        pass
    pen = for_training(load_pendigits(folder), drawings, seed, holdout)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: np.savez(f, images=pen[0], labels=pen[1], writers=pen[2]))
        for old in sorted(path.parent.glob("pen-*.npz"), key=lambda p: p.stat().st_mtime)[:-CACHED_SETS]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    return pen


def draw_ahead(folder: Path, seed: int = 0) -> tuple[int, float] | None:
    """Draw the training set the Train page mixes in (``PAGE_DRAWINGS`` of each digit, ``seed``),
    once, right after the digits are downloaded: a first run with them then starts as quickly as
    any. Returns ``(images, seconds)`` when it drew them, None when they were drawn already."""
    if is_cached(PAGE_DRAWINGS, seed):
        return None
    start = time.perf_counter()
    images, _, _ = cached_for_training(folder, PAGE_DRAWINGS, seed)
    return len(images), time.perf_counter() - start


# How the measuring sets are drawn (bench/pen_accuracy.py, the Inside page): a brush a person
# picks on the canvas, a little inside the training range; two drawings of each digit.
MEASURE_BRUSH = (12, 28)
MEASURE_DRAWINGS = 2
MEASURE_SEED = 2024
UNSEEN_WRITERS = (27, 28, 29, 30)  # the shipped model never trained on these


def measuring_set(digits: list[PenDigit], writers: Collection[int]) -> PenSet:
    """The digits of ``writers`` drawn as people draw on the canvas, for measuring a model:
    ``pen_images``'s triple, the same every time."""
    return pen_images(select(digits, writers=writers), MEASURE_SEED, MEASURE_DRAWINGS, brush=MEASURE_BRUSH)
