"""What a file or a setting makes this project build is bounded before the work starts: the seed
importer never builds more than its file could hold, and a network of any allowed width is
evaluated in batches sized by its widest layer (issue: no visitor can take the server down)."""

import os
import pickle
import subprocess
import tracemalloc
import sys

import numpy as np
import pytest

from nn_core import explain
from nn_core.model import Model
from nn_core.network import batch_for, dense_layers, predict_proba
from nn_core.seed import read_seed_weights
from nn_core.storage import ModelFileError

LIMIT_MB = 1500  # no single action may take a process above this


class Objects:
    """50 bytes of pickle asking for 600 million Python objects (allowed classes only)."""

    def __reduce__(self):
        return (np.ndarray, ((600_000_000,), np.dtype("O")))


class Huge:
    """An uninitialised array of 10^9 bytes, asked for through ``_reconstruct``."""

    def __reduce__(self):
        return (np._core.multiarray._reconstruct, (np.ndarray, (10**9,), b"b"))


def tall_seed_file(path):
    """A pickled 784-1-150000-10 network in float16: 3.6 MB of weights whose middle layer makes a
    forward pass of 4,096 images build gigabytes."""
    rng = np.random.default_rng(0)
    dims = [784, 1, 150_000, 10]
    params = {}
    for l in range(1, len(dims)):
        params["W%d" % l] = (rng.standard_normal((dims[l], dims[l - 1])) * 0.01).astype(np.float16)
        params["b%d" % l] = np.zeros((dims[l], 1), np.float16)
    path.write_bytes(pickle.dumps(params, protocol=4))
    return path


@pytest.mark.parametrize("hostile", [Objects(), Huge()], ids=["object-array", "huge-reconstruct"])
def test_the_importer_refuses_arrays_its_file_cannot_hold(hostile):
    raw = pickle.dumps(hostile, protocol=4)
    assert len(raw) < 200
    with pytest.raises(ModelFileError, match="Python objects|more than its"):
        read_seed_weights(raw)


def test_an_ordinary_pickle_still_imports():
    from nn_core.network import init_params

    params = {k: v.astype(np.float64) for k, v in init_params(dense_layers([16]), seed=1).items()}
    for protocol in (3, 4, 5):
        got, layer_data = read_seed_weights(pickle.dumps(params, protocol=protocol))
        assert layer_data["Dim"] == [784, 16, 10]
        np.testing.assert_allclose(got["W1"], params["W1"], rtol=1e-6)


def test_a_forward_pass_batch_shrinks_with_the_widest_layer():
    assert batch_for(dense_layers([512, 256])) == 4096
    wide = batch_for({"Dim": [784, 1, 150_000, 10], "Activs": ["relu", "relu", "softmax"]})
    assert 1 <= wide < 100
    # and the answers do not depend on the batch size
    from nn_core.network import init_params

    ld = dense_layers([64])
    params = init_params(ld, seed=0)
    x = np.random.default_rng(0).random((300, 784), dtype=np.float32)
    np.testing.assert_allclose(predict_proba(params, ld, x, batch_size=7), predict_proba(params, ld, x), rtol=1e-5, atol=1e-7)


def test_the_neuron_views_of_a_very_wide_layer_stay_small():
    ld = {"Dim": [784, 150_000, 10], "Activs": ["relu", "softmax"]}
    rng = np.random.default_rng(0)
    model = Model(ld, {"W1": rng.standard_normal((150_000, 784), dtype=np.float32) * 0.01, "b1": np.zeros((150_000, 1), np.float32),
                       "W2": rng.standard_normal((10, 150_000), dtype=np.float32) * 0.01, "b2": np.zeros((10, 1), np.float32)})
    images = rng.random((2000, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 2000)
    tracemalloc.start()
    favourite, selectivity = explain.favourite_digits(model, images, labels)  # the gallery's grouping
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(favourite) == len(selectivity) == 150_000 and set(favourite) <= set(range(10))
    assert peak < 100e6, "%.0f MB" % (peak / 1e6)  # 1,024 neurons at a time, not 2,000 x 150,000 outputs at once
    top = explain.strongest(model, images, 149_999, k=5)
    first = np.maximum(images @ model.params["W1"][149_999], 0)
    assert first[top[0]] == pytest.approx(first.max(), rel=1e-5)


def peak_mb(args, env):
    """Run the command line in a fresh process; its exit code, output and peak memory in MB."""
    # VmHWM, not getrusage: a process forked from this one (MNIST loaded) inherits its maxrss.
    probe = ("import runpy, sys; sys.argv = ['nn_core'] + %r\n"
             "try:\n    runpy.run_module('nn_core', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
             "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
             "print('PEAK_MB', int(hwm) / 1024, file=sys.stderr)\n"
             "sys.exit(code)\n" % list(args))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=600)
    peak = float(done.stderr.rsplit("PEAK_MB", 1)[1].split()[0])
    return done.returncode, done.stdout + done.stderr, peak


def test_import_seed_and_evaluate_of_hostile_files_stay_under_the_ceiling(tmp_path, weights_dir, mnist):
    env = dict(os.environ, NN_CORE_WEIGHTS_DIR=str(weights_dir))
    tall = tall_seed_file(tmp_path / "tall.json")
    code, out, peak = peak_mb(["import-seed", str(tall), "tall"], env)
    assert code == 0, out
    assert peak < LIMIT_MB, "import-seed of the tall network peaked at %.0f MB" % peak
    code, out, peak = peak_mb(["evaluate", "tall"], env)
    assert code == 0 and "accuracy" in out, out
    assert peak < LIMIT_MB, "evaluate of the tall network peaked at %.0f MB" % peak
    objects = tmp_path / "objects.json"
    objects.write_bytes(pickle.dumps(Objects(), protocol=4))
    code, out, peak = peak_mb(["import-seed", str(objects), "objects"], env)
    assert code != 0 and "Python objects" in out, out
    assert peak < 300, "refusing a 50-byte pickle peaked at %.0f MB" % peak
