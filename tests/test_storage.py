"""Model files: round trip, atomic writes, and a clear refusal of every kind of bad file."""

import errno
import json
import os

import numpy as np
import pytest

from nn_core import storage
from nn_core.network import init_params
from nn_core.storage import ModelFileError, list_models, load_model, save_model

LD = {"Dim": [784, 16, 10], "Activs": ["relu", "softmax"]}


def files_in(folder):
    """What is in ``folder`` besides the lock that keeps its writers one at a time (``files.folder_lock``)."""
    from nn_core.files import LOCK_NAME

    return sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)


def saved(weights_dir, name="m", meta=None):
    params = init_params(LD, seed=0)
    return save_model(name, params, LD, meta or {"test_accuracy": 0.5}), params


def test_round_trip_keeps_parameters_and_metadata(weights_dir):
    path, params = saved(weights_dir, meta={"test_accuracy": 0.97, "command": "python -m nn_core train"})
    assert path == weights_dir / "m.npz"
    model = load_model("m")
    assert model.layer_data == LD
    for k in params:
        np.testing.assert_array_equal(model.params[k], params[k])
        assert model.params[k].dtype == np.float32
    assert model.meta["test_accuracy"] == 0.97
    readable = json.loads((weights_dir / "m.json").read_text())
    assert readable["command"] == "python -m nn_core train" and readable["layer_data"] == LD


def test_list_models_puts_default_first(weights_dir):
    for name in ("zeta", "default", "alpha"):
        saved(weights_dir, name)
    assert list_models() == ["default", "alpha", "zeta"]


def write_npz(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def meta_text(dims):
    return np.array(json.dumps({"layer_data": {"Dim": dims, "Activs": ["relu", "softmax"]}}))


def good_arrays():
    arrays = {k: v for k, v in init_params(LD, seed=0).items()}
    arrays[storage.META_KEY] = np.array(json.dumps({"layer_data": LD}))
    return arrays


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda a: a.pop("W2"), "has no W2"),
        (lambda a: a.update(W3=np.zeros((2, 2), np.float32)), "unexpected array 'W3'"),
        (lambda a: a.update(W1=np.zeros((16, 700), np.float32)), r"W1 has shape \(16, 700\)"),
        (lambda a: a.update(b2=np.full((10, 1), np.nan, np.float32)), "b2 contains NaN"),
        (lambda a: a.update(W2=np.zeros((10, 16), np.int32)), "dtype int32"),
        (lambda a: a.pop(storage.META_KEY), "no metadata"),
        (lambda a: a.update({storage.META_KEY: np.array("{not json")}), "unreadable metadata"),
        (
            lambda a: a.update({storage.META_KEY: np.array(json.dumps({"layer_data": {"Dim": [784, 10], "Activs": ["bogus"]}}))}),
            "unreadable metadata",
        ),
        # json writes float("inf") as Infinity, which int() cannot take
        (lambda a: a.update({storage.META_KEY: meta_text([784, float("inf"), 10])}), "unreadable metadata"),
        (lambda a: a.update({storage.META_KEY: meta_text([100, 16, 10])}), "not a digit classifier: it takes 100 inputs"),
        (lambda a: a.update({storage.META_KEY: meta_text([784, 16, 16])}), "gives 16 answers"),
    ],
)
def test_malformed_model_files_are_refused_with_the_reason(tmp_path, change, message):
    arrays = good_arrays()
    change(arrays)
    path = tmp_path / "bad.npz"
    write_npz(path, arrays)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_pickled_objects_are_never_loaded(tmp_path):
    arrays = good_arrays()
    arrays["W1"] = np.array([{"evil": 1}], dtype=object)
    path = tmp_path / "pickled.npz"
    write_npz(path, arrays)
    with pytest.raises(ModelFileError, match="pickled"):
        load_model(path)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"\x80\x04\x95 pickle bytes"])
def test_files_that_are_not_npz_are_refused(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a readable .npz"):
        load_model(path)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "cut.npz"
    write_npz(path, good_arrays())
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(ModelFileError):
        load_model(path)


def test_missing_file_names_the_path(weights_dir):
    with pytest.raises(ModelFileError, match="no model file at .*nothing.npz"):
        load_model("nothing")


def test_full_disk_keeps_the_old_file_and_leaves_no_temporary(weights_dir, monkeypatch):
    path, params = saved(weights_dir)
    before = path.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="not enough disk space"):
        save_model("m", init_params(LD, seed=1), LD, {})
    assert path.read_bytes() == before
    assert files_in(weights_dir) == ["m.json", "m.npz"]


