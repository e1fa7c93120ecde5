"""The Train page as a learner uses it: settings that stay (across pages, in the address), live
control of a running network (pause, a new rate), the cost of a run before it starts, and
captions that say what is really used. Headless with AppTest."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from headless import app, latest_run, texts, train_page, wait_until
from nn_core.network import init_params
from nn_core.storage import save_model
from nn_core.training import EpochRecord
from pages._curves import PALETTE, SMOOTHED, log_scale_helps, overlay


def long_run(at, epochs=100):
    at.select_slider(key="n_train").set_value(1000)
    at.slider(key="epochs").set_value(epochs).run()
    at.button(key="start").click().run()
    return latest_run(at)


def test_settings_survive_a_trip_to_another_page_and_match_the_running_run(weights_dir):
    """The issue's case: a 12-epoch sigmoid run, Draw, back to Train: the sidebar still says 12
    and sigmoid, and while it trains it cannot say anything else."""
    at = train_page()
    at.slider(key="epochs").set_value(12)
    at.selectbox(key="activation").set_value("sigmoid")
    at.select_slider(key="n_train").set_value(20000).run()
    at.button(key="start").click().run()
    job = latest_run(at)
    try:
        at.switch_page("pages/draw_page.py").run()
        at.switch_page("pages/train_page.py").run()
        assert not at.exception
        assert at.slider(key="epochs").value == 12 and at.selectbox(key="activation").value == "sigmoid"
        assert at.select_slider(key="n_train").value == 20000
        assert job.config.epochs == 12 and job.config.layer_data["Activs"][0] == "sigmoid"
        assert at.slider(key="epochs").disabled and at.selectbox(key="activation").disabled  # fixed while it runs
        assert not at.select_slider(key="rate").disabled and not at.select_slider(key="lamda").disabled
        assert "only the rate and lamda can change" in texts(at.caption)
    finally:
        job.stop()
        job.join(
            120
        )  # (a stop is taken between two mini-batches: after the data is built, which a loaded machine takes long over)
    at.run()
    assert not at.slider(key="epochs").disabled  # free again for the next run


def test_settings_live_in_the_address_and_a_link_brings_them_back(weights_dir):
    at = train_page()
    at.slider(key="epochs").set_value(12)
    at.selectbox(key="activation").set_value("sigmoid")
    at.select_slider(key="rate").set_value(0.01).run()
    assert {k: at.query_params[k] for k in ("epochs", "activation", "rate")} == {
        "epochs": "12",
        "activation": "sigmoid",
        "rate": "0.01",
    }
    assert "seed" not in at.query_params  # only what differs from the defaults

    shared = app()  # someone opening the link
    shared.query_params.update(
        {
            "epochs": "12",
            "activation": "sigmoid",
            "rate": "0.01",
            "dropout": "0.35",
            "mini_batch": "full batch",
            "optimizer": "rocket",
            "n_hidden": "9",
        }
    )
    shared.run()
    shared.switch_page("pages/train_page.py").run()
    assert not shared.exception
    assert shared.slider(key="epochs").value == 12 and shared.selectbox(key="activation").value == "sigmoid"
    assert shared.select_slider(key="rate").value == 0.01 and abs(shared.slider(key="dropout").value - 0.35) < 1e-9
    assert shared.select_slider(key="mini_batch").value == "full batch"
    assert shared.selectbox(key="optimizer").value == "adam" and shared.slider(key="n_hidden").value == 2
    assert (
        "not understood" in texts(shared.warning) and "optimizer" in texts(shared.warning) and "n_hidden" in texts(shared.warning)
    )


@pytest.mark.slow
def test_a_new_rate_mid_run_is_applied_marked_on_the_curves_and_kept_in_the_history(weights_dir):
    at = train_page()
    at.select_slider(key="rate").set_value(0.001)
    job = long_run(at)
    try:
        wait_until(lambda: len(job.history) >= 2)
        at.select_slider(key="rate").set_value(0.01).run()
        assert "rate of run 1: 0.001 → 0.01 from its next mini-batch" in texts(at.info)
        wait_until(lambda: job.changes and len(job.history) >= job.changes[0]["epoch"] + 2)
        (change,) = job.changes
        assert (change["setting"], change["old"], change["new"]) == ("rate", 0.001, 0.01)
        assert job.history[-1].rate > job.history[0].rate * 5  # the cosine schedule now scales the new rate
        at.run()
        marks = [
            layer
            for chart in at.get("vega_lite_chart")
            for layer in json.loads(chart.proto.spec).get("layer", [])
            if layer["mark"]["type"] in ("rule", "text") and "change" in json.dumps(layer)
        ]
        assert len(marks) == 4  # a rule and its label on each chart
    finally:
        job.stop()
        job.join(30)


@pytest.mark.slow
def test_pause_holds_the_run_and_resume_carries_on(weights_dir):
    at = train_page()
    job = long_run(at)
    try:
        wait_until(lambda: job.progress > 0)
        at.run()
        at.button(key="pause").click().run()
        if latest_run(at).status == "pausing":  # a request, until the run acknowledges it
            assert "pausing" in at.get("progress")[0].proto.text
            assert at.button(key="resume").disabled and at.button(key="resume").label == "Pausing ..."
        wait_until(lambda: job.held)
        held = job.progress
        at.run()
        assert not at.button(key="resume").disabled and at.button(key="resume").label == "Resume"
        assert "paused at epoch" in at.get("progress")[0].proto.text
        assert at.button(key="start").disabled and not at.button(key="stop").disabled
        assert job.progress == held
        at.button(key="resume").click().run()
        wait_until(lambda: job.status == "running" and job.progress > held)
    finally:
        job.stop()
        job.join(30)


def test_the_cost_of_a_run_is_shown_before_start_and_slow_choices_are_named(weights_dir):
    at = train_page()
    assert "on this server" in texts(at.caption) and "About" in texts(at.caption)
    assert not at.warning
    at.select_slider(key="mini_batch").set_value(1).run()
    warning = texts(at.warning)
    assert "This run would take about" in warning and "mini_batch 1 makes 54,000 weight updates per epoch" in warning


def test_the_caption_counts_the_images_actually_chosen(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(30000).run()
    caption = texts(at.caption)
    assert "Training on 30,000 of the 60,000 MNIST training images" in caption
    assert "27,000 of them train and 10% are held out" in caption
    assert "60000 training" not in caption


def test_the_charts_draw_each_shown_run_in_its_own_colour_with_its_marks():
    def run(label, epochs, val=True, changes=(), batch_costs=()):
        history = [
            EpochRecord(
                epoch=e,
                train_cost=1.0 / e,
                val_cost=1.5 / e if val else None,
                train_acc=0.9,
                val_acc=0.8 if val else None,
                seconds=1.0,
                rate=0.001,
            )
            for e in range(1, epochs + 1)
        ]
        return SimpleNamespace(
            label=label,
            history=history,
            changes=list(changes),
            batch_costs=list(batch_costs),
            running=False,
            config=SimpleNamespace(epochs=epochs),
        )

    a = run("a", 3, changes=[{"epoch": 1.5, "setting": "rate", "old": 0.001, "new": 0.01}])
    b = run("b", 2, val=False, batch_costs=[(0.5, 2.0), (1.0, 1.5)])
    hidden = run("hidden", 4)
    cost, accuracy = json.loads(json.dumps(overlay([a, hidden, b], [a, b], live=b)))  # plain JSON, as it is sent
    lines = cost["layer"][0]
    assert lines["encoding"]["color"]["scale"] == {"domain": ["a", "b"], "range": [PALETTE[0], PALETTE[2]]}  # b keeps its colour
    assert [(p["run"], p["curve"]) for p in lines["data"]["values"]].count(("a", "validation cost")) == 3
    assert {p["run"] for p in lines["data"]["values"]} == {"a", "b"}  # b's missing validation cost is left out, not drawn as 0
    assert len(lines["data"]["values"]) == 3 + 3 + 2
    assert [p["curve"] for p in cost["layer"][1]["data"]["values"]] == [SMOOTHED] * 2  # the live run's mini-batches
    assert [layer["mark"]["type"] for layer in accuracy["layer"]] == ["line", "rule", "text"]
    assert accuracy["layer"][2]["data"]["values"] == [
        {"run": "a", "epoch": 1.5, "n": 1, "row": 0, "y": 12, "what": "rate 0.001 → 0.01", "change": "1 (a): rate 0.001 → 0.01"}
    ]  # two runs drawn: the label names the run it belongs to
    assert lines["encoding"]["x"]["scale"] == {
        "domain": [0, 3],
        "nice": False,
        "padding": 6,
    }  # the axis ends at the runs' last epoch
    assert lines["encoding"]["color"]["legend"]["labelLimit"] == 0  # no run's name cut short
    assert lines["encoding"]["strokeDash"]["legend"] is None  # which line is which is said in words (CURVES)
    assert lines["encoding"]["y"]["scale"] == {"zero": False} and not log_scale_helps([a, b])


def test_the_cost_axis_turns_logarithmic_when_runs_are_a_hundred_times_apart():
    def run(label, cost):
        history = [
            EpochRecord(epoch=e, train_cost=cost / e, val_cost=None, train_acc=0.5, val_acc=None, seconds=1.0, rate=0.1)
            for e in range(1, 4)
        ]
        return SimpleNamespace(
            label=label, history=history, changes=[], batch_costs=[], running=False, config=SimpleNamespace(epochs=3)
        )

    sigmoid, relu = run("sigmoid", 30.0), run("relu", 0.3)
    assert log_scale_helps([sigmoid, relu])
    cost, _ = overlay([sigmoid, relu], [sigmoid, relu], log=True)
    assert cost["layer"][0]["encoding"]["y"]["scale"] == {"type": "log"}
    assert "log scale" in cost["layer"][0]["encoding"]["y"]["title"]


def test_two_changes_a_few_mini_batches_apart_print_on_rows_of_their_own_and_are_listed():
    from pages._curves import change_list

    changes = [
        {"epoch": 1.02, "setting": "rate", "old": 0.001, "new": 0.003},
        {"epoch": 1.03, "setting": "lamda", "old": 0.0, "new": 1.0},
    ]
    history = [
        EpochRecord(epoch=e, train_cost=1.0, val_cost=None, train_acc=0.5, val_acc=None, seconds=1.0, rate=0.1) for e in (1, 2)
    ]
    live = SimpleNamespace(
        label="run 1", history=history, changes=changes, batch_costs=[], running=True, config=SimpleNamespace(epochs=15)
    )
    cost, _ = overlay([live], [live], live=live)
    labels = cost["layer"][-1]["data"]["values"]
    assert len({label["y"] for label in labels}) == 2  # stacked: never printed over each other
    assert cost["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 15]  # a running run's axis ends at its epochs, not 16
    assert [label["change"] for label in labels] == ["1: rate 0.001 → 0.003", "2: lamda 0 → 1"]  # one run: no name needed
    assert change_list([live]) == ("Changes: 1: rate 0.001 → 0.003 at epoch 1.02 (run 1); 2: lamda 0 → 1 at epoch 1.03 (run 1).")


def test_a_run_stopped_inside_an_epoch_keeps_its_mini_batches_line_inside_the_chart():
    """Stopped in its second epoch: the axis ends at 2, where the thin line of that epoch's
    mini-batches ends, not at 1 with the line drawn past the chart's edge."""
    history = [EpochRecord(epoch=1, train_cost=1.0, val_cost=None, train_acc=0.5, val_acc=None, seconds=1.0, rate=0.1)]
    stopped = SimpleNamespace(
        label="run 1",
        history=history,
        changes=[],
        batch_costs=[(0.5, 1.2), (1.0, 1.0), (1.3, 0.9)],
        running=False,
        config=SimpleNamespace(epochs=3),
    )
    cost, _ = overlay([stopped], [stopped], live=stopped)
    assert cost["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 2]
    assert cost["layer"][1]["mark"]["clip"] is True
    finished = SimpleNamespace(**dict(vars(stopped), batch_costs=[(0.5, 1.2), (1.0, 1.0)]))
    cost, _ = overlay([finished], [finished], live=finished)
    assert cost["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 1]


def test_the_health_legend_names_every_layer_it_draws():
    from pages._curves import HEALTH, health_charts

    layers = [{"layer": l, "grad": 10.0**-l, "update": 1e-3, "saturated": 0.1, "dead": None} for l in range(1, 6)]
    history = [
        EpochRecord(epoch=e, train_cost=1.0, val_cost=None, train_acc=0.5, val_acc=None, seconds=1.0, rate=0.1, health=layers)
        for e in (1, 2, 3)
    ]
    run = SimpleNamespace(
        history=history, running=False, config=SimpleNamespace(epochs=3, layer_data={"Dim": [784, 8, 8, 8, 8, 10]})
    )
    for chart in health_charts(run):
        color = chart["layer"][0]["encoding"]["color"]
        assert color["sort"] == ["layer 1", "layer 2", "layer 3", "layer 4", "layer 5 (output)"]
        assert color["legend"]["columns"] == 2  # in rows under the chart, not one row cut off at its edge
        assert chart["layer"][0]["encoding"]["x"]["scale"]["domain"] == [1, 3]
    assert not any("vanishing" in meaning for _, _, meaning in HEALTH)  # the captions explain; the verdict diagnoses


def deep_sigmoid(at, neurons, epochs):
    """The issue's case of a network that cannot learn: four sigmoid layers of ``neurons``, plain
    gradient descent at rate 0.1, on 5,000 images."""
    at.slider(key="n_hidden").set_value(4).run()  # the sliders of layers 3 and 4 appear
    for i in range(1, 5):
        at.select_slider(key="neurons_%d" % i).set_value(neurons)
    at.selectbox(key="activation").set_value("sigmoid")
    at.selectbox(key="optimizer").set_value("gd")
    at.select_slider(key="n_train").set_value(5000)
    at.slider(key="epochs").set_value(epochs)
    at.select_slider(key="rate").set_value(0.1).run()


def test_a_trap_is_named_before_start_at_any_run_length(weights_dir):
    at = train_page()
    assert "may keep the network from learning" not in texts(at.warning)  # the defaults learn
    deep_sigmoid(at, neurons=1024, epochs=1)
    assert "vanishing gradients" in texts(at.warning) and "Try relu" in texts(at.warning)


@pytest.mark.slow
def test_the_runs_table_says_what_each_run_is_doing_and_any_run_can_be_saved(weights_dir):
    import os

    from nn_core.storage import load_model

    at = train_page()
    first = long_run(at, epochs=1)
    first.join(120)
    at.run()
    at.select_slider(key="rate").set_value(0.001)
    second = long_run(at)
    try:
        wait_until(lambda: len(second.history) >= 1)
        at.select_slider(key="rate").set_value(0.01).run()
        wait_until(lambda: second.changes)
        at.run()
        table = at.dataframe[0].value
        assert table.loc["run 2", "test accuracy (%)"] == "training" and table.loc["run 1", "test accuracy (%)"] != ""
        assert table.loc["run 2", "epochs"].endswith(" of 100") and table.loc["run 1", "epochs"] == "1 of 1"
        assert table.loc["run 2", "rate"] == 0.001  # the rate it started with ...
        assert "rate 0.001 → 0.01 at epoch" in table.loc["run 2", "changed during the run"]  # ... and the change
    finally:
        second.stop()
        second.join(60)
    at.run()
    assert at.selectbox(key="save_which").value == "run 2"  # the latest, unless another is chosen
    at.selectbox(key="save_which").set_value("run 1").run()
    at.text_input(key="save_name").set_value("the-first-run").run()
    at.button(key="save").click().run()
    assert not at.exception and os.path.exists(weights_dir / "the-first-run.npz")
    saved = load_model("the-first-run")
    assert len(saved.meta["history"]) == 1 and saved.meta["test_accuracy"] == first.result["accuracy"]


def test_fine_tuning_shows_the_models_layers_and_leaving_it_restores_the_settings(weights_dir):
    ld = {"Dim": [784, 48, 24, 10], "Activs": ["tanh", "tanh", "softmax"]}
    save_model("base", init_params(ld, seed=0), ld, {})
    at = train_page()
    at.slider(key="epochs").set_value(7)
    at.select_slider(key="rate").set_value(0.01)
    at.slider(key="n_hidden").set_value(1).run()
    at.select_slider(key="neurons_1").set_value(64).run()
    at.selectbox(key="start_from").set_value("base").run()
    assert "**Layers of base**: 784-48-24-10, tanh" in texts(at.markdown)
    assert not [w for w in at.slider if w.key == "n_hidden"]  # no slider pretending to be 512/256
    assert at.slider(key="epochs").value == 3 and at.select_slider(key="rate").value == 1e-4  # set for fine-tuning
    at.selectbox(key="start_from").set_value("new random weights").run()
    assert not at.exception
    assert at.slider(key="epochs").value == 7 and at.select_slider(key="rate").value == 0.01  # as before
    assert at.slider(key="n_hidden").value == 1 and at.select_slider(key="neurons_1").value == 64
    assert "as they were before fine-tuning" in texts(at.info)


@pytest.mark.slow
def test_a_run_that_does_not_learn_says_why_with_its_health_figures(weights_dir):
    """The issue's sigmoid case, made small: four sigmoid layers, plain gradient descent."""
    at = train_page()
    at.slider(key="dropout").set_value(0.0)
    deep_sigmoid(at, neurons=64, epochs=2)
    at.button(key="start").click().run()
    run = latest_run(at)
    wait_until(lambda: not run.running, timeout=120)
    assert run.status == "finished", run.message
    for record in run.history:  # the health figures, per layer, present and finite
        assert len(record.health) == 5
        assert all(h["grad"] > 0 and h["update"] > 0 for h in record.health)
        assert all(0 <= h["saturated"] <= 1 for h in record.health[:-1])
    at.run()
    said = texts(at.warning)
    assert "has not learned" in said and "vanishing gradients" in said and "relu" in said.lower(), said


def test_a_runs_store_of_random_bytes_is_said_in_words_on_the_train_page(weights_dir, tmp_path, monkeypatch):
    broken = tmp_path / "runs.sqlite"
    broken.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 64 * 1024, dtype=np.uint8)))
    monkeypatch.setenv("NN_CORE_RUNS_DB", str(broken))
    at = train_page()
    assert not at.exception  # no red box with a stack of file names
    assert "runs database" in texts(at.error)
    at.button(key="start").click().run()
    assert not at.exception and "Not started" in texts(at.error)


