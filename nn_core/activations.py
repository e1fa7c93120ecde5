"""Activation functions, one table: name -> (function, derivative).

Each derivative takes ``dA`` (the gradient of the cost with respect to the layer's output), the
pre-activation ``Z`` and the output ``A`` and returns ``dZ``, the gradient with respect to ``Z``;
it may reuse ``dA``'s memory for the result.
Adding an activation is adding a row to ``ACTIVATIONS``.

``softmax`` is only used on the output layer, where together with the cross-entropy cost its
gradient simplifies to ``A - Y`` (see ``network.back_prop``), so it needs no derivative here.
"""

import numpy as np


def sigmoid(Z):
    # exp of a large positive number overflows; clipping keeps the result exact to float32 precision.
    return 1.0 / (1.0 + np.exp(-np.clip(Z, -60, 60)))


def sigmoid_back(dA, Z, A):
    return dA * A * (1 - A)


def relu(Z):
    return np.maximum(Z, 0)


def relu_back(dA, Z, A):
    return np.multiply(dA, Z > 0, out=dA)  # dA is a fresh array: reuse its memory


LEAKY_SLOPE = 0.01


def leaky_relu(Z):
    return np.where(Z > 0, Z, Z * Z.dtype.type(LEAKY_SLOPE))


def leaky_relu_back(dA, Z, A):
    return np.where(Z > 0, dA, dA * dA.dtype.type(LEAKY_SLOPE))


def tanh(Z):
    return np.tanh(Z)


def tanh_back(dA, Z, A):
    return dA * (1 - A * A)


def softmax(Z):
    """Column-wise softmax. Subtracting each column's maximum before ``exp`` leaves the result
    unchanged (it cancels in the ratio) but keeps ``exp`` from overflowing to infinity."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_back),
    "relu": (relu, relu_back),
    "leaky_relu": (leaky_relu, leaky_relu_back),
    "tanh": (tanh, tanh_back),
    "softmax": (softmax, None),
}

HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")
