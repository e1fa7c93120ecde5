"""Sweeps and the rate finder as runs on the embedded Dask cluster (``Runner.start_sweep``,
``Runner.find_rate``): a sweep uses the idle workers side by side, takes one place at a time while
others wait, stops as a whole keeping what finished, and loses only the run of a worker that dies;
the rate finder is a run of its own. And the refusals, before anything is recorded."""

import os
import signal
import time
import uuid

import pytest

from conftest import blobs
from headless import wait_until
from nn_core import database, sweep
from nn_core.runner import MAX_MINUTES_ENV, Refused, Runner
from nn_core.runs import RunStore
from nn_core.runspec import DataRecipe, RunSpec
from nn_core.training import TrainConfig

LD = {"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}
LONG = 10_000  # epochs: only a stop ends such a run in a test's time


def config(epochs=3, **kw):
    settings = dict(layer_data=LD, epochs=epochs, mini_batch=4, rate=0.05, optimizer="gd")
    settings.update(kw)
    return TrainConfig(**settings)


def spec(cfg, n=3000, owner=None, label="run"):
    X, y = blobs(n)
    return RunSpec(cfg, DataRecipe(arrays=(X, y, None, X, y, "blobs")), owner=owner or uuid.uuid4().hex, label=label)


def rates(count, epochs):
    return sweep.SweepPlan([sweep.Axis("rate", sweep.values("rate", 0.001, 0.3, count))], config(epochs))


@pytest.fixture
def runner():
    """The process's runner and its embedded cluster; each test has a runs database of its own."""
    runner = Runner.shared()
    if runner.workers() < 2:
        pytest.skip("these tests need a cluster of 2 workers or more")
    return runner


def most_at_once(records):
    """The most runs that were training at the same moment, from their start and end times."""
    spans = [(r.started, r.ended) for r in records]
    return max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)


@pytest.mark.slow
def test_a_sweep_of_six_runs_uses_both_workers_when_the_cluster_is_idle(runner):
    started = runner.start_sweep(rates(6, 12), spec(config()))
    assert len(started.runs) == 6 and started.running
    assert started.join(240), started.status
    records = [runner.store.get(run.id) for run in started.runs]
    assert [r.status for r in records] == ["finished"] * 6 and started.status == "Finished: all 6 runs."
    assert most_at_once(records) == min(runner.workers(), 6)  # side by side, never more than the workers
    assert len({r.pid for r in records}) >= 2
    land = started.landscape()
    assert land.done == 6 and land.best is not None and all(row["val_acc"] is not None for row in land.rows)


@pytest.mark.slow
def test_a_sweep_in_a_class_database_is_read_back_whole_by_another_server(runner, pg_url, monkeypatch):
    monkeypatch.setenv(database.ENV_VAR, pg_url)  # the workers write to PostgreSQL, as on a class's servers
    going = runner.start_sweep(rates(3, 2), spec(config(), owner="alice"))
    assert going.join(120) and going.finished
    other = Runner(store=RunStore(pg_url), address="tcp://127.0.0.1:1")  # another app server, never reaching Dask
    (again,) = other.sweeps_of("alice")
    assert again == going and again.plan.to_dict() == going.plan.to_dict() and again.status == "Finished: all 3 runs."
    assert again.landscape().rows == going.landscape().rows and again.landscape().done == 3
    rows, total = other.class_runs("alice")
    assert total == 3 and all(r["mine"] and r["val_acc"] is not None for r in rows)


@pytest.mark.slow
def test_with_others_waiting_a_sweep_takes_one_place_at_a_time(runner):
    if runner.workers() != 2:
        pytest.skip("written for a cluster of 2 workers")
    going = runner.start_sweep(rates(6, LONG), spec(config(), owner="alice"))
    runs = going.runs
    others = []
    try:
        wait_until(lambda: [r.status for r in runs[:2]] == ["running"] * 2)
        assert [r.status for r in runs[2:]] == ["queued"] * 4  # both places taken by the sweep: the idle cluster's
        others.append(runner.submit(spec(config(LONG), owner="bob")))  # Bob asks for a run: it waits
        assert others[0].status == "queued" and others[0].ahead == 0 and runs[2].ahead == 1  # the next free place is his
        runs[0].stop()
        wait_until(lambda: others[0].status == "running")
        assert [r.status for r in runs] == ["stopped", "running"] + ["queued"] * 4
        runs[1].stop()  # no one else waits: the sweep goes on
        wait_until(lambda: runs[2].status == "running")
        others.append(runner.submit(spec(config(LONG), owner="carol")))
        runs[2].stop()
        wait_until(lambda: others[1].status == "running")  # Carol, asked for later, goes before the sweep's run 4
        assert [r.status for r in runs[3:]] == ["queued"] * 3 and others[0].status == "running"
    finally:
        going.stop()
        for run in others:
            run.stop()
        assert going.join(60) and all(run.join(60) for run in others)
    assert [r.status for r in going.runs] == ["stopped"] * 3 + ["cancelled"] * 3


