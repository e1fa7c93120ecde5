"""The command line, end to end: train, evaluate, predict, kaggle, and --help everywhere."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import ROOT
from nn_core.cli import main
from nn_core.storage import load_model


@pytest.fixture
def tiny_model(weights_dir, capsys):
    code = main(["train", "--hidden", "32", "--epochs", "3", "--n-train", "3000", "--name", "tiny", "--seed", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "epoch 1/3" in out and "epoch 3/3" in out and "saved" in out
    return weights_dir / "tiny.npz"


def test_train_writes_a_model_with_its_command_and_accuracy(tiny_model):
    model = load_model(tiny_model)
    assert model.layer_data == {"Dim": [784, 32, 10], "Activs": ["relu", "softmax"]}
    assert model.meta["command"] == "python -m nn_core train --hidden 32 --epochs 3 --n-train 3000 --name tiny --seed 3"
    assert 0.7 < model.meta["test_accuracy"] < 1 and model.meta["test_n"] == 10000
    assert len(model.meta["history"]) == 3 and model.meta["hyperparameters"]["n_train"] == 3000


@pytest.mark.slow
def test_train_refuses_to_overwrite(tiny_model, capsys):
    with pytest.raises(SystemExit, match="--force"):
        main(["train", "--epochs", "1", "--n-train", "500", "--name", "tiny"])


def test_absurd_hyperparameter_gives_a_message(weights_dir, capsys):
    assert main(["train", "--rate", "-3", "--name", "x"]) == 2
    assert "rate must be" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_json(tiny_model, capsys):
    assert main(["evaluate", str(tiny_model), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 10000
    assert result["accuracy"] == pytest.approx(load_model(tiny_model).meta["test_accuracy"])
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10000
    assert np.trace(matrix) / 10000 == pytest.approx(result["accuracy"])


@pytest.mark.slow
def test_predict_json_on_drawing_blank_and_corrupt(tiny_model, mnist, tmp_path, capsys):
    files = []
    for i in range(5):
        img = Image.fromarray((mnist.x_test[i].reshape(28, 28) * 255).astype(np.uint8)).resize((280, 280))
        files.append(tmp_path / ("digit%d.png" % i))
        img.save(files[-1])
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (280, 280), "white").save(blank)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    code = main(["predict", str(tiny_model), *map(str, files), str(blank), str(broken), "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == 1  # one file could not be read
    assert [r["file"] for r in results] == [str(f) for f in files + [blank, broken]]
    digits = [r["digit"] for r in results[:5]]
    assert sum(d == y for d, y in zip(digits, mnist.y_test[:5])) >= 3
    assert all(len(r["probabilities"]) == 10 and abs(sum(r["probabilities"]) - 1) < 1e-3 for r in results[:5])
    assert results[5]["digit"] is None and results[5]["probabilities"] is None
    assert "not a picture in a format" in results[6]["error"]


@pytest.mark.slow
def test_kaggle_submission(tiny_model, mnist, tmp_path, capsys):
    frame = pd.DataFrame((mnist.x_test[:50] * 255).round().astype(int), columns=["pixel%d" % i for i in range(784)])
    frame.to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "submission.csv"
    assert main(["kaggle", str(tiny_model), str(tmp_path / "test.csv"), "-o", str(out)]) == 0
    sub = pd.read_csv(out)
    assert list(sub.columns) == ["ImageId", "Label"]
    assert sub["ImageId"].tolist() == list(range(1, 51))
    assert np.mean(sub["Label"].to_numpy() == mnist.y_test[:50]) > 0.6


def test_bad_model_file_gives_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    assert main(["evaluate", str(bad)]) == 2
    assert "not a readable .npz" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["kaggle"], ["download"]])
def test_help_everywhere(command):
    result = subprocess.run([sys.executable, "-m", "nn_core", *command, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "usage: python -m nn_core" in result.stdout


def test_name_taken_while_training_keeps_the_work(weights_dir, monkeypatch, capsys):
    """Another process saves under the same name during training: nothing is overwritten, and
    the new network is saved under a dated name instead of being lost."""
    from nn_core import cli
    from nn_core.network import init_params
    from nn_core.storage import save_model

    class Intruded(cli.Trainer):
        def run(self, *a, **kw):
            for record in super().run(*a, **kw):
                ld = {"Dim": [784, 5, 10], "Activs": ["relu", "softmax"]}
                save_model("taken", init_params(ld, seed=0), ld, {"by": "someone else"})
                yield record

    monkeypatch.setattr(cli, "Trainer", Intruded)
    assert main(["train", "--hidden", "16", "--epochs", "1", "--n-train", "500", "--name", "taken"]) == 0
    assert load_model("taken").meta == {"by": "someone else", "layer_data": {"Dim": [784, 5, 10], "Activs": ["relu", "softmax"]}}
    others = [p for p in weights_dir.glob("taken-*.npz")]
    assert len(others) == 1 and load_model(others[0]).layer_data["Dim"] == [784, 16, 10]
    assert "saved under another name" in capsys.readouterr().err


def test_a_name_that_looks_like_a_path_is_refused_before_training(weights_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1", "--n-train", "500", "--name", "x.npz"]) == 2
    assert "model name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]


def test_a_network_above_the_parameter_limit_is_refused_before_allocating(weights_dir, capsys):
    import tracemalloc

    tracemalloc.start()
    assert main(["train", "--hidden", "100000,100000", "--name", "huge"]) == 2
    assert tracemalloc.get_traced_memory()[1] < 100 * 2**20
    tracemalloc.stop()
    assert "limit of 20,000,000" in capsys.readouterr().err


def test_the_installed_command_works_from_any_folder(tmp_path):
    import shutil

    command = shutil.which("nn-core") or str(Path(sys.executable).parent / "nn-core")
    result = subprocess.run([command, "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and "usage: nn-core" in result.stdout
    result = subprocess.run(
        [sys.executable, "-c", "import nn_core, sys; print(nn_core.load_model('default').layer_data['Dim'])"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "784" in result.stdout, result.stderr
