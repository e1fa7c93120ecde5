"""The run store's sweeps and the class's runs, without Dask, on SQLite and PostgreSQL: the schema
reached from the version before sweeps with the runs kept; a sweep recorded at once and holding its
person's one place; the Sweep handle's landscape, words and Stop; the priorities that make a
sweep's later runs wait behind others; and the class's runs on one chart, anonymous and sampled."""

import json
import sqlite3
import time

import psycopg
import pytest

from conftest import at_once
from nn_core import database, sweep, sweeps
from nn_core.database import Schema, Store
from nn_core.runner import Runner
from nn_core.runrecord import MIGRATIONS
from nn_core.runs import CLASS_SETTINGS, Busy, RunsError, RunStore
from nn_core.training import TrainConfig

LD = {"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}


def config(**kw):
    settings = dict(layer_data=LD, epochs=2, mini_batch=4)
    settings.update(kw)
    return TrainConfig(**settings)


def finish(store, run_id, val_acc=0.8, test_acc=0.75, status="finished"):
    assert store.begin(run_id)
    store.report(
        run_id,
        status=status,
        val_acc=val_acc,
        val_cost=1 - val_acc,
        test_acc=test_acc,
        result={"accuracy": test_acc},
        trained=time.time(),
        ended=time.time(),
    )


def plan_of(*axes, base=None):
    return sweep.SweepPlan([sweep.Axis(name, list(values)) for name, values in axes], base or config())


def add_sweep(store, plan, owner="alice"):
    runs = [(c, plan.label(i), 100, 1.0) for i, c in enumerate(plan.configs())]
    return store.add_sweep(plan.to_dict(), "sweep", runs, owner=owner)


def reader(store):
    """A runner on ``store`` that never reaches a cluster (a reload reading the store)."""
    return Runner(store=store, address="tcp://127.0.0.1:1")


# -- the schema -----------------------------------------------------------------------------------
class RunsBeforeSweeps(Store):
    """The run store as the app before sweeps made it: the first version of its schema."""

    SCHEMA = Schema("runs", "a runs database", RunsError, MIGRATIONS[:1], lock=7302)


def test_a_runs_database_from_before_sweeps_gains_them_and_keeps_its_runs(backend):
    old = RunsBeforeSweeps(backend)
    old._run(
        "record an old run",
        lambda conn: conn.execute(
            "INSERT INTO runs (id, owner, label, config, status, submitted, result, n_train) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("old", "alice", "my run", json.dumps(config().to_dict()), "finished", time.time(), '{"accuracy": 0.9}', 90),
        ),
    )
    database.close_pools()  # as an app server started after the upgrade
    store = RunStore(backend)
    record = store.get("old")
    assert record.purpose == "train" and record.sweep is None and record.val_acc is None and record.label == "my run"
    assert [r.id for r in store.runs_of("alice")] == ["old"]
    rows, total = store.class_runs("alice")
    assert total == 1 and rows[0]["test_acc"] == 0.9 and rows[0]["mine"] and rows[0]["n_train"] == 90
    sweep_id, ids = add_sweep(store, plan_of(("rate", [0.01, 0.1])))  # the new tables are there
    assert [r.id for r in store.runs_in(sweep_id)] == [i for i, _ in ids]
    if database.is_url(backend):
        with psycopg.connect(backend) as conn:
            versions = conn.execute("SELECT version FROM schema_version WHERE store = 'runs' ORDER BY version").fetchall()
        assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))
    else:
        with sqlite3.connect(backend) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