@pytest.mark.slow
def test_stop_stops_the_whole_sweep_and_keeps_what_finished(runner):
    plan = sweep.SweepPlan([sweep.Axis("n_train", [100, 2500, 2600, 2700])], config(500))  # the first is short
    going = runner.start_sweep(plan, spec(config(), owner="alice"))
    runs = going.runs
    wait_until(lambda: runs[0].status == "finished" and [r.status for r in runs[1:3]] == ["running"] * 2, timeout=120)
    going.stop()
    assert going.join(60)
    assert [r.status for r in going.runs] == ["finished", "stopped", "stopped", "cancelled"]
    assert going.status == "Ended: 1 of 4 runs finished (2 stopped, 1 cancelled before they started)."
    assert runs[0].model().params is not None and going.landscape().rows[0]["val_acc"] is not None  # what finished is kept
    assert runs[3].pid is None  # never trained
    again = runner.start(spec(config(1), owner="alice"))  # the person's place is free
    assert again.join(60) and again.status == "finished"


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_fails_that_run_only(runner):
    going = runner.start_sweep(rates(6, 15), spec(config()))
    first = going.runs[0]
    wait_until(lambda: len(first.history) >= 1)
    os.kill(first.pid, signal.SIGKILL)  # what the kernel does to a process out of memory
    assert going.join(240), going.status
    assert first.status == "failed" and "worker training it went away" in first.message
    assert [r.status for r in going.runs[1:]] == ["finished"] * 5
    time.sleep(2)
    assert runner.store.get(first.id).status == "failed"  # not tried again
    assert going.landscape().done == 6 and going.landscape().best != 0


@pytest.mark.slow
def test_the_rate_finder_is_a_run_of_its_own_in_the_persons_place(runner):
    asked = spec(config(), owner="alice")
    finder = runner.find_rate(asked)
    with pytest.raises(Refused, match="rate finder") as refused:
        runner.start(asked)
    assert refused.value.busy
    assert finder.join(120) and finder.status == "finished", finder.message
    found = finder.finder()
    assert 10 <= len(found.rates) <= 100 and len(found.costs) == len(found.rates) == len(found.smoothed)
    assert found.rates == sorted(found.rates) and found.rates[0] == pytest.approx(1e-5)
    assert found.suggestion.rate is not None and found.suggestion.reason[1:] in finder.message
    kinds = [kind for _, kind, _ in runner.events(finder.id)]
    assert kinds.count("rate") == len(found.rates)  # every mini-batch's rate and cost, as it ran
    assert runner.runs_of("alice") == [] and runner.runs_of("alice", purpose="find-rate") == [finder]
    assert runner.class_runs("alice") == ([], 0)  # not an ordinary run on the class's chart
    assert finder.config.schedule == "constant"


def test_a_sweep_the_server_would_not_run_is_refused_in_words_before_anything_is_recorded(tmp_path, monkeypatch):
    runner = Runner(store=RunStore(str(tmp_path / "runs.sqlite")), address="tcp://127.0.0.1:1")  # never reached
    asked = spec(config(), owner="alice")
    monkeypatch.setenv(sweep.MAX_SWEEP_ENV, "3")
    with pytest.raises(Refused, match="it would be 4 runs, and this server allows at most 3"):
        runner.start_sweep(rates(4, 2), asked)
    monkeypatch.setenv(MAX_MINUTES_ENV, "0.001")
    with pytest.raises(Refused, match=r"its run 1 of 2 \(rate 0.001\): this run would take about"):
        runner.start_sweep(rates(2, LONG), asked)
    assert runner.store.sweeps_of("alice") == [] and runner.store.runs_of("alice", in_sweeps=True) == []