@pytest.mark.slow
def test_a_stopped_database_server_is_said_in_words_on_the_train_page(weights_dir, own_postgres, monkeypatch):
    from nn_core import database

    monkeypatch.setattr(database, "CONNECT_SECONDS", 2.0)
    monkeypatch.setenv("NN_CORE_DATABASE_URL", own_postgres.url)
    at = train_page()
    own_postgres.stop()
    at.run()
    assert not at.exception
    assert "cannot be reached" in texts(at.error)
    at.button(key="start").click().run()
    assert not at.exception and "Not started" in texts(at.error)


@pytest.mark.slow
def test_a_run_stopped_in_its_first_epoch_keeps_its_network_so_far_and_says_so(weights_dir):
    """Stop keeps the network so far (its help says so): stopped before any epoch ended, a run
    still has one, measured on the test set, and it can be saved; the results say it had not
    finished an epoch, and the runs table's accuracy is the saved network's."""
    from nn_core.storage import load_model

    at = train_page()
    at.select_slider(key="n_train").set_value(20000)
    at.select_slider(key="mini_batch").set_value(1).run()  # a first epoch of minutes
    at.button(key="start").click().run()
    job = latest_run(at)
    wait_until(lambda: job.progress > 0)
    at.button(key="stop").click().run()
    assert job.join(60) and job.status == "stopped" and not job.history
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Epochs"] == ["under 1"]
    assert "Stopped during its first epoch." in texts(at.warning)  # not "after 0 complete epochs"
    assert "without a network to save" not in texts(at.caption)
    at.text_input(key="save_name").set_value("stopped-early").run()
    at.button(key="save").click().run()
    assert not at.exception
    saved = load_model("stopped-early")
    assert saved.meta["history"] == [] and saved.meta["test_accuracy"] == job.result["accuracy"]