# -- sweeps in the store --------------------------------------------------------------------------
def test_a_sweep_is_recorded_at_once_and_holds_its_persons_one_place(backend):
    store = RunStore(backend)
    plan = plan_of(("rate", [0.001, 0.01, 0.1]), ("width", [8, 16]))
    results = at_once(lambda k: add_sweep(store, plan), 4)  # four tabs clicking Start at once
    started = [r for r in results if not isinstance(r, Exception)]
    assert len(started) == 1 and sum(isinstance(r, Busy) for r in results) == 3
    sweep_id, ids = started[0]
    records = store.runs_in(sweep_id)
    assert [r.label for r in records] == [plan.label(i) for i in range(6)] and {r.sweep for r in records} == {sweep_id}
    assert [r.config.layer_data["Dim"][1] for r in records] == [8, 16, 8, 16, 8, 16]
    with pytest.raises(Busy, match="a sweep under way"):
        store.add(config(), "run", owner="alice")
    assert store.runs_of("alice") == [] and len(store.runs_of("alice", in_sweeps=True)) == 6  # "Your runs" stay yours
    bobs, _ = store.add(config(), "run", owner="bob")  # others are not held back
    line = {r.id: store.ahead(r.seq) for r in store.runs_in(sweep_id) + [store.get(bobs)]}
    assert [line[i] for i, _ in ids] + [line[bobs]] == [0, 2, 3, 4, 5, 6, 1]  # Bob's: behind the sweep's first only
    assert [s["id"] for s in store.sweeps_of("alice")] == [sweep_id] and store.sweeps_of("bob") == []
    assert store.sweep(sweep_id)["plan"] == plan.to_dict()

    handle = reader(store).sweep(sweep_id)
    assert handle.running and handle.status == "0 of 6 runs done; 6 waiting for a place."
    finish(store, ids[0][0], val_acc=0.5)
    finish(store, ids[3][0], val_acc=0.9)
    store.begin(ids[1][0])
    time.sleep(handle.FRESH)
    land = handle.landscape()
    assert land.done == 2 and land.best == 3 and handle.best == handle.runs[3]
    assert land.grid == [[0.5, None], [None, 0.9], [None, None]]
    assert handle.status == "2 of 6 runs done; 1 training, 3 waiting for a place."
    handle.stop()  # the waiting runs are cancelled at once; the training one is asked to stop
    time.sleep(handle.FRESH)
    assert [r.status for r in handle.runs] == ["finished", "stopping", "cancelled", "finished", "cancelled", "cancelled"]
    store.report(ids[1][0], status="stopped")  # its process acknowledges
    time.sleep(handle.FRESH)
    assert handle.finished and handle.status == "Ended: 2 of 6 runs finished (1 stopped, 3 cancelled before they started)."
    assert store.add(config(), "run", owner="alice")  # the person's place is free again


def test_a_rate_finder_holds_the_persons_place_and_is_not_an_ordinary_run(backend):
    store = RunStore(backend)
    finder, _ = store.add(config(), "rate finder", owner="alice", purpose="find-rate", estimate=30.0)
    with pytest.raises(Busy, match="rate finder"):
        add_sweep(store, plan_of(("rate", [0.01, 0.1])))
    assert store.runs_of("alice") == [] and [r.id for r in store.runs_of("alice", purpose="find-rate")] == [finder]
    finish(store, finder)
    assert store.class_runs("alice") == ([], 0)
    assert store.timings() == []  # its time (it ends when it has seen enough) says nothing of the pace
    ordinary, _ = store.add(config(), "run", owner="alice", estimate=30.0)
    finish(store, ordinary)
    assert len(store.timings()) == 1


def test_a_sweeps_later_runs_wait_behind_runs_asked_for_after_it_and_two_sweeps_take_turns():
    first, later, second = sweeps.priorities(10, 4), [-16, -17], sweeps.priorities(18, 4)
    line = sorted(
        [("A", k, p) for k, p in enumerate(first)]
        + [("run", k, p) for k, p in enumerate(later)]
        + [("B", k, p) for k, p in enumerate(second)],
        key=lambda item: -item[2],  # Dask starts the highest priority first
    )
    assert [(who, k) for who, k, _ in line] == [
        ("A", 0), ("run", 0), ("run", 1), ("B", 0), ("A", 1), ("B", 1), ("A", 2), ("B", 2), ("A", 3), ("B", 3)
    ]  # fmt: skip
    assert max(first) == -10  # its first run is placed like any run asked for at that moment


