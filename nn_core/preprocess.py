"""From a picture of a digit to the 28x28 input the network was trained on.

MNIST digits were made this way (LeCun et al.): light ink on a dark background, the digit's
bounding box scaled so that its longest side is 20 pixels (keeping the aspect ratio, with
anti-aliasing), then placed in a 28x28 field so that its centre of mass is at the centre. A
drawing, an upload and a command-line image all go through ``to_mnist`` so that the network sees
them exactly as it saw its training data.
"""

import io
from pathlib import Path
from struct import error as struct_error
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 28
BOX = 20
# A pixel counts as ink above this intensity (0..1) when finding the bounding box.
INK_THRESHOLD = 0.2
# Fewer ink pixels than this fraction of the picture is a blank (or a stray dot), not a digit.
MIN_INK_FRACTION = 0.001
# Photos are shrunk to this longest side first: a digit needs no more, and it keeps work small.
MAX_SIDE = 1000
# Larger pictures are refused before they are decoded: 4096 x 4096 is more than any camera photo
# of a digit needs, and decoding a picture costs memory in proportion to its pixels.
MAX_PIXELS = 4096 * 4096


class ImageError(ValueError):
    """The file is not an image that can be read."""


def open_image(source: bytes | bytearray | str | Path | IO[bytes]) -> Image.Image:
    """Open a path, file-like object or bytes as a PIL image in a mode any display can show
    (grayscale or colour, 8 bits); raise ``ImageError`` if it is not a picture that can be read,
    or is too large to be a picture of a digit (more than ``MAX_PIXELS``)."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        image: Image.Image = Image.open(source)  # reads the header only
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                "the picture is %d x %d pixels; a picture of a digit needs at most %d pixels in all"
                % (image.width, image.height, MAX_PIXELS)
            )
        if image.format == "JPEG":
            image.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG can decode at a reduced size directly
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _eight_bit(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not a picture in a format this app reads (PNG, JPEG, GIF, BMP, TIFF, WebP)") from None
    except Image.DecompressionBombError:
        raise ImageError("the picture has far more pixels than a picture of a digit needs (at most %d)" % MAX_PIXELS) from None
    except (OSError, SyntaxError, ValueError, TypeError, EOFError, struct_error) as exc:
        raise ImageError("not a readable picture (%s)" % (str(exc).split(" <")[0] or type(exc).__name__)) from exc
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def _eight_bit(image):
    """16-bit, 32-bit integer and floating-point pictures as 8-bit grayscale, their range
    stretched to 0..255; other modes as they are, or as RGB(A)."""
    if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return image
    if image.mode.startswith(("I", "F")):
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / max(high - low, 1e-12)
        return Image.fromarray((np.clip(scaled, 0, 1) * 255).astype(np.uint8))
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def ink_map(image: Image.Image | np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] (float32, H x W) for a PIL image or array.

    A picture with real transparency (a canvas stroke layer) takes its ink from the alpha channel.
    Otherwise the image is made grayscale, the background level is read from the border, and the
    image is inverted if the background is lighter than the ink (dark pen on paper), then the
    contrast is stretched so that the strongest ink is 1.
    """
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        image = Image.fromarray(arr)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        if alpha.min() < 0.99:
            # Transparent background: ink is what was painted, weighted by how much it covers.
            gray = rgba[..., :3].mean(axis=2)
            border = _border(alpha)
            if np.median(border) < 0.5:
                return alpha.astype(np.float32)
            image = Image.fromarray((gray * 255).astype(np.uint8))
        else:
            image = image.convert("RGB")
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    background = float(np.median(_border(gray)))
    if background > 0.5:
        gray = 1.0 - gray
        background = 1.0 - background
    ink = gray - background
    peak = float(ink.max())
    if peak <= 0.1:
        return np.zeros_like(gray)
    return np.clip(ink / peak, 0, 1).astype(np.float32)