def test_saving_refuses_parameters_that_do_not_fit(weights_dir):
    params = init_params(LD, seed=0)
    params["W1"] = params["W1"][:, :10]
    with pytest.raises(ModelFileError, match="W1 has shape"):
        save_model("m", params, LD)
    assert files_in(weights_dir) == []


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "x" * 65, ".hidden"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError, match="model name"):
        storage.check_name(name)


def test_model_bytes_is_a_loadable_model_file(tmp_path):
    params = init_params(LD, seed=0)
    path = tmp_path / "downloaded.npz"
    path.write_bytes(storage.model_bytes(params, LD, {"name": "x"}))
    model = load_model(path)
    np.testing.assert_array_equal(model.params["W2"], params["W2"])


def test_saving_without_overwrite_never_replaces(weights_dir):
    path, params = saved(weights_dir)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="exists already"):
        save_model("m", init_params(LD, seed=1), LD, {}, overwrite=False)
    assert path.read_bytes() == before
    assert files_in(weights_dir) == ["m.json", "m.npz"]
    assert save_model("other", params, LD, {}, overwrite=False).exists()


def npz_with_member(path, name, raw, arrays=None):
    """An .npz holding ``arrays`` (default: a valid model) plus one member written raw."""
    import io
    import zipfile

    buf = io.BytesIO()
    np.savez(buf, **(arrays or good_arrays()))
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info.filename))
        dst.writestr(name, raw)


def npy_header(shape, dtype="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (dtype, tuple(shape))
    header = header.ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def test_a_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.npz"
    npz_with_member(path, "W1.npy", npy_header((10**6, 10**6)) + b"\0" * 64)
    tracemalloc.start()
    with pytest.raises(ModelFileError, match=r"W1 has shape \(1000000, 1000000\)"):
        load_model(path)
    assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    tracemalloc.stop()


def test_a_network_above_the_parameter_limit_is_refused_before_reading(tmp_path):
    import tracemalloc

    ld = {"Dim": [784, 300_000, 10], "Activs": ["relu", "softmax"]}
    arrays = {"__meta__": np.array(json.dumps({"layer_data": ld}))}
    path = tmp_path / "big.npz"
    npz_with_member(path, "W1.npy", npy_header((300_000, 784)) + b"\0" * 64, arrays)
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="limit of 20,000,000"):
        load_model(path)
    assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    tracemalloc.stop()


@pytest.mark.parametrize(
    "name,raw,message",
    [
        ("W1.npy", b"just some bytes, no header", "not a readable .npz"),
        ("notes.txt", b"hello", "not an array of a model"),
    ],
)
def test_members_that_are_not_arrays_are_refused(tmp_path, name, raw, message):
    path = tmp_path / "odd.npz"
    npz_with_member(path, name, raw)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_a_test_accuracy_that_is_not_a_number_is_not_shown(tmp_path):
    arrays = good_arrays()
    arrays[storage.META_KEY] = np.array(json.dumps({"layer_data": LD, "test_accuracy": "99%"}))
    write_npz(tmp_path / "m.npz", arrays)
    assert "test_accuracy" not in load_model(tmp_path / "m.npz").meta


@pytest.mark.parametrize("name", ["x.npz", "x.json", "../x", "sub/x", "", ".hidden"])
def test_a_name_never_becomes_a_path(weights_dir, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="model name"):
        save_model(name, init_params(LD, seed=0), LD, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"] and files_in(weights_dir) == []


def test_an_unrelated_json_of_the_same_name_is_never_overwritten(weights_dir):
    (weights_dir / "zz.json").write_text('{"mine": true}')
    with pytest.raises(FileExistsError):
        save_model("zz", init_params(LD, seed=0), LD, {}, overwrite=False)
    assert json.loads((weights_dir / "zz.json").read_text()) == {"mine": True}
    assert not (weights_dir / "zz.npz").exists()
