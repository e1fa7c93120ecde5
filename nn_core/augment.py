"""Data augmentation: random distortions of 28x28 digits, applied to each mini-batch.

A dense network sees pixels, not shapes: a digit moved by two pixels is, to it, a new input.
Showing it slightly shifted, rotated, scaled, sheared, elastically bent and thickened or thinned
copies of the training digits teaches it what does not change a digit, which is what makes it
generalise to the test set and to digits drawn on the canvas. ``restroke`` goes further on stroke
width alone, for digits written with a thick pen.

Everything is vectorised over the batch: one random affine map and one smooth random
displacement field per image, then bilinear resampling of all images at once.
"""

import numpy as np

SIZE = 28


def _upsample_matrix(n_coarse, n_fine=SIZE):
    """Linear-interpolation matrix that turns ``n_coarse`` samples into ``n_fine``."""
    pos = np.linspace(0, n_coarse - 1, n_fine)
    lo = np.clip(np.floor(pos).astype(int), 0, n_coarse - 2)
    frac = pos - lo
    U = np.zeros((n_fine, n_coarse))
    U[np.arange(n_fine), lo] = 1 - frac
    U[np.arange(n_fine), lo + 1] = frac
    return U.astype(np.float32)


_U = _upsample_matrix(4)


def _bilinear(images, src_y, src_x):
    """Sample ``images`` (B, 28, 28) at float coordinates (B, 28, 28); outside counts as 0."""
    B = images.shape[0]
    padded = np.zeros((B, SIZE + 2, SIZE + 2), dtype=images.dtype)
    padded[:, 1:-1, 1:-1] = images
    # +1 for the padding; clip so that every neighbour lies in the padded frame (the border is 0).
    y = np.clip(src_y + 1, 0, SIZE + 1 - 1e-4)
    x = np.clip(src_x + 1, 0, SIZE + 1 - 1e-4)
    y0 = np.floor(y).astype(np.int32)
    x0 = np.floor(x).astype(np.int32)
    fy = (y - y0).astype(images.dtype)
    fx = (x - x0).astype(images.dtype)
    y1 = np.minimum(y0 + 1, SIZE + 1)
    x1 = np.minimum(x0 + 1, SIZE + 1)
    flat = padded.reshape(B, -1)
    w = SIZE + 2
    base = (np.arange(B, dtype=np.int64) * w * w)[:, None, None]

    def at(yy, xx):
        return flat.ravel()[base + yy * w + xx]

    top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
    return top * (1 - fy) + bottom * fy


def _thickness(images, amount):
    """Per image, ``amount`` in [-1, 1]: negative thins the strokes, positive thickens them."""
    p = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    neighbours = np.stack([p[:, 1:-1, 1:-1], p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]])
    dilated, eroded = neighbours.max(axis=0), neighbours.min(axis=0)
    a = amount[:, None, None].astype(images.dtype)
    return np.where(a > 0, images + a * (dilated - images), images + (-a) * (eroded - images))


def distort(
    images: np.ndarray,
    rng: np.random.Generator,
    rotate: float = 12.0,
    scale: float = 0.12,
    shear: float = 0.25,
    shift: float = 2.5,
    elastic: float = 1.5,
    thickness: float = 0.6,
) -> np.ndarray:
    """Randomly distorted copies of ``images`` (rows ``(B, 784)`` or ``(B, 28, 28)``, values in
    [0, 1]); returns the same shape and dtype. Arguments are the largest rotation (degrees),
    relative scale change, shear, shift (pixels), elastic displacement (pixels) and stroke
    thickness change; each image draws its own values uniformly within them."""
    shape = images.shape
    imgs = images.reshape(-1, SIZE, SIZE)
    B = imgs.shape[0]
    theta = np.deg2rad(rng.uniform(-rotate, rotate, B))
    s = 1.0 + rng.uniform(-scale, scale, B)
    aspect = 1.0 + rng.uniform(-scale / 2, scale / 2, B)
    sh = rng.uniform(-shear, shear, B)
    # Inverse map: for each output pixel, where to read in the input.
    cos, sin = np.cos(theta), np.sin(theta)
    a11, a12 = cos / s, (-sin + sh * cos) / s
    a21, a22 = sin / (s * aspect), (cos + sh * sin) / (s * aspect)
    t = rng.uniform(-shift, shift, (2, B))
    c = (SIZE - 1) / 2.0
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) - c
    src_x = a11[:, None, None] * xx + a12[:, None, None] * yy + c - t[0][:, None, None]
    src_y = a21[:, None, None] * xx + a22[:, None, None] * yy + c - t[1][:, None, None]
    if elastic > 0:
        coarse = rng.uniform(-elastic, elastic, (2, B, 4, 4)).astype(np.float32)
        field = _U @ coarse @ _U.T  # smooth displacement, (2, B, 28, 28)
        src_x = src_x + field[0]
        src_y = src_y + field[1]
    out = _bilinear(imgs, src_y.astype(np.float32), src_x.astype(np.float32))
    if thickness > 0:
        out = _thickness(out, rng.uniform(-thickness, thickness, B))
    return np.clip(out, 0, 1).astype(images.dtype, copy=False).reshape(shape)


