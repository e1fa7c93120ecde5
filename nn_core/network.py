"""The network itself: parameters, forward propagation, cost, backpropagation, accuracy.

Vocabulary follows the original design: ``layer_data = {"Dim": [784, 128, 10], "Activs":
["relu", "softmax"]}`` describes the layers (``Activs[l-1]`` is the activation of layer ``l``) and
``params = {"W1", "b1", ..., "WL", "bL"}`` holds the weights and biases, ``W_l`` of shape
``(Dim[l], Dim[l-1])`` and ``b_l`` of shape ``(Dim[l], 1)``.

Inside this module a batch is a matrix with one *column* per sample, ``X`` of shape ``(784, m)``,
so that a layer reads as the mathematics: ``Z = W @ A_prev + b``, ``A = g(Z)``. Everything is
vectorised over the batch; there is no Python loop over samples. Images elsewhere in the project
are rows (``(m, 784)``); ``predict_proba`` takes rows and transposes for you.
"""

from collections.abc import Iterable
from typing import Any

import numpy as np

from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS

DTYPE = np.float32
# A digit is a 28x28 picture read as 784 inputs, and the answer is one of 10 classes.
N_PIXELS = 28 * 28
N_CLASSES = 10

# What the functions below pass around (the names of the original design, see above).
LayerData = dict[str, Any]  # {"Dim": [784, ..., 10], "Activs": ["relu", ..., "softmax"]}
Params = dict[str, np.ndarray]  # {"W1": ..., "b1": ..., "WL": ..., "bL": ...}; gradients likewise, as "dW1", ...
Cache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]  # one layer's, kept for back_prop


# The largest network this project builds: the Train page's widest (4 x 1024) has 4.2 million
# parameters, the shipped one 1.3 million. A bigger one would take minutes per epoch here and,
# built from a careless or hostile file or flag, could exhaust the memory.
MAX_PARAMETERS = 20_000_000


def n_params(layer_data: LayerData) -> int:
    """How many weights and biases a network of ``layer_data`` has: ``Dim[l] * (Dim[l-1] + 1)`` for each layer."""
    dims = layer_data["Dim"]
    return sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))


class LayerDataError(ValueError):
    """``layer_data`` does not describe a network this module can build."""


def check_layer_data(layer_data: Any) -> LayerData:
    """Validate ``layer_data`` and return it as plain lists; raise ``LayerDataError`` naming the
    problem otherwise."""
    try:
        dims = [int(d) for d in layer_data["Dim"]]
        activs = [str(a) for a in layer_data["Activs"]]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise LayerDataError('layer_data must be {"Dim": [sizes...], "Activs": [names...]}, got %r' % (layer_data,)) from exc
    if len(dims) < 2:
        raise LayerDataError("layer_data['Dim'] needs at least an input and an output size, got %r" % dims)
    if any(d < 1 for d in dims):
        raise LayerDataError("every layer size in layer_data['Dim'] must be at least 1, got %r" % dims)
    n = n_params({"Dim": dims})
    if n > MAX_PARAMETERS:
        raise LayerDataError(
            "a network of %s has %s parameters, more than this project's limit of %s"
            % ("-".join(map(str, dims)), format(n, ","), format(MAX_PARAMETERS, ","))
        )
    if len(activs) != len(dims) - 1:
        raise LayerDataError(
            "layer_data['Activs'] needs one activation per layer after the input: %d sizes need %d "
            "activations, got %d" % (len(dims), len(dims) - 1, len(activs))
        )
    for a in activs[:-1]:
        if a not in HIDDEN_ACTIVATIONS:
            raise LayerDataError("hidden activation %r is not one of %s" % (a, ", ".join(HIDDEN_ACTIVATIONS)))
    if activs[-1] not in OUTPUT_ACTIVATIONS:
        raise LayerDataError("output activation %r is not one of %s" % (activs[-1], ", ".join(OUTPUT_ACTIVATIONS)))
    return {"Dim": dims, "Activs": activs}


