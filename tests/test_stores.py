"""The stores on both back ends: one suite for SQLite (and the weights folder) and PostgreSQL, so
that a class's server behaves as a laptop does. Then what only a database server meets: servers
migrating at once, a database from a newer version, and a server that goes away and comes back."""

import subprocess
import sys
import threading
import time

import numpy as np
import psycopg
import pytest

import pgserver
from conftest import ROOT, at_once, fresh_schema
from nn_core import database, runs
from nn_core.drawings import DrawingsError, DrawingStore
from nn_core.models import DatabaseModels, FolderModels, ModelsError, QuotaError, model_store
from nn_core.network import init_params
from nn_core.runs import Busy, RunStore
from nn_core.storage import ModelFileError, save_model
from nn_core.training import TrainConfig

LD = {"Dim": [784, 16, 10], "Activs": ["relu", "softmax"]}


def params(seed=0):
    return init_params(LD, seed=seed)


# -- models ---------------------------------------------------------------------------------------
@pytest.fixture(params=["folder", "postgres"])
def models(request, weights_dir, monkeypatch):
    """The saved models: the weights folder alone (a laptop), or the database beside it (a class)."""
    if request.param == "folder":
        return FolderModels()
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv(database.ENV_VAR, url)
    return model_store()


def test_a_saved_model_comes_back_with_its_parameters_and_metadata(models):
    p = params()
    assert (
        models.save("mine", p, LD, {"owner": "alice", "test_accuracy": 0.9, "history": [{"train_cost": float("nan")}]}) == "mine"
    )
    model = models.load("mine")
    assert model.layer_data == LD and model.meta["test_accuracy"] == 0.9 and model.meta["owner"] == "alice"
    for key in p:
        np.testing.assert_array_equal(model.params[key], p[key])
    assert models.owner_of("mine") == "alice" and models.models_of("alice") == ["mine"] and models.models_of("bob") == []


def test_the_shipped_and_command_line_models_are_offered_first_and_cannot_be_taken(models, weights_dir):
    save_model("default", params(1), LD, {})  # the weights folder's own, as shipped
    save_model("from-the-cli", params(2), LD, {})
    models.save("alpha", params(3), LD, {"owner": "alice"})
    assert models.names()[0] == "default" and set(models.names()) == {"default", "from-the-cli", "alpha"}
    with pytest.raises(FileExistsError, match="exists already"):
        models.save("from-the-cli", params(4), LD, {"owner": "alice"})
    with pytest.raises(PermissionError):
        models.delete("default", "alice")
    with pytest.raises(PermissionError, match="not yours"):
        models.delete("from-the-cli", "alice")
    np.testing.assert_array_equal(models.load("from-the-cli").params["W1"], params(2)["W1"])


def test_eight_people_saving_one_name_at_once_leave_exactly_one_model(models):
    results = at_once(lambda seed: models.save("race", params(seed), LD, {"owner": "p%d" % seed, "seed": seed}), 8)
    won = [seed for seed, result in enumerate(results) if result == "race"]
    assert len(won) == 1
    assert all(isinstance(r, FileExistsError) for k, r in enumerate(results) if k != won[0])  # nothing else went wrong
    assert models.load("race").meta["seed"] == won[0]


def test_only_the_owner_deletes_into_the_bin_and_the_version_follows_the_name(models):
    models.save("mine", params(0), LD, {"owner": "alice"})
    first = models.version("mine")
    with pytest.raises(PermissionError, match="not yours"):
        models.delete("mine", "bob")
    models.delete("mine", "alice")
    assert "mine" not in models.names()
    with pytest.raises((ModelFileError, OSError)):
        models.load("mine")
    with pytest.raises(FileNotFoundError):
        models.restore("mine", "bob")  # only its owner finds it in the bin
    models.save("mine", params(1), LD, {"owner": "bob"})  # the name is free again
    assert models.version("mine") != first  # a page's cache cannot serve alice's network for bob's
    with pytest.raises(FileExistsError, match="saved since"):
        models.restore("mine", "alice")
    models.delete("mine", "bob")
    models.restore("mine", "alice")
    assert models.load("mine").meta["owner"] == "alice"
    np.testing.assert_array_equal(models.load("mine").params["W1"], params(0)["W1"])


def test_the_bin_forgets_a_model_after_its_days(models, monkeypatch):
    from nn_core import models as rules

    models.save("old", params(0), LD, {"owner": "alice"})
    monkeypatch.setattr(rules, "BIN_DAYS", -1)  # every day in the bin is over at once
    models.delete("old", "alice")
    with pytest.raises(FileNotFoundError, match="no deleted model"):
        models.restore("old", "alice")


