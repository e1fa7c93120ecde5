"""Mouse strokes that draw each digit on a 280x280 canvas, as a person would: each digit is a
list of strokes, each stroke a list of (x, y) canvas points, densified for smooth mouse moves.
Also what the browser tests and bench/load.py read back from the Draw page while drawing."""

import math


def arc(cx, cy, rx, ry, start_deg, end_deg, n=24):
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in (start_deg + (end_deg - start_deg) * i / n for i in range(n + 1))
    ]


DIGITS = {
    0: [arc(140, 140, 58, 90, -90, 275, 40)],
    1: [[(125, 70), (150, 45), (150, 235)]],
    2: [arc(140, 100, 55, 50, 200, 360, 16) + [(190, 120), (85, 232), (205, 232)]],
    3: [arc(138, 92, 52, 45, 210, 450, 20) + arc(138, 182, 58, 50, 270, 500, 22)],
    4: [[(150, 45), (75, 170), (210, 170)], [(170, 100), (170, 238)]],
    5: [[(195, 50), (100, 50), (92, 130)] + arc(135, 175, 60, 55, 225, 490, 22)],
    6: [[(185, 50), (140, 80)] + arc(140, 180, 55, 55, 205, 565, 30)],
    7: [[(80, 55), (200, 55), (115, 235)]],
    8: [arc(140, 90, 42, 42, 90, 450, 24) + arc(140, 178, 52, 48, -90, 270, 24)],
    9: [arc(138, 92, 50, 45, 0, 360, 24) + [(188, 92), (182, 235)]],
}


def densify(points, step=6.0):
    """Intermediate points every ``step`` pixels, so a mouse drag draws a continuous line."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out


# JavaScript, given the previous address of the "what the network sees" picture: true once the
# app has answered with a new one.
SEEN = """before => { const i = [...document.querySelectorAll('[data-testid="stImage"]')]
                        .find(e => e.innerText.includes("What the network sees"));
                      const img = i && i.querySelector("img");
                      return img && img.getAttribute("src") !== before && img.complete; }"""

# JavaScript for a locator's evaluate_all over the canvases: how many of the given canvas points
# are white (ink; the background is black). The canvas lives in a shadow root, which a locator
# reaches and document.querySelectorAll does not.
INK = """(cs, points) => cs.reduce((n, c) => {
             const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
             const sx = c.width / 280, sy = c.height / 280;  // the canvas may be drawn at a higher resolution
             for (const [x, y] of points) {
               const i = 4 * (Math.round(y * sy) * c.width + Math.round(x * sx));
               if (d[i] > 128) n++;
             }
             return n; }, 0)"""


# -- a style of digit the shipped model misreads: a 9 whose round loop sits on a short tail that
# curls back under it (read as 8 or 0 most of the time). Tablet coordinates, y growing upwards.
def _arc_array(cx, cy, rx, ry, start_deg, end_deg, n):
    import numpy as np

    t = np.radians(np.linspace(start_deg, end_deg, n))
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def curly_nine(rng):
    """One stroke (a list of one ``(n, 2)`` array) of a curly-tailed 9, varied at random by ``rng``."""
    import numpy as np

    loop = _arc_array(0, 60, 30 + rng.normal(0, 3), 25 + rng.normal(0, 3), 0, 360 + rng.normal(0, 10), 30)
    x = loop[-1][0]
    r, bottom = 18 + rng.normal(0, 2), 8 + rng.normal(0, 3)
    stem = np.array([(x, 60), (x + rng.normal(0, 2), bottom + r)])
    hook = _arc_array(x - r, bottom + r, r, r + rng.normal(0, 2), 0, -190 + rng.normal(0, 10), 16)
    return [np.vstack([loop, stem, hook])]


def curly_nines(n, seed):
    """``n`` curly-tailed 9s drawn as on the canvas (white on black, 280x280 uint8), each at its
    own size, place, slant and brush width."""
    import numpy as np

    from nn_core.pendigits import PenDigit, random_render

    rng = np.random.default_rng(seed)
    return [255 - random_render(PenDigit(9, None, curly_nine(rng)), rng, slant=0.2) for _ in range(n)]


def one_png():
    """A photo-like picture of a 1 (a dark bar on white, 200x200), as PNG bytes."""
    import io

    from PIL import Image, ImageDraw

    picture = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(picture).line([(100, 30), (100, 170)], fill=0, width=16)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()
