"""Weights pickled by the original design: imported through an unpickler that builds NumPy arrays
and nothing else, so a crafted file cannot run a command."""

import os
import pickle

import numpy as np
import pytest

from nn_core.cli import main
from nn_core.network import dense_layers, init_params
from nn_core.pickled import read_pickled_weights
from nn_core.storage import ModelFileError, load_model


def seed_style_params(hidden=(32,), seed=0):
    """As the original design kept them: float64 arrays, biases of shape (n, 1)."""
    return {k: v.astype(np.float64) for k, v in init_params(dense_layers(list(hidden)), seed=seed).items()}


def test_a_seed_pickle_is_imported_and_predicts_like_the_original(weights_dir, tmp_path, mnist, capsys):
    params = seed_style_params()
    (tmp_path / "weights.json").write_bytes(pickle.dumps(params))
    assert main(["import-seed", str(tmp_path / "weights.json"), "from-seed"]) == 0
    assert "784-32-10" in capsys.readouterr().out
    model = load_model("from-seed")
    assert model.layer_data == dense_layers([32])
    np.testing.assert_allclose(model.params["W2"], params["W2"], rtol=1e-6)
    assert 0 <= model.meta["test_accuracy"] <= 1


class Exploit:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch %s" % self.marker,))


@pytest.mark.parametrize("wrap", [lambda e: e, lambda e: {"W1": e}, lambda e: {"W1": np.zeros(2), "b1": [e]}])
def test_a_pickle_that_tries_to_run_a_command_is_refused(tmp_path, wrap, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.json"
    evil.write_bytes(pickle.dumps(wrap(Exploit(marker))))
    with pytest.raises(ModelFileError, match="refused: the file asks for"):
        read_pickled_weights(evil.read_bytes())
    assert main(["import-seed", str(evil), "evil"]) == 2
    assert "refused" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize(
    "obj,message",
    [
        ([1, 2, 3], "not a dict"),
        ({"weights": np.zeros(3)}, "keys must be W1, b1"),
        ({"W1": np.zeros((10, 784)), "b1": np.zeros((10, 1)), "W2": np.zeros((10, 5)), "b2": np.zeros((10, 1))}, "shape"),
        ({"W1": np.zeros((10, 100)), "b1": np.zeros((10, 1))}, "take 100 inputs"),
        ({"W1": np.array([[1, 2]]), "b1": np.zeros((1, 1))}, "floating-point"),
    ],
)
def test_pickles_that_are_not_seed_weights_are_refused(obj, message):
    with pytest.raises(ModelFileError, match=message):
        read_pickled_weights(pickle.dumps(obj))


def test_garbage_is_refused():
    with pytest.raises(ModelFileError, match="not a pickled dict"):
        read_pickled_weights(b"\x80\x04garbage")