# -- the class's runs -----------------------------------------------------------------------------
def test_the_class_runs_are_every_finished_ordinary_run_without_who(backend):
    store = RunStore(backend)
    wide = config(layer_data={"Dim": [4, 16, 16, 3], "Activs": ["tanh", "tanh", "softmax"]}, rate=0.3, n_train=120)
    a1, _ = store.add(config(rate=0.01), "alice's secret name", owner="alice")
    finish(store, a1, test_acc=0.7)
    a2, _ = store.add(wide, "alice's second", owner="alice")
    finish(store, a2, test_acc=0.95)
    b1, _ = store.add(config(rate=0.1), "bob's run", owner="bob")
    finish(store, b1, test_acc=0.8)
    sweep_id, ids = add_sweep(store, plan_of(("rate", [0.02, 0.2])), owner="carol")
    finish(store, ids[0][0], test_acc=0.85)
    finish(store, ids[1][0], test_acc=0.3, status="diverged")  # not finished: left out
    store.add(config(), "dave's, training", owner="dave")  # not ended: left out
    failed, _ = store.add(config(), "erin's", owner="erin")
    finish(store, failed, status="failed")
    rows, total = store.class_runs("alice")
    assert total == 4 and len(rows) == 4
    assert sorted(r["test_acc"] for r in rows) == [0.7, 0.8, 0.85, 0.95]
    assert [r["mine"] for r in rows] == [True, True, False, False]
    assert all(set(r) == set(CLASS_SETTINGS) | {"test_acc", "val_acc", "mine"} for r in rows)
    text = json.dumps(rows)
    assert not any(word in text for word in ("alice", "bob", "carol", "secret", "second"))  # never who, nor their names
    assert rows[1]["layers"] == 2 and rows[1]["width"] == 16 and rows[1]["activation"] == "tanh" and rows[1]["n_train"] == 120
    assert (rows[0]["layers"], rows[0]["width"], rows[0]["rate"], rows[0]["val_acc"]) == (1, 8, 0.01, 0.8)
    assert [r["mine"] for r in store.class_runs(None)[0]] == [False] * 4
    assert [r["mine"] for r in reader(store).class_runs("bob")[0]] == [False, False, True, False]


def test_more_runs_than_the_limit_are_an_even_sample_with_the_viewers_own_kept(tmp_path):
    store = RunStore(str(tmp_path / "runs.sqlite"))
    rows = [
        ("r%d" % i, "alice" if i % 60 == 0 else "p%d" % i, "run", json.dumps(config(rate=(i + 1) / 1000).to_dict()))
        for i in range(300)
    ]
    store._run(
        "record many runs",
        lambda conn: conn.executemany(
            "INSERT INTO runs (id, owner, label, config, status, submitted, test_acc) VALUES (?, ?, ?, ?, 'finished', 0, 0.5)",
            rows,
        ),
    )
    sample, total = store.class_runs("alice", limit=50)
    assert total == 300 and len(sample) == 50
    assert sum(r["mine"] for r in sample) == 5  # all five of the viewer's own
    assert store.class_runs("alice", limit=50) == (sample, total)  # the same sample on every reload
    rates = sorted(r["rate"] for r in sample if not r["mine"])
    assert len(set(rates)) == 45 and rates[0] < 0.1 and rates[-1] > 0.2  # drawn from all of them, not the first 50
    assert len(store.class_runs("alice")[0]) == 300  # under the limit: all


def test_a_sweeps_time_before_start_is_its_runs_side_by_side_on_the_workers(tmp_path, monkeypatch):
    runner = reader(RunStore(str(tmp_path / "runs.sqlite")))
    monkeypatch.setattr(runner, "workers", lambda: 2)
    plan = plan_of(("width", [8, 64, 256, 512]), base=config(layer_data={"Dim": [784, 8, 10], "Activs": ["relu", "softmax"]}))
    each = [runner.expected_seconds(c, 5000) for c in plan.configs()]
    whole = sweeps.expected(runner, plan, 5000)
    assert whole.seconds == pytest.approx(sum(e.seconds for e in each) / 2)  # two at a time, nothing waiting
    assert whole.low < whole.seconds < whole.high and whole.wait == 0
    monkeypatch.setattr(runner, "workers", lambda: 8)
    assert sweeps.expected(runner, plan, 5000).seconds == pytest.approx(sum(e.seconds for e in each) / 4)  # a place each