def test_a_finished_run_is_offered_on_the_draw_page_under_its_own_name(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(1000)
    at.slider(key="epochs").set_value(1).run()
    at.button(key="start").click().run()
    job = latest_run(at)
    assert job.join(120) and job.status == "finished"
    at.switch_page("pages/draw_page.py").run()
    options = at.selectbox(key="model_name").options
    assert "The network training now" not in options and "Your run: run 1" in options
    at.selectbox(key="model_name").set_value("Your run: run 1").run()
    assert not at.exception and "run 1, your run that finished after 1 epoch" in texts(at.caption)


def test_the_save_box_suggests_a_name_no_one_has_taken(shipped_weights):
    """Names are shared by everyone on a server: the suggestion skips those saved already."""
    from nn_core.models import FolderModels
    from nn_core.network import dense_layers, init_params
    from pages._models import free_name

    ld = dense_layers([8])
    for name in ("my-model-1", "my-model-2"):
        FolderModels().save(name, init_params(ld, seed=0), ld, {"owner": "someone else"})
    assert free_name("my-model", 1) == "my-model-3" and free_name("my-model", 0) == "my-model-3"
    assert free_name("my-model", 4) == "my-model-4"


def test_the_progress_line_says_what_a_run_is_waiting_for():
    from pages._train_runs import progress_text

    def job(**state):
        base = dict(label="run 1", status="queued", ahead=None, waited=None, history=[], preparing=False, running=True)
        return SimpleNamespace(**dict(base, **state))

    assert progress_text(job(ahead=0, waited=0.4)) == "run 1: starting ..."  # a worker takes it in a moment
    assert progress_text(job(ahead=0, waited=12.0)) == "run 1: waiting for a free place on this server, next to start"
    assert progress_text(job(ahead=2, waited=1.0)).endswith("2 runs ahead of yours")
    assert progress_text(job(status="running", preparing=True)) == "run 1: getting the training images ready ..."
