"""The model that ships in weights/ is re-measured on the 10,000 MNIST test images."""

import pytest

from nn_core.metrics import evaluate

BAR = 0.993  # MNIST test accuracy the shipped model must keep


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


@pytest.mark.slow
def test_shipped_model_reads_canvas_style_drawings(shipped_model, mnist):
    """MNIST test digits redrawn as people draw on the canvas (thick brush, any size, place and
    slant) go through the Draw page's preprocessing and are still read correctly."""
    from nn_core.predict import classify
    from nn_core.synthetic import canvas_style_set

    n = 1000
    drawings = canvas_style_set(mnist.x_test[-n:], seed=1)
    answers = [classify(shipped_model, d) for d in drawings]
    accuracy = sum(a is not None and a.digit == y for a, y in zip(answers, mnist.y_test[-n:])) / n
    assert accuracy >= 0.97, accuracy