def dense_layers(
    hidden: Iterable[int], activation: str = "relu", output: str = "softmax", n_in: int = N_PIXELS, n_out: int = N_CLASSES
) -> LayerData:
    """``layer_data`` for a digit classifier with the given hidden layer sizes, all with one
    activation: ``dense_layers([512, 256])`` is ``{"Dim": [784, 512, 256, 10], "Activs": ["relu",
    "relu", "softmax"]}``."""
    hidden = [int(h) for h in hidden]
    return {"Dim": [n_in, *hidden, n_out], "Activs": [activation] * len(hidden) + [output]}


def describe_layers(layer_data: LayerData) -> str:
    """The architecture in words: "two hidden layers of 800 neurons (relu)"."""
    hidden, activs = layer_data["Dim"][1:-1], layer_data["Activs"]
    if not hidden:
        return "no hidden layer (inputs straight to the %d outputs)" % layer_data["Dim"][-1]
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
    count = words.get(len(hidden), str(len(hidden)))
    sizes = "%d neurons" % hidden[0] if len(set(hidden)) == 1 else "%s neurons" % ", ".join(map(str, hidden))
    kinds = sorted(set(activs[:-1]))
    return "%s hidden layer%s of %s (%s)" % (count, "" if len(hidden) == 1 else "s", sizes, ", ".join(kinds))


# Weight initialisations, name -> label (see ``init_params``).
INITS = {"scaled": "scaled to each layer (He / LeCun)", "standard_normal": "standard normal (the original design)"}


def init_params(layer_data: LayerData, seed: int | None = None, dtype: Any = DTYPE, init: str = "scaled") -> Params:
    """Random weights scaled for each layer's activation, zero biases.

    The original design drew weights from a standard normal distribution (still available as
    ``init="standard_normal"``, to see why it is not the default). With 784 inputs that makes each
    pre-activation a sum of hundreds of unit-variance terms (standard deviation ~28): sigmoid and
    tanh saturate, where their gradient is ~0, and relu outputs grow layer after layer. Scaling the
    variance by the fan-in keeps activations near unit size: He (2/n_in) for the relu family,
    which zeroes half its inputs, LeCun/Xavier (1/n_in) for sigmoid, tanh and softmax.
    """
    layer_data = check_layer_data(layer_data)
    if init not in INITS:
        raise ValueError("init must be one of %s, got %r" % (", ".join(INITS), init))
    rng = np.random.default_rng(seed)
    dims, activs = layer_data["Dim"], layer_data["Activs"]
    params: Params = {}
    for l in range(1, len(dims)):
        gain = 2.0 if activs[l - 1] in ("relu", "leaky_relu") else 1.0
        scale = np.sqrt(gain / dims[l - 1]) if init == "scaled" else 1.0
        params["W%d" % l] = (rng.standard_normal((dims[l], dims[l - 1])) * scale).astype(dtype)
        params["b%d" % l] = np.zeros((dims[l], 1), dtype=dtype)
    return params