def restroke(
    images: np.ndarray, rng: np.random.Generator, thicker: float, thinner: float = 1.0, share: float = 0.5
) -> np.ndarray:
    """Copies of ``images`` (rows or (B, 28, 28), values in [0, 1]) in which a random ``share``
    have their strokes thickened by up to ``thicker`` or thinned by up to ``thinner`` pixel steps,
    each image drawing its own amount uniformly: the steps of the robustness view's "thicker
    strokes" (``transform``), a fraction of a step blending towards the next one.

    People write with felt pens and wide brushes: 2 steps make an MNIST digit's strokes about a
    quarter of its height, 3 steps 0.3 of it (``bench/stroke_width.py``). Thinning stops at about a step because a second one erases most of
    MNIST's thin strokes, and a blank is nothing to learn from. The other images are left alone,
    so that the network still sees the digits as they usually come."""
    B = len(images.reshape(-1, SIZE * SIZE))
    amount = rng.uniform(-thinner, thicker, B) * (rng.random(B) < share)
    return thickened(images, amount)


def thickened(images: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``images`` (rows or (B, 28, 28), values in [0, 1]) with each one's strokes thickened by its
    ``steps`` (B numbers; negative thins) pixel steps, one step at a time: each a grey-level
    dilation (or erosion) by a pixel and its four neighbours, a fraction of a step going that
    share of the way."""
    shape = images.shape
    out = images.reshape(-1, SIZE, SIZE)
    steps = np.asarray(steps, dtype=np.float64)
    for i in range(int(np.ceil(np.abs(steps).max(initial=0)))):
        out = _thickness(out, np.sign(steps) * np.clip(np.abs(steps) - i, 0, 1))  # what is left of each
    return np.clip(out, 0, 1).astype(images.dtype, copy=False).reshape(shape)


def transform(images: np.ndarray, rotate: float = 0.0, scale: float = 1.0, shift: float = 0.0, thickness: int = 0) -> np.ndarray:
    """The same distortion applied to every image (rows or (B, 28, 28), values in [0, 1]): turned
    by ``rotate`` degrees, scaled by ``scale`` about the centre, moved ``shift`` pixels right and
    down, and thickened (``thickness`` > 0) or thinned (< 0) by that many pixel steps."""
    shape = images.shape
    imgs = images.reshape(-1, SIZE, SIZE)
    theta = np.deg2rad(rotate)
    c = (SIZE - 1) / 2.0
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) - c
    src_x = (np.cos(theta) * xx - np.sin(theta) * yy) / scale + c - shift
    src_y = (np.sin(theta) * xx + np.cos(theta) * yy) / scale + c - shift
    B = imgs.shape[0]
    out = _bilinear(
        imgs,
        np.broadcast_to(src_y, (B, SIZE, SIZE)).astype(np.float32),
        np.broadcast_to(src_x, (B, SIZE, SIZE)).astype(np.float32),
    )
    out = thickened(out, np.full(B, float(int(thickness))))
    return np.clip(out, 0, 1).astype(images.dtype, copy=False).reshape(shape)
