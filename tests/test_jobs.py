"""Background training jobs and the tables the pages draw from them."""

import time

import numpy as np
import pytest

from conftest import blobs
from nn_core import jobs
from nn_core.jobs import Busy, TrainingJob
from nn_core.report import compare_frame, confusion_frame, describe, history_frame
from nn_core.training import TrainConfig

LD = {"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}


def config(epochs=3, **kw):
    settings = dict(layer_data=LD, epochs=epochs, mini_batch=4, rate=0.05, optimizer="gd")
    settings.update(kw)
    return TrainConfig(**settings)


def test_job_trains_in_the_background_and_measures_the_test_set():
    X, y = blobs()
    job = TrainingJob(config(), X, y, X, y, label="run 1").start()
    job.join(30)
    assert job.status == "finished" and len(job.history) == 3
    assert job.progress == 1.0 and job.seconds_left is None
    assert job.result["n"] == len(y) and job.result["accuracy"] > 0.9
    model = job.model()
    assert model.meta["test_accuracy"] == job.result["accuracy"]
    assert len(model.meta["history"]) == 3
    assert model.meta["batch_size"] == 4 and model.meta["n_train"] == 270


def test_no_more_than_max_running_jobs_and_stop_is_prompt():
    X, y = blobs(3000)
    running = [TrainingJob(config(epochs=10_000), X, y).start() for _ in range(jobs.MAX_RUNNING)]
    try:
        with pytest.raises(Busy, match="already training"):
            TrainingJob(config(), X, y).start()
        deadline = time.time() + 60
        while running[0].progress == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert 0 < running[0].progress < 1 and running[0].seconds_left > 0
        assert running[0].status == "running"
    finally:
        for job in running:
            job.stop()
        for job in running:
            job.join(60)
    # 10,000 epochs were asked for: only a stop between mini-batches ends them this early.
    assert all(job.status == "stopped" and len(job.history) < 10_000 for job in running)
    TrainingJob(config(epochs=1), X, y).start().join(10)  # room again once they have stopped


def test_bad_settings_fail_before_a_thread_starts():
    X, y = blobs()
    with pytest.raises(ValueError, match="rate"):
        TrainingJob(config(rate=-1), X, y)


def test_history_and_comparison_tables():
    X, y = blobs()
    job = TrainingJob(config(val_fraction=0.2), X, y).start()
    job.join(30)
    frame = history_frame(job.history)
    assert list(frame["epoch"]) == [1, 2, 3]
    assert {"training cost", "validation cost", "training accuracy", "validation accuracy"} <= set(frame.columns)
    both = compare_frame([("a", job.history), ("b", job.history[:2])], "validation cost")
    assert list(both["run"]) == ["a"] * 3 + ["b"] * 2
    row = describe(job.config, job.trainer.n_train, job.trainer.batch_size)
    assert row["layers"] == "4-8-3" and row["optimizer"] == "gradient descent" and row["mini_batch"] == "4"
    assert row["network"] == "one hidden layer of 8 neurons (relu)" and row["training images"] == 240
    cm = confusion_frame(np.eye(3, dtype=int) * 5)
    assert len(cm) == 9 and cm["count"].sum() == 15