def test_a_person_keeps_at_most_so_many_models(models, monkeypatch):
    from nn_core import models as rules

    monkeypatch.setattr(rules, "MAX_MODELS_PER_PERSON", 2)
    models.save("a1", params(), LD, {"owner": "alice"})
    models.save("a2", params(), LD, {"owner": "alice"})
    with pytest.raises(QuotaError, match="as many as one person may keep"):
        models.save("a3", params(), LD, {"owner": "alice"})
    assert "a3" not in models.names()
    models.save("b1", params(), LD, {"owner": "bob"})  # others are not held back
    models.save("cli", params(), LD, {})  # nor a model of nobody's (the command line's)


@pytest.mark.parametrize("saved_before, tabs", [(5, 30), (15, 12)])
def test_many_tabs_saving_at_once_never_take_a_person_past_the_quota(models, saved_before, tabs):
    """Counted, then written, as one step on every back end: 30 tabs saving different names at
    once after 5 saved leave 20 models, not 22."""
    from nn_core import models as rules

    for k in range(saved_before):
        models.save("before%d" % k, params(k), LD, {"owner": "alice"})
    results = at_once(lambda k: models.save("tab%d" % k, params(k), LD, {"owner": "alice"}), tabs)
    saved = [r for r in results if not isinstance(r, Exception)]
    assert all(isinstance(r, QuotaError) for r in results if isinstance(r, Exception)), results
    assert len(models.models_of("alice")) == rules.MAX_MODELS_PER_PERSON
    assert len(saved) == rules.MAX_MODELS_PER_PERSON - saved_before


def test_a_network_that_does_not_fit_its_layers_is_refused_before_anything_is_written(models):
    bad = params()
    bad["W2"] = bad["W2"][:, :3]
    with pytest.raises(ModelFileError, match="shape"):
        models.save("bad", bad, LD, {"owner": "alice"})
    assert "bad" not in models.names()


