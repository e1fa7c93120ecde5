"""The model that ships in weights/ is re-measured on the 10,000 MNIST test images."""

import numpy as np
import pytest

from nn_core.metrics import evaluate

BAR = 0.985


def test_shipped_model_meets_the_bar_and_its_metadata(shipped_model, mnist):
    result = evaluate(shipped_model, mnist.x_test, mnist.y_test)
    assert result["n"] == 10000
    assert result["accuracy"] >= BAR, "shipped model reaches %.4f, below %.3f" % (result["accuracy"], BAR)
    # BLAS may order sums differently from the machine that trained it: allow one image either way.
    assert result["accuracy"] == pytest.approx(shipped_model.meta["test_accuracy"], abs=1.5e-4)


def test_shipped_model_records_how_it_was_made(shipped_model):
    meta = shipped_model.meta
    assert meta["command"].startswith("python -m nn_core train ")
    assert "--name default" in meta["command"]
    for key in ("date", "train_seconds", "hyperparameters", "layer_data", "history"):
        assert key in meta
    assert meta["status"] == "finished" and len(meta["history"]) == meta["hyperparameters"]["epochs"]
