"""Background training jobs and the tables the pages draw from them."""

import multiprocessing.context
import os
import time

import numpy as np
import pytest

from conftest import blobs
from nn_core import jobs
from nn_core.jobs import TrainingJob
from nn_core.report import confusion_frame, describe, history_frame
from nn_core.training import TrainConfig

LD = {"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}


def config(epochs=3, **kw):
    settings = dict(layer_data=LD, epochs=epochs, mini_batch=4, rate=0.05, optimizer="gd")
    settings.update(kw)
    return TrainConfig(**settings)


def test_job_trains_in_the_background_and_measures_the_test_set():
    X, y = blobs()
    job = TrainingJob.on_arrays(config(), X, y, X, y, label="run 1").start()
    job.join(30)
    assert job.status == "finished" and len(job.history) == 3
    assert job.progress == 1.0 and job.seconds_left is None
    assert job.result["n"] == len(y) and job.result["accuracy"] > 0.9
    model = job.model()
    assert model.meta["test_accuracy"] == job.result["accuracy"]
    assert len(model.meta["history"]) == 3
    assert model.meta["batch_size"] == 4 and model.meta["n_train"] == 270


def wait_until(condition, timeout=60):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_no_more_than_max_running_jobs_the_next_waits_and_starts_by_itself():
    X, y = blobs(3000)
    running = [TrainingJob.on_arrays(config(epochs=10_000), X, y).start() for _ in range(jobs.MAX_RUNNING)]
    waiting = []
    try:
        waiting = [TrainingJob.on_arrays(config(epochs=1), X, y).start() for _ in range(2)]
        assert [w.status for w in waiting] == ["queued", "queued"] and [w.ahead for w in waiting] == [0, 1]
        wait_until(lambda: running[0].progress > 0)
        wait_until(lambda: (running[0].seconds_left or 0) > 0)  # once there is a pace to go by
        assert 0 < running[0].progress < 1
        assert running[0].status == "running" and running[0].ahead is None
        waiting[1].stop()  # leaves the line
        assert waiting[1].status == "cancelled" and "Cancelled" in waiting[1].message and waiting[0].ahead == 0
        running[0].stop()  # frees a place: the first in line starts by itself
        waiting[0].join(60)
        assert waiting[0].status == "finished" and len(waiting[0].history) == 1
    finally:
        for job in running + waiting:
            job.stop()
        for job in running:
            job.join(60)
    # 10,000 epochs were asked for: only a stop between mini-batches ends them this early.
    assert all(job.status == "stopped" and len(job.history) < 10_000 for job in running)


def test_a_job_whose_page_has_gone_stops_and_frees_its_place(monkeypatch):
    monkeypatch.setattr(jobs, "GONE_AFTER", 0.5)
    X, y = blobs(3000)
    page_open = [True]
    job = TrainingJob.on_arrays(config(epochs=10_000), X, y, alive=lambda: page_open[0]).start()
    wait_until(lambda: job.progress > 0)
    time.sleep(2)  # the page is there: the job goes on
    assert job.status == "running"
    page_open[0] = False
    job.join(30)
    assert job.status == "stopped" and "page that started it was closed" in job.message
    assert job not in jobs._running


def test_a_run_above_the_servers_limit_is_refused_naming_it(monkeypatch):
    X, y = blobs()
    monkeypatch.setenv(jobs.MAX_MINUTES_ENV, "0.001")
    with pytest.raises(jobs.TooLong, match=r"at most 0.001 minutes \(NN_CORE_MAX_RUN_MINUTES\)"):
        TrainingJob.on_arrays(config(epochs=10_000), X, y)


def test_the_estimate_of_the_longest_train_page_run_is_hours():
    from nn_core.network import dense_layers
    from nn_core.training import estimated_seconds

    longest = TrainConfig(layer_data=dense_layers([1024] * 4), epochs=100, mini_batch=1, augment=True)
    assert estimated_seconds(longest, 60_000) > 10 * 3600
    assert estimated_seconds(TrainConfig(), 54_000) < 120


def test_bad_settings_fail_before_a_thread_starts():
    X, y = blobs()
    with pytest.raises(ValueError, match="rate"):
        TrainingJob.on_arrays(config(rate=-1), X, y)


def test_history_and_comparison_tables():
    X, y = blobs()
    job = TrainingJob.on_arrays(config(val_fraction=0.2), X, y).start()
    job.join(30)
    frame = history_frame(job.history)
    assert list(frame["epoch"]) == [1, 2, 3]
    assert {"training cost", "validation cost", "training accuracy", "validation accuracy"} <= set(frame.columns)
    row = describe(job.config, job.n_train, job.batch_size)
    assert row["layers"] == "4-8-3" and row["optimizer"] == "gradient descent" and row["mini_batch"] == "4"
    assert row["network"] == "one hidden layer of 8 neurons (relu)" and row["training images"] == 240
    cm = confusion_frame(np.eye(3, dtype=int) * 5)
    assert len(cm) == 9 and cm["count"].sum() == 15


def test_a_run_alone_gets_every_core_and_two_share_them(monkeypatch):
    monkeypatch.setattr(jobs.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert [jobs.blas_threads(n) for n in (1, 2, 3, 5)] == [4, 2, 1, 1]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_a_run_gives_up_half_its_cores_when_a_second_starts_and_takes_them_back_after(monkeypatch):
    # BLAS threads beyond the cores make both runs spin and wait: each is told its share, and
    # its process reports what its NumPy actually uses.
    monkeypatch.setattr(jobs.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    X, y = blobs(3000)
    first = TrainingJob.on_arrays(config(epochs=10_000), X, y).start()
    second = None
    try:
        wait_until(lambda: first.threads_in_use == 2)  # alone: both cores
        second = TrainingJob.on_arrays(config(epochs=10_000), X, y).start()
        wait_until(lambda: first.threads_in_use == 1 and second.threads_in_use == 1)
        second.stop()
        second.join(30)
        wait_until(lambda: first.threads_in_use == 2)
    finally:
        for job in (first, second):
            if job is not None:
                job.stop()
                job.join(30)


def test_a_process_that_cannot_start_fails_the_run_with_the_reason_and_frees_its_place(monkeypatch):
    def cannot_start(process):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", cannot_start)
    X, y = blobs()
    job = TrainingJob.on_arrays(config(), X, y).start()
    job.join(30)
    assert job.status == "failed" and "Cannot allocate memory" in job.message
    assert job not in jobs._running


def test_a_paused_run_holds_still_and_resumes_where_it_was():
    X, y = blobs(3000)
    job = TrainingJob.on_arrays(config(epochs=10_000), X, y).start()
    try:
        wait_until(lambda: job.progress > 0)
        job.pause()
        wait_until(lambda: job.held)  # the process has stopped between two mini-batches
        held, elapsed = job.progress, job.elapsed
        time.sleep(1.0)
        assert job.progress == held  # no mini-batch while paused
        assert job.elapsed - elapsed < 0.2  # and the pause is not counted as training time
        job.resume()
        wait_until(lambda: job.status == "running" and job.progress > held)
    finally:
        job.stop()
        job.join(30)
    assert job.status == "stopped"


def test_rate_and_lamda_change_from_the_next_mini_batch_and_are_marked():
    X, y = blobs(3000)
    job = TrainingJob.on_arrays(config(epochs=400, schedule="constant"), X, y).start()
    try:
        wait_until(lambda: len(job.history) >= 2)
        assert job.change(rate=0.01, lamda=0.5)
        wait_until(lambda: len(job.changes) == 2)
        at = job.changes[0]["epoch"]
        assert {(c["setting"], c["old"], c["new"]) for c in job.changes} == {("rate", 0.05, 0.01), ("lamda", 0.0, 0.5)}
        assert at >= 2 and all(c["epoch"] == at for c in job.changes)
        assert job.config.rate == 0.01 and job.config.lamda == 0.5  # what the page shows
        wait_until(lambda: len(job.history) >= at + 3)
        rates = [r.rate for r in job.history]
        assert rates[0] == 0.05 and rates[-1] == 0.01
        with pytest.raises(ValueError, match="rate must be"):
            job.change(rate=-1)
        with pytest.raises(ValueError, match="only rate and lamda"):
            job.change(epochs=3)
    finally:
        job.stop()
        job.join(30)
    assert job.model().meta["changes"] == job.changes


def test_a_smoothed_batch_cost_comes_a_few_times_a_second():
    X, y = blobs(3000)
    job = TrainingJob.on_arrays(config(epochs=10_000), X, y).start()
    try:
        wait_until(lambda: len(job.batch_costs) >= 5)
    finally:
        job.stop()
        job.join(30)
    positions, costs = zip(*job.batch_costs)
    assert list(positions) == sorted(positions) and all(np.isfinite(costs))
    assert costs[-1] < costs[0]  # it learns


def test_the_time_left_counts_down_instead_of_jumping():
    left = None
    readings = [(0, 1046.0), (1, 786.0), (2, 802.0), (3, 790.0), (4, 770.0)]  # raw estimates seen on the page
    shown = []
    for now, raw in readings:
        left = jobs.count_down(left, raw, now)
        shown.append(left[0])
    assert all(b < a for a, b in zip(shown, shown[1:]))  # never up
    assert all(a - b < 40 for a, b in zip(shown, shown[1:]))  # and never a jump of hundreds of seconds
    assert jobs.count_down((800.0, 10), 100.0, 11) == (100.0, 11)  # a pace eight times faster is taken at once


def test_a_person_has_one_run_at_a_time_whatever_the_number_of_tabs():
    X, y = blobs(3000)
    first = TrainingJob.on_arrays(config(epochs=10_000), X, y, owner="alice").start()
    try:
        with pytest.raises(jobs.Busy, match="in this tab or another"):
            TrainingJob.on_arrays(config(epochs=1), X, y, owner="alice").start()
        other = TrainingJob.on_arrays(config(epochs=1), X, y, owner="bob").start()  # someone else may
        other.join(60)
        assert other.status == "finished"
    finally:
        first.stop()
        first.join(30)
    again = TrainingJob.on_arrays(config(epochs=1), X, y, owner="alice").start()  # once it ended, alice may again
    again.join(60)
    assert again.status == "finished"


def test_a_paused_run_gives_its_place_back_when_others_wait(monkeypatch):
    monkeypatch.setenv(jobs.MAX_PAUSE_ENV, str(1.5 / 60))  # 1.5 seconds
    X, y = blobs(3000)
    running = [TrainingJob.on_arrays(config(epochs=10_000), X, y).start() for _ in range(jobs.MAX_RUNNING)]
    waiting = None
    try:
        wait_until(lambda: all(len(job.batch_costs) for job in running))
        running[0].pause()
        wait_until(lambda: running[0].held)
        time.sleep(2.5)
        assert running[0].status == "paused"  # nobody waits: it may stay paused
        waiting = TrainingJob.on_arrays(config(epochs=1), X, y).start()
        assert waiting.status == "queued"
        waiting.join(60)
        assert waiting.status == "finished"
        assert running[0].status == "stopped" and "paused for over" in running[0].message
        assert running[0].model().params is not None  # its network is kept
    finally:
        for job in running:
            job.stop()
        for job in running:
            job.join(30)


def test_a_run_is_stopped_when_it_trains_longer_than_the_limit(monkeypatch):
    X, y = blobs(3000)
    job = TrainingJob.on_arrays(config(epochs=3), X, y)  # estimated well inside the limit ...
    monkeypatch.setenv(jobs.MAX_MINUTES_ENV, str(2 / 60))  # ... which then turns out to be 2 seconds
    job.config.epochs = 10_000
    job.start()
    job.join(60)
    assert job.status == "stopped" and "limit of" in job.message
    assert 2 <= job.elapsed < 15


def test_a_finished_job_keeps_no_training_images_in_this_process():
    import gc

    X, y = blobs(20_000)
    X = np.repeat(X, 64, axis=1)  # 20,000 x 256 float64: 41 MB
    job = TrainingJob.on_arrays(TrainConfig(layer_data={"Dim": [256, 8, 3], "Activs": ["relu", "softmax"]}, epochs=1,
                                            mini_batch=512, optimizer="gd", rate=0.05), X, y, X[:100], y[:100]).start()
    del X
    job.join(60)
    assert job.status == "finished", job.message
    import threading
    import types

    seen, found, todo = set(), 0, [job]
    while todo:  # every array the job's own data reaches (functions lead to their modules' globals: not followed)
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType, types.MethodType, threading.Thread)):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            found += obj.nbytes
        todo.extend(gc.get_referents(obj))
    assert found < 1e6, "the job still holds %.0f MB of arrays" % (found / 1e6)


def test_a_run_larger_than_the_ceilings_is_refused_before_it_starts():
    from nn_core import runspec

    X, y = blobs(300)
    with pytest.raises(ValueError, match="more than the 150,000 a run may use"):
        TrainingJob.on_arrays(config(epochs=1), np.zeros((runspec.MAX_TRAINING_IMAGES + 1, 4), np.float32),
                              np.zeros(runspec.MAX_TRAINING_IMAGES + 1, np.int64))
    wide = TrainConfig(layer_data={"Dim": [4, 150_000, 3], "Activs": ["relu", "softmax"]}, epochs=1, mini_batch=4096)
    X, y = blobs(5000)
    with pytest.raises(ValueError, match="GB of memory"):
        TrainingJob.on_arrays(wide, X, y)  # 4,096 x 150,000 activations: gigabytes


def test_a_runs_process_does_not_run_the_servers_main_script(tmp_path, monkeypatch):
    """Streamlit makes the page script last run the process's ``__main__``; a process started by
    "spawn" would run that script first."""
    import sys
    import types

    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text("open(%r, 'w').write('the page ran')\n" % str(marker))
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    X, y = blobs()
    job = TrainingJob.on_arrays(config(epochs=1), X, y).start()
    job.join(60)
    assert job.status == "finished", job.message
    assert not marker.exists()
    assert sys.modules["__main__"] is page  # given back


def test_every_thread_of_a_run_trains_below_the_servers_priority():
    from nn_core import worker

    X, y = blobs(3000)
    job = TrainingJob.on_arrays(config(epochs=10_000), X, y).start()
    try:
        wait_until(lambda: len(job.batch_costs) > 2 and job.threads_in_use is not None)
        tasks = os.listdir("/proc/%d/task" % job.pid)
        nice = {tid: int(open("/proc/%d/task/%s/stat" % (job.pid, tid)).read().rsplit(")", 1)[1].split()[16]) for tid in tasks}
        assert len(nice) >= job.threads_in_use  # its BLAS threads are among them
        assert all(n >= worker.NICENESS for n in nice.values()), nice
    finally:
        job.stop()
        job.join(30)
