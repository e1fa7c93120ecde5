"""The command line's sweep and rate finder, end to end on MNIST: the runs it plans are the runs
it trains (each as ``train`` would), the best is the one with the highest validation accuracy,
too large a sweep is refused before any data is read, and the finder prints its suggestion."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from nn_core import sweep
from nn_core.cli import main
from nn_core.storage import load_model

SMALL = ["--hidden", "32", "--epochs", "2", "--n-train", "2000", "--seed", "4"]


@pytest.mark.slow
def test_sweep_trains_each_run_as_train_would_and_marks_the_best(weights_dir, capsys):
    code = main(["sweep", "--vary", "rate=1e-4:1e-2:2", "--vary", "mini-batch=64,full", *SMALL, "--json"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    rows = result["rows"]
    assert [(r["rate"], r["mini_batch"]) for r in rows] == [(1e-4, 64), (1e-4, None), (1e-2, 64), (1e-2, None)]
    assert all(r["status"] == "finished" and 0 < r["test_acc"] <= 1 for r in rows)
    accs = [r["val_acc"] for r in rows]
    assert result["best"] == int(np.argmax(accs))
    assert result["grid"] == [accs[:2], accs[2:]]
    table = captured.err
    assert "sweep of rate x mini_batch: 4 runs of 2 epochs each" in table
    assert "best: run %d, %s" % (result["best"] + 1, rows[result["best"]]["label"]) in table
    grid = table.split("validation accuracy (rate down, mini_batch across; * the best)\n")[1].splitlines()
    starred = [line for line in grid if "*" in line]
    assert len(starred) == 1 and starred[0].startswith(["0.0001", "0.01"][result["best"] // 2])
    # The third run is what `train` gives with the same settings, to the last digit.
    assert main(["train", *SMALL, "--rate", "0.01", "--mini-batch", "64", "--name", "same"]) == 0
    history = load_model(weights_dir / "same.npz").meta["history"]
    assert history[-1]["val_acc"] == rows[2]["val_acc"]


def test_too_large_a_sweep_is_refused_before_reading_data(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(sweep.MAX_SWEEP_ENV, raising=False)
    empty = str(tmp_path)  # no MNIST here: the refusal must come first
    assert main(["sweep", "--vary", "rate=1e-5:1:13", "--data", empty]) == 2
    assert "13 runs, and this server allows at most 12 in one sweep (its NN_CORE_MAX_SWEEP_RUNS)" in capsys.readouterr().err
    assert main(["sweep", "--vary", "rate=1e-3:1e-1", "--data", empty]) == 2
    assert "a range is low:high:count" in capsys.readouterr().err
    assert main(["sweep", "--vary", "colour=red", "--data", empty]) == 2
    assert "a sweep can vary rate, lamda" in capsys.readouterr().err
    assert main(["find-rate", "--start", "1", "--end", "0.1", "--data", empty]) == 2
    assert "the rates must grow" in capsys.readouterr().err


@pytest.mark.slow
def test_find_rate_prints_the_curve_and_a_suggestion(capsys):
    argv = ["find-rate", "--hidden", "32", "--n-train", "3000", "--mini-batch", "64", "--steps", "60", "--start", "1e-4"]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    found = json.loads(captured.out)
    rates = found["rates"]
    assert rates[0] == pytest.approx(1e-4) and 10 <= len(rates) <= 60 and len(found["costs"]) == len(rates)
    assert np.allclose(np.diff(np.log(rates)), np.log(1e4) / 59)  # the same factor at every mini-batch
    rate = found["suggestion"]["rate"]
    assert 1e-4 < rate < 1
    assert "Suggested rate: %g\nWhy: %s." % (rate, found["suggestion"]["reason"]) in captured.err
    assert (
        "mini-batch  rate" in captured.err and "Try it: python -m nn_core train --optimizer adam --rate %g" % rate in captured.err
    )


@pytest.mark.parametrize("command", ["sweep", "find-rate"])
def test_help(command):
    result = subprocess.run([sys.executable, "-m", "nn_core", command, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "--hidden" in result.stdout and "--mini-batch" in result.stdout
    assert ("--vary" in result.stdout) == (command == "sweep")
