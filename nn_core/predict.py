"""One picture in, one answer out: the path shared by the Draw page, uploads and the command line."""

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .preprocess import THICK_STROKES, stroke_shares, to_mnist

if TYPE_CHECKING:
    from .model import Model


@dataclasses.dataclass
class Prediction:
    digit: int
    probabilities: np.ndarray  # (classes,)
    image: np.ndarray  # the 28x28 input the network saw

    @property
    def confidence(self) -> float:
        """The network's output for its answer (a softmax probability, not a guarantee)."""
        return float(self.probabilities[self.digit])

    @property
    def runner_up(self) -> tuple[int, float]:
        """``(digit, probability)`` of the second most probable answer."""
        second = int(np.argsort(self.probabilities)[-2])
        return second, float(self.probabilities[second])

    @property
    def thick_strokes(self) -> bool:
        """Whether the strokes are thick for the digit's size (``preprocess.THICK_STROKES``): a
        felt pen, or a small digit drawn with a wide brush, which networks trained on MNIST misread more."""
        return bool(stroke_shares(self.image)[0] >= THICK_STROKES)


class ModelOutputError(ValueError):
    """The network's answer is not a set of probabilities (its weights overflow)."""


def classify(model: "Model", picture: Image.Image | np.ndarray) -> Prediction | None:
    """Preprocess ``picture`` MNIST-style and run the forward pass; ``None`` if it holds no digit.
    Raises ``ModelOutputError`` when the network's outputs are not numbers."""
    x = to_mnist(picture)
    if x is None:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        p = model.predict_proba(x.reshape(1, -1))[0]
    if not np.all(np.isfinite(p)):
        raise ModelOutputError(
            "this network's answer is not a number: its weights are so large that the arithmetic overflows. Pick another model."
        )
    return Prediction(digit=int(np.argmax(p)), probabilities=p, image=x)
