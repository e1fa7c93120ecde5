"""Loading MNIST (IDX, gzipped or not) and Kaggle CSVs, and finding where the data lives."""

import gzip
import shutil
import struct

import numpy as np
import pandas as pd
import pytest

from nn_core import data
from nn_core.data import DataError, load_kaggle_csv, load_mnist, parse_idx


def test_real_mnist_loads_with_expected_shapes(mnist):
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.dtype == np.float32 and 0 <= mnist.x_train.min() and mnist.x_train.max() == 1
    assert mnist.y_train.shape == (60000,) and set(np.unique(mnist.y_test)) == set(range(10))
    assert np.bincount(mnist.y_test).tolist()[:3] == [980, 1135, 1032]  # the known class counts


def test_uncompressed_files_load_too(tmp_path):
    source = data.data_dir()
    for name in data.MNIST_FILES:
        with gzip.open(data.find_file(source, name)) as f, open(tmp_path / name, "wb") as out:
            shutil.copyfileobj(f, out)
    digits = load_mnist(tmp_path)
    assert digits.x_test.shape == (10000, 784)


def test_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert data.data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data.data_dir() == tmp_path / "env"
    monkeypatch.delenv(data.ENV_VAR)
    assert data.data_dir().parts[-3:] == (".cache", "nn_core", "data")


def test_missing_data_says_what_to_do(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    text = str(info.value)
    assert "python -m nn_core download" in text and "train-images-idx3-ubyte" in text and str(tmp_path) in text


def test_corrupt_file_is_detected(tmp_path):
    source = data.data_dir()
    for name in data.MNIST_FILES:
        shutil.copy(data.find_file(source, name), tmp_path)
    raw = bytearray(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] ^= 1
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        load_mnist(tmp_path)


def test_truncated_gzip_is_reported(tmp_path):
    source = data.data_dir()
    for name in data.MNIST_FILES:
        shutil.copy(data.find_file(source, name), tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="not a readable file"):
        load_mnist(tmp_path)


def test_parse_idx_checks_header_and_length():
    good = bytes([0, 0, 8, 2]) + struct.pack(">II", 2, 3) + bytes(range(6))
    assert parse_idx(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(DataError, match="not an IDX"):
        parse_idx(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="promises 6"):
        parse_idx(good[:-1])


def kaggle_frame(n=5, with_label=True, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 256, (n, 784)), columns=["pixel%d" % i for i in range(784)])
    if with_label:
        frame.insert(0, "label", rng.integers(0, 10, n))
    return frame


def test_kaggle_train_and_test_csv(tmp_path):
    frame = kaggle_frame()
    frame.to_csv(tmp_path / "train.csv", index=False)
    images, labels = load_kaggle_csv(tmp_path / "train.csv")
    assert images.shape == (5, 784) and images.dtype == np.float32
    np.testing.assert_allclose(images[2, 7], frame.iloc[2]["pixel7"] / 255, rtol=1e-6)
    assert labels.tolist() == frame["label"].tolist()
    kaggle_frame(with_label=False).to_csv(tmp_path / "test.csv", index=False)
    images, labels = load_kaggle_csv(tmp_path / "test.csv")
    assert images.shape == (5, 784) and labels is None


@pytest.mark.parametrize(
    "mangle,message",
    [
        (lambda f: f.drop(columns=["pixel300"]), "pixel300"),
        (lambda f: f.assign(pixel5=999), "from 0 to 255; row 2, column pixel5 has '999'"),
        (lambda f: f.assign(label=12), "labels must be"),
        (lambda f: f.astype({"pixel7": str}).assign(pixel7=["1", "2", "x", "4", "5"]), "row 4, column pixel7 has 'x'"),
        (lambda f: f.astype({"label": str}).assign(label=["seven", "1", "2", "3", "4"]), "row 2, column label has 'seven'"),
        (lambda f: f.astype({"label": float}).assign(label=[3.5, 1, 2, 3, 4]), "labels must be whole numbers"),
        (lambda f: f.iloc[:0], "no rows"),
        (lambda f: f.assign(pixel9=""), "column pixel9 has ''"),
    ],
)
def test_malformed_kaggle_csv_is_refused(tmp_path, mangle, message):
    mangle(kaggle_frame()).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=message):
        load_kaggle_csv(tmp_path / "bad.csv")


def test_not_a_csv_is_refused(tmp_path):
    (tmp_path / "x.csv").write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(DataError):
        load_kaggle_csv(tmp_path / "x.csv")


def test_kaggle_csv_from_an_upload_buffer():
    """The Train page passes the uploaded file object itself."""
    import io

    buffer = io.BytesIO(kaggle_frame(n=3).to_csv(index=False).encode())
    images, labels = load_kaggle_csv(buffer)
    assert images.shape == (3, 784) and labels.shape == (3,)


def test_too_few_labelled_digits_to_hold_any_out():
    with pytest.raises(DataError, match="at least 20"):
        data.hold_out(np.zeros((2, 784)), np.array([1, 2]), 0.1, name="tiny.csv")


def test_a_gzip_file_corrupted_mid_stream_is_a_data_error(tmp_path):
    import gzip

    raw = bytearray(gzip.compress(bytes(range(256)) * 400))
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="not a readable file"):
        data.read_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz")


def test_hold_out_keeps_the_last_tenth_for_testing():
    images, labels = np.arange(200).reshape(100, 2), np.arange(100)
    held = data.hold_out(images, labels, 0.1, name="train.csv")
    y, xt, yt = held.y_train, held.x_test, held.y_test
    assert len(held.x_train) == 90
    assert held.name == "train.csv"
    assert len(y) == 90 and list(yt) == list(range(90, 100)) and xt.shape == (10, 2)
    with pytest.raises(ValueError, match="fraction"):
        data.hold_out(images, labels, 1.0)


def test_a_small_file_that_decompresses_to_gigabytes_is_stopped_at_the_expected_size(tmp_path):
    """3 GB of zeros compress to 3 MB: reading stops just past MNIST's own size for the file."""
    import gzip
    import tracemalloc

    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        block = bytes(1 << 20)
        for _ in range(200):  # 200 MB here, enough to show the bound
            f.write(block)
    tracemalloc.start()
    with pytest.raises(DataError, match="holds more than the 10008 bytes"):
        data.read_mnist_file(tmp_path, "t10k-labels-idx1-ubyte")
    assert tracemalloc.get_traced_memory()[1] < 20 * 2**20
    tracemalloc.stop()
