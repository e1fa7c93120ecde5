"""Activation functions, one table: name -> (function, derivative, label).

Each derivative takes ``dA`` (the gradient of the cost with respect to the layer's output), the
pre-activation ``Z`` and the output ``A`` and returns ``dZ``, the gradient with respect to ``Z``;
it may reuse ``dA``'s memory for the result.
Adding an activation is adding a row to ``ACTIVATIONS``; the label is what people read (the Train
page, the run tables).

``softmax`` is only used on the output layer, where together with the cross-entropy cost its
gradient simplifies to ``A - Y`` (see ``network.back_prop``), so it needs no derivative here.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Activation(NamedTuple):
    function: Callable[[np.ndarray], np.ndarray]  # Z -> A
    derivative: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None  # (dA, Z, A) -> dZ
    label: str


def sigmoid(Z: np.ndarray) -> np.ndarray:
    # exp of a large positive number overflows; clipping keeps the result exact to float32 precision.
    return 1.0 / (1.0 + np.exp(-np.clip(Z, -60, 60)))


def sigmoid_back(dA: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    return dA * A * (1 - A)


def relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0)


def relu_back(dA: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    return np.multiply(dA, Z > 0, out=dA)  # dA is a fresh array: reuse its memory


LEAKY_SLOPE = 0.01


def leaky_relu(Z: np.ndarray) -> np.ndarray:
    return np.where(Z > 0, Z, Z * Z.dtype.type(LEAKY_SLOPE))


def leaky_relu_back(dA: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    return np.where(Z > 0, dA, dA * dA.dtype.type(LEAKY_SLOPE))


def tanh(Z: np.ndarray) -> np.ndarray:
    return np.tanh(Z)


def tanh_back(dA: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    return dA * (1 - A * A)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Column-wise softmax. Subtracting each column's maximum before ``exp`` leaves the result
    unchanged (it cancels in the ratio) but keeps ``exp`` from overflowing to infinity."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


ACTIVATIONS = {
    "relu": Activation(relu, relu_back, "ReLU: max(0, z), fast to train"),
    "leaky_relu": Activation(leaky_relu, leaky_relu_back, "leaky ReLU: like ReLU, small slope below 0"),
    "tanh": Activation(tanh, tanh_back, "tanh: S-shaped, from -1 to 1"),
    "sigmoid": Activation(sigmoid, sigmoid_back, "sigmoid: S-shaped, from 0 to 1 (the original design)"),
    "softmax": Activation(softmax, None, "softmax: probabilities that sum to 1"),
}

# softmax has no derivative of its own (see above), so it can only be the output layer.
HIDDEN_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if a.derivative is not None)
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")