def _border(a):
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray | None:
    """A picture (PIL image, path-opened image or array) -> a (28, 28) float32 array in [0, 1],
    light ink on dark, MNIST-style; or ``None`` when there is no digit (blank or near-blank)."""
    ink = ink_map(image)
    mask = ink > INK_THRESHOLD
    if mask.sum() < max(4, MIN_INK_FRACTION * ink.size):
        return None
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    crop = np.where(mask, ink, ink * (ink > INK_THRESHOLD / 2))[top:bottom, left:right]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    # Pillow's resampling filters average over the whole footprint when shrinking: anti-aliased.
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    small = np.asarray(resized, dtype=np.float32) / 255.0
    canvas = np.zeros((SIZE, SIZE), dtype=np.float32)
    y0, x0 = (SIZE - new_h) // 2, (SIZE - new_w) // 2
    canvas[y0 : y0 + new_h, x0 : x0 + new_w] = small
    return center_of_mass_shift(canvas)


def center_of_mass_shift(img: np.ndarray) -> np.ndarray:
    """Shift ``img`` by whole pixels so that its centre of mass is at the centre of the field,
    as far as the digit's box can move without leaving the field."""
    total = img.sum()
    if total <= 0:
        return img
    ys, xs = np.indices(img.shape)
    cy, cx = (ys * img).sum() / total, (xs * img).sum() / total
    dy, dx = int(round((SIZE - 1) / 2 - cy)), int(round((SIZE - 1) / 2 - cx))
    rows, cols = np.nonzero(img > 0)
    dy = int(np.clip(dy, -rows.min(), SIZE - 1 - rows.max()))
    dx = int(np.clip(dx, -cols.min(), SIZE - 1 - cols.max()))
    return np.roll(np.roll(img, dy, axis=0), dx, axis=1)


# Strokes this wide for the digit's height (a felt pen, or a small digit drawn with the widest
# brush) are where models trained on MNIST start to misread. Unseen writers' pen-drawn digits,
# drawn with 12-56 px brushes: the shipped model reads 98.3% below this share, 93.3% at or above
# it (the model shipped before, trained without thickened strokes: 97.8% and 85.9%). 1.5% of
# MNIST's own test digits are this thick.
THICK_STROKES = 0.24


def stroke_shares(images: np.ndarray) -> np.ndarray:
    """For each 28x28 digit (rows of 784 or ``(n, 28, 28)``, values in [0, 1]), its stroke width
    over its ink's height (ink: pixels above one half); NaN where there is no ink. A stroke's
    width is twice its area over its outline's length; the outline is the pixel edges between ink
    and paper times pi/4, because a staircase of pixels is 4/pi times as long as the smooth curve
    it follows, on average (Crofton)."""
    ink: np.ndarray = np.pad(np.asarray(images).reshape(-1, SIZE, SIZE) > 0.5, ((0, 0), (1, 1), (1, 1)))
    area = ink.sum(axis=(1, 2))
    edges = (ink[:, 1:] != ink[:, :-1]).sum(axis=(1, 2)) + (ink[:, :, 1:] != ink[:, :, :-1]).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0, 2 * area / (edges * np.pi / 4) / ink_heights(ink), np.nan)


def ink_heights(images: np.ndarray) -> np.ndarray:
    """For each 28x28 digit (as ``stroke_shares`` takes them, or already as ink), the rows from
    its highest ink to its lowest (ink: pixels above one half); 0 where there is no ink."""
    a = np.asarray(images)
    ink = a if a.dtype == bool else a.reshape(-1, SIZE, SIZE) > 0.5
    rows = np.asarray(ink.any(axis=2))  # (digits, rows): which rows hold ink
    top = np.argmax(rows, axis=1)
    bottom = rows.shape[1] - 1 - np.argmax(rows[:, ::-1], axis=1)
    return np.where(rows.any(axis=1), bottom - top + 1, 0)