def flatten(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One contiguous buffer holding every array of ``arrays``, and a dict of views into it with
    the same keys and shapes. Training keeps parameters and gradients this way, so that an
    optimizer step is a few operations on one long vector rather than a few per array."""
    flat = np.concatenate([a.ravel() for a in arrays.values()])
    views: dict[str, np.ndarray] = {}
    start = 0
    for key, a in arrays.items():
        views[key] = flat[start : start + a.size].reshape(a.shape)
        start += a.size
    return flat, views


def one_hot(y: Any, n_classes: int = N_CLASSES, dtype: Any = DTYPE) -> np.ndarray:
    """Integer labels of shape ``(m,)`` -> one-hot matrix of shape ``(n_classes, m)``."""
    y = np.asarray(y, dtype=np.int64)
    Y = np.zeros((n_classes, y.size), dtype=dtype)
    Y[y, np.arange(y.size)] = 1
    return Y


def forw_prop(
    X: np.ndarray, params: Params, layer_data: LayerData, dropout: float = 0.0, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, list[Cache]]:
    """Forward propagation through every layer.

    Takes ``X`` of shape ``(Dim[0], m)``; returns the output ``AL`` of shape ``(Dim[-1], m)`` and
    the ``caches`` (per layer: ``(A_prev, Z, A before dropout, dropout mask or None)``) that ``back_prop`` needs. With
    ``dropout > 0`` (training only) each hidden unit is zeroed with that probability and the
    survivors are scaled by ``1/(1-dropout)``, so no rescaling is needed at prediction time.
    """
    activs = layer_data["Activs"]
    A = X
    caches: list[Cache] = []
    L = len(activs)
    for l in range(1, L + 1):
        W, b = params["W%d" % l], params["b%d" % l]
        Z = W @ A
        Z += b
        A_prev = A
        A = activated = ACTIVATIONS[activs[l - 1]].function(Z)
        mask = None
        if dropout > 0 and l < L:
            if rng is None:
                raise ValueError("dropout needs a random generator (rng) to draw its masks")
            keep = 1.0 - dropout
            # Drawn, compared and scaled in one array: (random < keep) / keep, then A * mask.
            mask = rng.random(A.shape, dtype=np.float32)
            np.multiply(mask < keep, A.dtype.type(1.0 / keep), out=mask)
            A = activated * mask
        # The derivative needs the activation before dropout; the next layer reads the one after.
        caches.append((A_prev, Z, activated, mask))
    return A, caches


def l2_penalty(params: Params, lamda: float, m: int) -> float:
    """The L2 term of the cost, ``lamda/(2m) * sum over layers of sum(W**2)``, where ``m`` is the
    number of training samples."""
    if lamda == 0:
        return 0.0
    total = sum(float(np.vdot(params[k], params[k])) for k in params if k.startswith("W"))
    return lamda / (2.0 * m) * total


def cross_entropy(AL: np.ndarray, Y: np.ndarray, output: str = "softmax") -> float:
    """Mean cross-entropy of predictions ``AL`` against one-hot ``Y`` (both ``(classes, m)``)."""
    m = Y.shape[1]
    tiny = np.finfo(AL.dtype).tiny
    if output == "softmax":
        return float(-np.sum(Y * np.log(np.maximum(AL, tiny)), dtype=np.float64) / m)
    # Sigmoid output: one independent binary cross-entropy per class.
    return float(-np.sum(Y * np.log(np.maximum(AL, tiny)) + (1 - Y) * np.log(np.maximum(1 - AL, tiny)), dtype=np.float64) / m)


def cost(AL: np.ndarray, Y: np.ndarray, params: Params, lamda: float, layer_data: LayerData, m: int | None = None) -> float:
    """Cross-entropy plus L2 regularisation: ``J = CE(AL, Y) + lamda/(2m) * sum(W**2)``.

    ``m`` defaults to the number of samples in ``Y``. Training passes the size of the whole
    training set, so that a mini-batch estimates the same cost that batch gradient descent
    minimises and ``lamda`` means the same thing whatever ``mini_batch`` is.
    """
    m = Y.shape[1] if m is None else m
    return cross_entropy(AL, Y, layer_data["Activs"][-1]) + l2_penalty(params, lamda, m)


def back_prop(
    AL: np.ndarray,
    Y: np.ndarray,
    caches: list[Cache],
    params: Params,
    layer_data: LayerData,
    lamda: float,
    m_reg: int | None = None,
    out: Params | None = None,
) -> Params:
    """Gradients of ``cost`` with respect to every parameter, as ``{"dW1", "db1", ...}``.

    For a softmax output with cross-entropy (and likewise a sigmoid output with binary
    cross-entropy) the gradient with respect to the last pre-activation is simply
    ``(AL - Y) / m``; from there each layer passes ``dA = W.T @ dZ`` back to the one before.
    ``m_reg`` is the ``m`` of the L2 term, as in ``cost``. ``out``, if given, is a dict of arrays
    of the right shapes to write the gradients into (training reuses one buffer for all steps).
    """
    activs = layer_data["Activs"]
    m = Y.shape[1]
    m_reg = m if m_reg is None else m_reg
    L = len(activs)
    grads: Params = {} if out is None else out
    dZ = AL - Y
    dZ *= AL.dtype.type(1.0 / m)
    for l in range(L, 0, -1):
        A_prev, _, _, _ = caches[l - 1]
        W = params["W%d" % l]
        dW = np.matmul(dZ, A_prev.T, out=grads.get("dW%d" % l))
        if lamda:
            dW += W * W.dtype.type(lamda / m_reg)
        grads["dW%d" % l] = dW
        grads["db%d" % l] = np.sum(dZ, axis=1, keepdims=True, out=grads.get("db%d" % l))
        if l > 1:
            dA = W.T @ dZ
            _, Z_prev, A_prev_out, mask = caches[l - 2]
            if mask is not None:
                dA *= mask
            derivative = ACTIVATIONS[activs[l - 2]].derivative
            if derivative is None:  # softmax: an output layer only (check_layer_data)
                raise LayerDataError("%s cannot be a hidden layer's activation" % activs[l - 2])
            dZ = derivative(dA, Z_prev, A_prev_out)
    return grads


# What the forward pass of a batch may hold at once (each layer's input and output): a network
# with a layer of 150,000 neurons would otherwise build gigabytes for one batch of 4,096 images.
FORWARD_BUDGET_BYTES = 64 * 2**20
MAX_BATCH = 4096


def batch_for(layer_data: LayerData, itemsize: int = 4) -> int:
    """How many images one forward pass takes at a time, so that the two widest layers' outputs
    for the batch stay within ``FORWARD_BUDGET_BYTES``."""
    widest = sorted(layer_data["Dim"])[-2:]
    return int(max(1, min(MAX_BATCH, FORWARD_BUDGET_BYTES // (itemsize * 2 * sum(widest)))))


def forward(X: np.ndarray, params: Params, layer_data: LayerData) -> np.ndarray:
    """The output of the network for ``X`` (``(Dim[0], m)``), keeping nothing of the layers
    between (``forw_prop`` keeps them all, for ``back_prop``)."""
    A = X
    for l, name in enumerate(layer_data["Activs"], start=1):
        Z = params["W%d" % l] @ A
        Z += params["b%d" % l]
        A = ACTIVATIONS[name].function(Z)
    return A


def predict_proba(params: Params, layer_data: LayerData, images: Any, batch_size: int | None = None) -> np.ndarray:
    """Class probabilities for images given as rows (``(m, 784)`` or ``(m, 28, 28)``), returned
    as rows of shape ``(m, classes)``. Works through large sets in batches (``batch_for`` by
    default) to bound memory, whatever the width of the layers."""
    images = np.asarray(images)
    X = images.reshape(images.shape[0], -1)
    dtype = params["W1"].dtype
    batch_size = batch_size or batch_for(layer_data, np.dtype(dtype).itemsize)
    out = np.empty((X.shape[0], layer_data["Dim"][-1]), dtype=dtype)
    for start in range(0, X.shape[0], batch_size):
        chunk = X[start : start + batch_size].astype(dtype, copy=False)
        out[start : start + batch_size] = forward(chunk.T, params, layer_data).T
    return out


def acc(AL: np.ndarray, y: Any) -> float:
    """Accuracy of outputs ``AL`` (``(classes, m)``) against integer labels ``y`` (``(m,)``).
    As in the original design, pass categorical labels, not one-hot vectors."""
    return float(np.mean(np.argmax(AL, axis=0) == np.asarray(y)))