# -- runs -----------------------------------------------------------------------------------------
def config():
    return TrainConfig(layer_data={"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}, epochs=2, mini_batch=4)


@pytest.fixture
def run_store(backend):
    return RunStore(backend)


def test_two_tabs_starting_a_run_at_once_start_one(run_store):
    results = at_once(lambda k: run_store.add(config(), "run %d" % k, owner="alice"), 6)
    started = [r for r in results if not isinstance(r, Exception)]
    assert len(started) == 1 and sum(isinstance(r, Busy) for r in results) == 5
    assert [r.id for r in run_store.runs_of("alice")] == [started[0][0]]
    assert run_store.add(config(), "other", owner="bob")  # another person is not held back


def test_a_reader_following_a_run_misses_no_event_while_writers_race(run_store):
    ids = [run_store.add(config(), "run %d" % k, owner="p%d" % k)[0] for k in range(4)]
    for run_id in ids:
        assert run_store.begin(run_id)
    done = threading.Event()

    def write(run_id):
        for i in range(40):
            run_store.report(run_id, [("batch", {"i": i})], batch=i)

    seen, since = [], 0

    def read():
        nonlocal since
        # Once the writers are done, one more read takes what the last one had not seen yet (until
        # all 40 are there, or a while without them: then the assertion below says what was missed).
        deadline = None
        while not done.is_set() or len(seen) < 40:
            for event_id, kind, body in run_store.events(ids[0], since):
                if kind == "batch":
                    seen.append(body["i"])
                since = event_id
            if done.is_set():
                deadline = deadline or time.monotonic() + 10
                if time.monotonic() > deadline:
                    break

    writers = [threading.Thread(target=write, args=(run_id,)) for run_id in ids]
    reader = threading.Thread(target=read)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join(30)
    assert seen == list(range(40))  # in order, none missed, none twice


def test_a_run_record_round_trips_its_networks_commands_and_order(run_store):
    first, seq1 = run_store.add(config(), "run 1", owner="alice", estimate=3.0)
    second, seq2 = run_store.add(config(), "run 1", owner="bob")
    third, _ = run_store.add(config(), "by the command line", owner=None)
    assert seq2 > seq1 and run_store.ahead(seq2) == 1 and run_store.waiting() == 3
    assert run_store.begin(first) and not run_store.begin(first)  # a run is trained once
    run_store.report(first, [("epoch", {"epoch": 1})], epoch=1, held=True, snapshot={"W1": np.ones((2, 3))})
    run_store.report(
        first,
        [],
        snapshot={"W1": np.full((2, 3), 2.0)},
        params={"W1": np.full((2, 3), 3.0)},
        result={"accuracy": 0.5},
        status="finished",
        ended=time.time(),
        trained=time.time(),
    )
    assert run_store.network(first, final=False)["W1"][0, 0] == 2.0 and run_store.network(first)["W1"][0, 0] == 3.0
    record = run_store.get(first)
    assert record.status == "finished" and record.result == {"accuracy": 0.5} and record.held == 0
    assert [kind for _, kind, _ in run_store.events(first)] == ["started", "epoch", "ended"]
    run_store.command(second, "change", {"rate": 0.1})
    run_store.command(second, "pause")
    (change, kind, body), (pause, _, _) = run_store.commands(second)
    assert (kind, body) == ("change", {"rate": 0.1})
    assert run_store.get(second).pending == ["pause"]  # a request until the run acknowledges it
    run_store.report(second, done=[change, pause])
    assert run_store.commands(second) == [] and run_store.get(second).pending == []
    assert [r.id for r in run_store.runs_of(None)] == [third]
    assert run_store.cancel(second, "not wanted") and not run_store.cancel(first, "too late")
    assert run_store.get("no such run") is None


def test_a_run_that_stops_answering_is_failed_with_its_curves_kept(run_store, monkeypatch):
    run_id, _ = run_store.add(config(), "run 1", owner="alice")
    run_store.begin(run_id)
    run_store.report(run_id, [("epoch", {"epoch": 1})], snapshot={"W1": np.ones((2, 2))})
    monkeypatch.setenv(runs.LOST_ENV, "0.3")
    time.sleep(0.6)
    record = run_store.get(run_id)
    assert record.status == "failed" and "stopped answering" in record.message
    assert [(k, b) for _, k, b in run_store.events(run_id)][1:] == [
        ("epoch", {"epoch": 1}),
        ("ended", {"status": "failed", "message": record.message}),
    ]
    assert run_store.network(run_id, final=False) is not None
    run_store.add(config(), "run 2", owner="alice")  # its place is free


# -- PostgreSQL only ------------------------------------------------------------------------------
def test_eight_servers_starting_at_once_migrate_exactly_once(postgres_server):
    url = fresh_schema(postgres_server)
    script = (
        "import sys, time\nfrom nn_core.drawings import DrawingStore\nfrom nn_core.runs import RunStore\n"
        "from nn_core.models import DatabaseModels\nstart = float(sys.argv[2])\n"
        "time.sleep(max(0, start - time.time()))\n"
        "print(DrawingStore(sys.argv[1]).count(), len(RunStore(sys.argv[1]).runs_of('x')), DatabaseModels(sys.argv[1]).models_of('x'))"
    )
    start = time.time() + 4  # all eight open the database at the same moment
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(start)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    outputs = [server.communicate(timeout=120) for server in servers]
    assert [server.returncode for server in servers] == [0] * 8, [err for _, err in outputs]
    assert all(out.split() == ["0", "0", "[]"] for out, _ in outputs)
    with psycopg.connect(url) as conn:
        applied = conn.execute("SELECT store, version FROM schema_version ORDER BY store, version").fetchall()
    versions = [
        (schema.name, v + 1)
        for schema in (DrawingStore.SCHEMA, DatabaseModels.SCHEMA, RunStore.SCHEMA)
        for v in range(len(schema.postgres))
    ]
    assert applied == sorted(versions)  # every version of every store, once


def test_a_database_from_a_newer_version_is_left_alone(pg_url):
    DrawingStore(pg_url).add("s", 1, np.zeros((28, 28)))
    database.close_pools()  # as a server started after the database was upgraded by a newer app
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (store, version) VALUES ('drawings', 99)")
    with pytest.raises(DrawingsError, match="newer version of this app.*Nothing was changed"):
        DrawingStore(pg_url).add("s", 2, np.zeros((28, 28)))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM drawings").fetchone()[0] == 1


def test_a_database_server_that_goes_away_says_so_stores_nothing_and_is_used_again_when_back(own_postgres, monkeypatch):
    own_server = own_postgres
    monkeypatch.setattr(database, "CONNECT_SECONDS", 2.0)
    drawings, runs_, models = DrawingStore(own_server.url), RunStore(own_server.url), DatabaseModels(own_server.url)
    drawings.add("alice", 3, np.zeros((28, 28)))
    models.save("kept", params(), LD, {"owner": "alice"})
    own_server.stop()
    for attempt, error in [
        (lambda: drawings.add("alice", 4, np.ones((28, 28))), DrawingsError),
        (lambda: runs_.add(config(), "run 1", owner="alice"), runs.RunsError),
        (lambda: models.save("new", params(1), LD, {"owner": "alice"}), ModelsError),
    ]:
        began = time.time()
        with pytest.raises(error, match="database server cannot be reached.*try again.*Nothing was changed"):
            attempt()
        assert time.time() - began < 15  # a page waits seconds, not minutes
    own_server.start()
    pgserver.wait_until_up(own_server.url)
    # The same process, without a restart: the correction can be clicked again.
    drawings.add("alice", 4, np.ones((28, 28)))
    assert sorted(d.label for d in drawings.drawings("alice")) == [3, 4]
    assert "kept" in models.names() and runs_.add(config(), "run 1", owner="alice")
