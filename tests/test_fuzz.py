"""Property-based fuzzing of everything that reads what a visitor sends: any bytes in, either a
result or the project's own error out, never another exception."""

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nn_core import pendigits, storage
from nn_core.data import DataError, load_kaggle_csv, unlzw
from nn_core.network import dense_layers, init_params
from nn_core.preprocess import ImageError, open_image, to_mnist
from nn_core.storage import ModelFileError, load_model

# Derandomized: the same examples on every run, so that a failure in CI can be reproduced here.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def valid_model_bytes():
    ld = dense_layers([4])
    buf = io.BytesIO()
    arrays = dict(init_params(ld, seed=0))
    arrays[storage.META_KEY] = np.array(json.dumps({"layer_data": ld, "test_accuracy": 0.5}))
    np.savez(buf, **arrays)
    return buf.getvalue()


VALID_MODEL = valid_model_bytes()
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


@FUZZ
@given(st.one_of(st.binary(max_size=2000), st.binary(max_size=500).map(lambda b: PNG_HEADER + b)))
def test_any_bytes_as_a_picture(raw):
    try:
        image = open_image(raw)
    except ImageError:
        return
    result = to_mnist(image)
    assert result is None or (result.shape == (28, 28) and np.isfinite(result).all())


@FUZZ
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_model_file(tmp_path, raw):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(raw)
    try:
        load_model(path)
    except ModelFileError:
        pass


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_MODEL) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_model_file(tmp_path, changes):
    raw = bytearray(VALID_MODEL)
    for where, value in changes:
        raw[where] = value
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(raw))
    try:
        model = load_model(path)
    except ModelFileError:
        return
    assert all(np.isfinite(v).all() for v in model.params.values())


@FUZZ
@given(
    st.lists(st.sampled_from(["W1.npy", "b1.npy", "W2.npy", "b2.npy", "__meta__.npy", "x.npy"]), max_size=5),
    st.binary(max_size=300),
)
def test_a_model_archive_with_odd_members(tmp_path, names, raw):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name in dict.fromkeys(names):
            z.writestr(name, raw)
    try:
        load_model(path)
    except ModelFileError:
        pass


@pytest.mark.slow
@settings(FUZZ, max_examples=20)  # each example parses a 785-column table
@given(
    st.one_of(
        st.text(max_size=500),
        st.lists(st.text(alphabet="0123456789.-x ,", max_size=6), min_size=1, max_size=6).map(
            lambda cells: "label," + ",".join("pixel%d" % i for i in range(784)) + "\n" + ",".join((cells * 200)[:785]) + "\n"
        ),
    )
)
def test_any_text_as_a_kaggle_csv(text):
    try:
        images, labels = load_kaggle_csv(io.StringIO(text))
    except DataError:
        return
    assert images.shape[1] == 784 and np.isfinite(images).all()
    assert labels is None or (labels.min() >= 0 and labels.max() <= 9)


@FUZZ
@given(st.text(alphabet=' .SEGMENTDIGITPENUPDOWNCOMMENT"0123456789-\n', max_size=400))
def test_any_text_as_pen_digits(text):
    try:
        digits = pendigits.parse_unipen(text)
    except DataError:
        return
    for d in digits:
        picture = pendigits.render(d)
        assert picture.shape == (280, 280)


@FUZZ
@given(st.binary(max_size=400).map(lambda b: b"\x1f\x9d\x90" + b))
def test_any_bytes_as_unix_compress(raw):
    try:
        unlzw(raw, limit=10_000)
    except ValueError:
        pass


# -- pickles of the original design: hostile shapes built only from the classes the importer allows
SHAPES = st.lists(st.integers(0, 10**9), min_size=0, max_size=3)
DTYPES = st.sampled_from(["O", "f8", "f4", "f2", "b", "V8", "U10", "i8"])


class Built:
    """Pickles as ``numpy.ndarray(shape, dtype)`` or ``_reconstruct(ndarray, shape, dtype)``: a
    few bytes that ask NumPy to allocate whatever ``shape`` says."""

    def __init__(self, how, shape, dtype):
        self.how, self.shape, self.dtype = how, tuple(shape), dtype

    def __reduce__(self):
        if self.how == "ndarray":
            return (np.ndarray, (self.shape, np.dtype(self.dtype)))
        return (np._core.multiarray._reconstruct, (np.ndarray, self.shape, np.dtype(self.dtype).char.encode()))


@FUZZ
@given(st.sampled_from(["ndarray", "reconstruct"]), SHAPES, DTYPES, st.booleans())
def test_a_pickle_that_asks_for_any_array(how, shape, dtype, in_a_dict):
    import pickle

    from nn_core.pickled import read_pickled_weights

    obj = Built(how, shape, dtype)
    raw = pickle.dumps({"W1": obj} if in_a_dict else obj, protocol=4)
    try:
        read_pickled_weights(raw)
    except ModelFileError as exc:
        # refused for what it is, and never after building more than the file could hold
        assert str(exc)
    else:
        raise AssertionError("a lone array is not a network")


@FUZZ
@given(st.lists(st.integers(1, 200_000), min_size=1, max_size=3))
def test_tall_networks_are_refused_or_read_in_bounded_batches(hidden):
    from nn_core.network import MAX_PARAMETERS, LayerDataError, batch_for, check_layer_data

    layer_data = dense_layers(hidden)
    try:
        check_layer_data(layer_data)
    except LayerDataError:
        dims = [784] + hidden + [10]
        assert sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims))) > MAX_PARAMETERS
        return
    batch = batch_for(layer_data)
    widest = sorted(layer_data["Dim"])[-2:]
    assert 1 <= batch <= 4096 and batch * sum(widest) * 4 * 2 <= 64 * 2**20 + sum(widest) * 8
