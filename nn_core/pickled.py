"""Weights saved by the original design, which pickled its ``params`` dict (``W1, b1, ...``) into a
file named ``.json``. Unpickling runs whatever the file asks for, so such a file is read by an
unpickler that builds NumPy arrays and plain containers and refuses everything else; the arrays
are then checked as any model's are, and saved as an ordinary ``.npz`` model.
"""

import io
import pickle
import re

import numpy as np

from .network import N_CLASSES, N_PIXELS, LayerData, LayerDataError, Params, check_layer_data, dense_layers
from .storage import ModelFileError, validate_params

MAX_BYTES = 100 * 2**20
# What a pickled dict of NumPy arrays needs (NumPy 1 and 2 name their modules differently).
ALLOWED = {
    (module, name)
    for package in ("numpy.core", "numpy._core")
    for module, name in (
        (package + ".multiarray", "_reconstruct"),
        (package + ".multiarray", "scalar"),
        (package + ".numeric", "_frombuffer"),
    )
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict")}


class _Refused(pickle.UnpicklingError):
    pass


def _checked(shape, dtype, budget):
    """Refuse an array of Python objects, or one larger than the file's ``budget`` bytes could
    fill: a few bytes of pickle can otherwise ask NumPy for gigabytes before anything is checked."""
    dtype = _dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise _Refused("refused: an array's shape is not a list of sizes")
    count = 1
    for n in shape:
        count *= n
    if count * max(dtype.itemsize, 1) > budget:
        raise _Refused(
            "refused: the file asks for an array of %s values, more than its %s bytes could hold"
            % (format(count, ","), format(budget, ","))
        )
    return shape, dtype


def _dtype(*args):
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise _Refused("refused: the file holds an array of Python objects, not of numbers")
    return dtype


class _ArraysOnly(pickle.Unpickler):
    """Builds NumPy arrays and plain containers, and nothing larger than the file could hold."""

    def __init__(self, raw):
        super().__init__(io.BytesIO(raw))
        self.budget = len(raw)

    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise _Refused("refused: the file asks for %s.%s, which is not a NumPy array or a plain container" % (module, name))
        found = super().find_class(module, name)
        budget = self.budget
        if name == "dtype":
            return _dtype
        if name == "ndarray":

            class ndarray(np.ndarray):  # noqa: N801 (stands in for numpy.ndarray, name and all)
                def __new__(cls, shape, dtype=float, *rest):
                    return np.ndarray(*_checked(shape, dtype, budget), *rest)

            return ndarray
        if name == "_reconstruct":

            def reconstruct(subtype, shape, typecode):
                return found(np.ndarray, *_checked(shape, typecode, budget))

            return reconstruct
        return found


def read_pickled_weights(raw: bytes, activation: str = "relu") -> tuple[Params, LayerData]:
    """``(params, layer_data)`` from the bytes of a pickled ``params`` dict. The layer sizes come
    from the arrays' shapes; the hidden layers get ``activation`` (the original design used relu)
    and the output softmax. ``ModelFileError`` says what is wrong with anything else."""
    if len(raw) > MAX_BYTES:
        raise ModelFileError("the file is larger than %d MB; weights of a digit network are far smaller" % (MAX_BYTES >> 20))
    try:
        obj = _ArraysOnly(raw).load()
    except _Refused as exc:
        raise ModelFileError(str(exc)) from None
    except Exception as exc:  # a damaged pickle can fail in many ways; none of them runs code
        raise ModelFileError("not a pickled dict of weights (%s)" % (str(exc)[:80] or type(exc).__name__)) from None
    if not isinstance(obj, dict) or not obj:
        raise ModelFileError("the file holds a %s, not a dict of W1, b1, ... arrays" % type(obj).__name__)
    if not all(isinstance(k, str) and re.fullmatch(r"[Wb][1-9][0-9]?", k) for k in obj):
        raise ModelFileError("the dict's keys must be W1, b1, W2, b2, ...; got %s" % ", ".join(map(repr, list(obj)[:6])))
    if not all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in obj.values()):
        raise ModelFileError("every value must be an array of floating-point numbers")
    L = len(obj) // 2
    try:
        dims = [obj["W1"].shape[1]] + [obj["W%d" % l].shape[0] for l in range(1, L + 1)]
        params = {}
        for l in range(1, L + 1):
            params["W%d" % l] = obj["W%d" % l]
            params["b%d" % l] = obj["b%d" % l].reshape(-1, 1)
        layer_data = check_layer_data(dense_layers(dims[1:-1], activation, n_in=dims[0], n_out=dims[-1]))
    except (KeyError, IndexError, ValueError, LayerDataError) as exc:
        raise ModelFileError("the arrays do not form a network: %s" % exc) from None
    if dims[0] != N_PIXELS or dims[-1] != N_CLASSES:
        raise ModelFileError(
            "these weights take %d inputs and give %d answers; a digit network takes %d and gives %d"
            % (dims[0], dims[-1], N_PIXELS, N_CLASSES)
        )
    validate_params(params, layer_data, "the file")
    return {k: v.astype(np.float32) for k, v in params.items()}, layer_data
