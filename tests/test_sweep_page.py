"""The Train page's Sweep and All runs tabs and its rate finder, headless with AppTest: the sweep
form's runs, estimate and refusals in words, its place in the address, a sweep that fills in its
landscape and whose best run is saved, the rate finder setting the slider, and the class's runs
anonymous with the viewer's own marked. And the charts' Vega-Lite specifications themselves."""

import json
import uuid

import numpy as np
import pytest

from headless import app, submit, texts, train_page
from nn_core.models import model_store
from nn_core.network import dense_layers
from nn_core.runner import Runner
from nn_core.runs import CLASS_SETTINGS
from nn_core.sweep import MAX_SWEEP_ENV
from nn_core.training import TrainConfig
from pages._class_runs import class_chart
from pages._rate_finder import finder_chart, nearest
from pages._sweep_charts import decades, landscape_1d, landscape_2d, picked
from pages._train_settings import ALL, FULL_BATCH, settings_near


def rows_3x2(finished=4):
    """A 3 x 2 sweep's landscape rows (rate x width), the first ``finished`` runs done."""
    accuracies = [0.91, 0.93, 0.955, 0.962, 0.94, 0.90]
    rows = []
    for i, (rate, width) in enumerate([(r, w) for r in (1e-4, 1e-3, 1e-2) for w in (64, 128)]):
        done = i < finished
        rows.append(
            {
                "rate": rate,
                "width": width,
                "index": i,
                "label": "rate %g, width %d" % (rate, width),
                "val_acc": accuracies[i] if done else None,
                "val_cost": 0.3 - 0.02 * i if done else None,
                "test_acc": accuracies[i] if done else None,
                "status": "finished" if done else ("training" if i == finished else None),
            }
        )
    return rows


def layer_values(spec, i):
    return spec["layer"][i].get("data", spec.get("data"))["values"]


# -- the charts --------------------------------------------------------------------------------
def test_the_heatmap_writes_each_finished_runs_accuracy_in_its_cell_and_marks_the_best():
    spec = json.loads(json.dumps(landscape_2d(rows_3x2(4), ["rate", "width"], best=3)))
    cells = spec["data"]["values"]
    assert len(cells) == 6
    assert [c["text"] for c in cells] == ["91.0%", "93.0%", "95.5%", "96.2% ★", "training", "waiting"]
    assert spec["encoding"]["y"]["sort"] == ["0.0001", "0.001", "0.01"]  # the first setting's values are the rows, in order
    assert spec["encoding"]["x"]["sort"] == ["64", "128"]
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["condition"]["test"] == "datum.val_acc == null"  # unfinished cells grey, not left out
    assert spec["layer"][0]["mark"]["invalid"] is None
    assert colour["scale"]["domain"] == [0.91, 0.962]  # the colours span the results, so 1% apart shows
    outline = spec["layer"][1]
    assert outline["transform"] == [{"filter": "datum.best"}] and [c["index"] for c in cells if c["best"]] == [3]
    assert spec["layer"][0]["params"][0]["select"]["fields"] == ["index"]  # a click names the run
    assert [c["dark"] for c in cells[:4]] == [True, True, False, False]  # white text on the dark cells
    clicked = json.loads(json.dumps(landscape_2d(rows_3x2(4), ["rate", "width"], best=3, shown=[1, 3])))
    under, dashed = clicked["layer"][2:4]
    assert dashed["transform"] == under["transform"] == [{"filter": "datum.shown"}] and dashed["mark"]["strokeDash"]
    assert under["mark"]["stroke"] == "white" and "strokeDash" not in under["mark"]  # dashes read on a dark cell too
    assert [c["index"] for c in clicked["data"]["values"] if c["shown"]] == [1]  # the best keeps its red
    assert not any(c["shown"] for c in cells)


def test_one_setting_draws_accuracy_and_cost_against_its_values_on_a_log_axis_for_rates():
    rows = [dict(r, width=None) for r in rows_3x2(2)[::2]]  # rate 1e-4 (done), 1e-3 (training), 1e-2 (waiting)
    rows[1].update(val_acc=0.95, val_cost=0.2, test_acc=0.95, status="finished")
    spec = json.loads(json.dumps(landscape_1d(rows, "rate", best=2, log=True, numeric=True)))
    accuracy, cost, pending = spec["layer"][0]["layer"], spec["layer"][1], spec["layer"][2]
    assert accuracy[0]["encoding"]["x"]["scale"] == {"type": "log"}
    assert accuracy[0]["encoding"]["x"]["axis"]["values"] == [1e-4, 1e-3, 1e-2]  # ticks at the values tried
    assert [r["rate"] for r in accuracy[0]["data"]["values"]] == [1e-4, 1e-3]
    assert [r["rate"] for r in accuracy[1]["data"]["values"]] == [1e-3]  # the best run's ring, on the accuracy's axis
    assert cost["encoding"]["y"]["field"] == "val_cost" and spec["resolve"] == {"scale": {"y": "independent"}}
    assert [r["rate"] for r in pending["data"]["values"]] == [1e-2]  # the run not finished: a dashed rule
    ringed = landscape_1d(rows, "rate", best=2, log=True, numeric=True, shown=[0])["layer"][0]["layer"]
    assert [r["rate"] for r in ringed[-1]["data"]["values"]] == [1e-4] and ringed[-1]["mark"]["strokeDash"]
    even = landscape_1d(rows, "rate", best=None, log=False, numeric=True)
    assert even["layer"][0]["layer"][0]["encoding"]["x"]["scale"] == {"zero": False} and len(even["layer"][0]["layer"]) == 1


def test_the_rate_finder_chart_marks_the_suggestion_on_a_log_axis():
    rates = list(np.geomspace(1e-5, 1, 60))
    costs = [2.3 - min(i, 40) * 0.04 + max(0, i - 45) ** 2 * 0.1 for i in range(60)]
    spec = finder_chart(rates, costs, costs, 3e-3, 0.05)
    x = spec["layer"][1]["encoding"]["x"]
    assert x["scale"] == {"type": "log"} and x["axis"]["values"] == decades(rates) == [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]
    labels = [layer["data"]["values"][0]["what"] for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert labels == ["suggested 0.003", "lowest 0.05"]  # (the cost is lowest there; past it, it blows up)
    top = spec["layer"][1]["encoding"]["y"]["scale"]["domain"][1]
    assert costs[0] < top < max(costs)  # where it blows up the line leaves the chart, instead of flattening the rest
    noisy = [c * (0.5 if i == 30 else 1.0) for i, c in enumerate(costs)]  # one mini-batch far below the line
    bottom = finder_chart(rates, noisy, costs, 3e-3, 0.05)["layer"][0]["encoding"]["y"]["scale"]["domain"][0]
    assert bottom <= noisy[30]  # its dot is drawn, not cut off
    assert finder_chart(rates[:5], costs[:5], costs[:5], None, None)["layer"][2:] == []  # running: no marks yet


def test_the_class_chart_marks_the_viewers_runs_and_never_says_whose_they_are():
    rows = [
        dict({k: None for k in CLASS_SETTINGS}, rate=10.0 ** -(i % 4 + 1), width=64, layers=1, test_acc=0.9, mine=i < 2, index=i)
        for i in range(10)
    ]
    spec = class_chart(rows, "rate", "width", list(CLASS_SETTINGS))
    points = spec["data"]["values"]
    assert [p["mine"] for p in points] == [True, True] + [False] * 8
    assert not {"owner", "label", "visitor"} & {k for p in points for k in p}
    assert spec["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["encoding"]["size"]["condition"] == {"test": "datum.mine", "value": 200}
    assert {t["field"] for t in spec["encoding"]["tooltip"]} >= {"rate", "width", "layers", "test_acc", "yours"}
    assert "usermeta" not in spec  # a few dots: SVG (each one an element the browser tests can find)
    many = [dict(rows[i % 10], index=i) for i in range(600)]
    assert class_chart(many, "rate", "width", ["rate"])["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    named = class_chart(rows, "activation", "rate", ["rate"])
    assert named["encoding"]["x"]["type"] == "nominal" and "xOffset" in named["encoding"]  # spread sideways
    assert named["encoding"]["color"]["scale"]["type"] == "log"


def test_a_click_names_the_run_and_a_rate_goes_to_the_sliders_nearest():
    assert picked({"selection": {"pick": [{"index": 4}]}}) == [4]
    assert picked({"selection": {"pick": {}}}) == [] and picked(None) == []
    assert nearest(0.0042) == 0.003 and nearest(0.007) == 0.01 and nearest(2.0) == 1.0
    values, notes = settings_near(
        {"rate": 0.0042, "lamda": 0.0, "layers": 2, "width": 100, "mini_batch": None, "full_batch": True, "n_train": 54000}
        | {"activation": "tanh", "optimizer": "momentum", "schedule": "constant", "dropout": 0.2, "epochs": 7}
    )
    assert values["rate"] == 0.003 and values["n_hidden"] == 2 and values["neurons_1"] == values["neurons_2"] == 128
    assert values["mini_batch"] == FULL_BATCH and values["n_train"] == ALL and values["epochs"] == 7
    assert (values["activation"], values["optimizer"], values["schedule"]) == ("tanh", "momentum", "constant")
    assert any("rate 0.0042" in n and "0.003" in n for n in notes) and not any("epochs" in n for n in notes)


# -- the Sweep tab -----------------------------------------------------------------------------
def sweep_tab(at=None):
    at = at or train_page()
    at.session_state["train_tab"] = "Sweep"
    at.run()
    assert not at.exception
    return at


def all_runs_tab(visitor):
    """The Train page's All runs tab, opened by ``visitor``."""
    at = app()
    at.session_state["visitor"] = visitor
    at.run()
    at.switch_page("pages/train_page.py").run()
    at.session_state["train_tab"] = "All runs"
    at.run()
    assert not at.exception
    return at


def rate_by_width(at, rates=(1e-3, 1e-2, 3), widths=(32, 64, 2)):
    at.number_input(key="sweep_1_rate_low").set_value(rates[0])
    at.number_input(key="sweep_1_rate_high").set_value(rates[1])
    at.slider(key="sweep_1_rate_count").set_value(rates[2])
    at.selectbox(key="sweep_2").set_value("width").run()
    at.number_input(key="sweep_2_width_low").set_value(widths[0])
    at.number_input(key="sweep_2_width_high").set_value(widths[1])
    at.slider(key="sweep_2_width_count").set_value(widths[2]).run()
    assert not at.exception
    return at


def test_the_sweep_form_counts_the_runs_and_says_how_long_they_take(weights_dir):
    at = sweep_tab()
    assert [t.label for t in at.tabs] == ["One run", "Sweep", "All runs"]
    assert "**4 runs**: 4 values of rate" in texts(at.markdown)
    assert "rate: 0.0001, 0.001, 0.01, 0.1" in texts(at.caption)
    assert "shared among this server's" in texts(at.caption)
    assert not at.button(key="start_sweep").disabled
    rate_by_width(at)
    assert "**6 runs**: 3 values of rate × 2 values of width" in texts(at.markdown)
    assert "width: 32, 64" in texts(at.caption)
    assert {k: at.query_params[k] for k in ("tab", "vary", "vary2")} == {
        "tab": "sweep",
        "vary": "rate:0.001:0.01:3:log",
        "vary2": "width:32:64:2:log",
    }


def test_a_sweeps_axes_read_back_as_the_forms_values():
    """What a reload during a sweep puts in the form (``_sweep_form.follow``): its own values."""
    from nn_core.sweep import Axis
    from pages._sweep_form import axis_text, from_texts

    rates, widths, optimizers = Axis("rate", [1e-4, 1e-3, 1e-2]), Axis("width", [32, 64, 128]), Axis("optimizer", ["gd", "adam"])
    assert [axis_text(a) for a in (rates, widths, optimizers)] == [
        "rate:0.0001:0.01:3:log",
        "width:32:128:3:log",
        "optimizer:gd,adam",
    ]
    assert axis_text(Axis("dropout", [0.0, 0.2, 0.4])) == "dropout:0:0.4:3:even"
    form = from_texts([axis_text(rates), axis_text(optimizers)])
    assert form["sweep_1"] == "rate" and form["sweep_1_rate_count"] == 3 and form["sweep_1_rate_log"] is True
    assert form["sweep_2"] == "optimizer" and form["sweep_2_optimizer_choices"] == ["gd", "adam"]


def test_values_that_make_no_sweep_grey_start_and_say_why(weights_dir):
    at = rate_by_width(sweep_tab(), widths=(64, 32, 2))  # the second setting's range backwards
    start = at.button(key="start_sweep")
    assert start.disabled and "smaller to a larger" in start.help  # not a sweep of the rate alone
    assert "smaller to a larger" in texts(at.error)
    at.number_input(key="sweep_2_width_high").set_value(128).run()
    assert not at.button(key="start_sweep").disabled and "**6 runs**" in texts(at.markdown)
    at.number_input(key="sweep_1_rate_low").set_value(0.5).run()  # the first setting's backwards: still greyed, not gone
    assert at.button(key="start_sweep").disabled and "smaller to a larger" in at.button(key="start_sweep").help


def test_a_sweep_too_large_for_the_server_is_refused_in_words_before_start(weights_dir, monkeypatch):
    monkeypatch.setenv(MAX_SWEEP_ENV, "2")
    at = sweep_tab()  # (4 values are offered at first: as many as the server allows, here)
    assert at.slider(key="sweep_1_rate_count").value == 2 and "**2 runs**" in texts(at.markdown)
    monkeypatch.setenv(MAX_SWEEP_ENV, "4")
    at = rate_by_width(sweep_tab(), rates=(1e-3, 1e-2, 3))
    assert at.button(key="start_sweep").disabled
    refusal = texts(at.error)
    assert "6 runs" in refusal and "at most 4" in refusal and MAX_SWEEP_ENV in refusal


def test_a_run_of_the_sweep_too_long_for_the_server_is_named_before_start(weights_dir, monkeypatch):
    from nn_core.runlimits import MAX_MINUTES_ENV

    monkeypatch.setenv(MAX_MINUTES_ENV, "1")
    at = sweep_tab()
    at.selectbox(key="sweep_1").set_value("mini_batch").run()
    at.number_input(key="sweep_1_mini_batch_low").set_value(1)
    at.number_input(key="sweep_1_mini_batch_high").set_value(256)
    at.slider(key="sweep_1_mini_batch_count").set_value(2).run()
    refusal = texts(at.error)
    assert "its run 1 of 2 (mini_batch 1)" in refusal and "at most 1 minute" in refusal and MAX_MINUTES_ENV in refusal
    assert at.button(key="start_sweep").disabled


def test_a_link_opens_the_sweep_tab_with_its_settings(weights_dir):
    shared = app()
    shared.query_params.update({"tab": "sweep", "vary": "activation:relu,tanh", "vary2": "dropout:0:0.4:3:even", "epochs": "3"})
    shared.run()
    shared.switch_page("pages/train_page.py").run()
    assert not shared.exception
    assert shared.session_state["train_tab"] == "Sweep"
    assert shared.multiselect(key="sweep_1_activation_choices").value == ["relu", "tanh"]
    assert "dropout: 0, 0.2, 0.4" in texts(shared.caption)
    assert "**6 runs**" in texts(shared.markdown) and shared.slider(key="epochs").value == 3


def test_an_address_with_values_no_box_takes_is_left_out_not_a_broken_page(weights_dir):
    shared = app()
    shared.query_params.update(
        {"tab": "<script>", "vary": "rate:-1:5:999:log", "vary2": "activation:relu,relu,evil"} | {"epochs": "2"}
    )
    shared.run()
    shared.switch_page("pages/train_page.py").run()
    assert not shared.exception
    sweep_tab(shared)
    assert not shared.exception
    assert shared.selectbox(key="sweep_1").value == "rate" and shared.number_input(key="sweep_1_rate_low").value == 1e-4
    assert shared.multiselect(key="sweep_2_activation_choices").value == ["relu"]
    for text in ("rate:nan:1:3:log", "width:1e400:2:2:log", "width:64", "mini_batch:16:256:2:even:x"):
        other = app()
        other.query_params.update({"tab": "sweep", "vary": text})
        other.run()
        other.switch_page("pages/train_page.py").run()
        assert not other.exception, text


@pytest.mark.slow
def test_a_sweep_fills_its_landscape_and_its_best_run_is_saved(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(1000)
    at.slider(key="epochs").set_value(1)
    at.slider(key="n_hidden").set_value(1).run()
    rate_by_width(sweep_tab(at), rates=(1e-3, 1e-2, 2), widths=(16, 32, 2))
    at.button(key="start_sweep").click().run()
    assert not at.exception, at.exception
    (sweep,) = Runner.shared().sweeps_of(at.session_state["visitor"])
    assert [r.label for r in sweep.runs] == [
        "rate 0.001, width 16",
        "rate 0.001, width 32",
        "rate 0.01, width 16",
        "rate 0.01, width 32",
    ]
    assert sweep.join(300)
    at.run()
    assert not at.exception
    assert "Finished: all 4 runs" in at.get("progress")[0].proto.text
    heat = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert heat["encoding"]["y"]["title"] == "rate" and heat["encoding"]["x"]["title"] == "width"
    best = sweep.landscape().best
    assert "The best so far, marked in red: %s." % sweep.runs[best].label in texts(at.caption)
    assert "Curves of %s" % sweep.runs[best].label in texts(at.markdown)  # the best run's curves until another is clicked
    prefix = "sweep_%s_" % sweep.runs[best].id
    assert at.selectbox(key=prefix + "save_which").value == sweep.runs[best].label
    at.text_input(key=prefix + "save_name").set_value("sweep-best").run()
    at.button(key=prefix + "save").click().run()
    assert "Saved as sweep-best" in texts(at.success)
    assert model_store().load("sweep-best").layer_data == sweep.runs[best].config.layer_data
    other = (best + 1) % len(sweep.runs)  # a click on another cell: its curves, and Save offers it
    at.session_state["sweep_picked"] = [other]
    at.run()
    assert "Curves of %s" % sweep.runs[other].label in texts(at.markdown)
    assert at.selectbox(key="sweep_%s_save_which" % sweep.runs[other].id).value == sweep.runs[other].label

    stranger = sweep_tab()  # someone else: the form, never this person's sweep
    assert not stranger.get("progress") and "Save a run of this sweep" not in texts(stranger.markdown)

    again = app()  # a reload: a new session of the same person
    again.session_state["visitor"] = at.session_state["visitor"]
    again.run()
    again.switch_page("pages/train_page.py").run()
    sweep_tab(again)
    assert "sweep 1: Finished: all 4 runs" in again.get("progress")[0].proto.text


@pytest.mark.slow
def test_stop_sweep_stops_every_run_and_keeps_what_finished(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(2000)
    at.slider(key="epochs").set_value(100)
    at.slider(key="n_hidden").set_value(1).run()
    sweep_tab(at)
    at.slider(key="sweep_1_rate_count").set_value(3).run()
    at.button(key="start_sweep").click().run()
    (sweep,) = Runner.shared().sweeps_of(at.session_state["visitor"])
    assert at.button(key="start_sweep").disabled  # one sweep at a time
    same = "The same in every run of this sweep: one hidden layer of 512 neurons (relu), 100 epochs, 2,000 training images"
    assert same in texts(at.caption) and "rate 0.001" not in texts(at.caption)  # (the rate is what it varies)
    again = app()  # a reload: the sidebar and the form show the sweep under way, greyed, as it was started
    again.session_state["visitor"] = at.session_state["visitor"]
    again.run()
    again.switch_page("pages/train_page.py").run()
    assert again.slider(key="epochs").value == 100 and again.slider(key="n_hidden").value == 1
    assert again.slider(key="epochs").disabled and again.select_slider(key="rate").disabled
    assert "Your sweep is under way: these are the settings its runs share" in texts(again.caption)
    sweep_tab(again)
    assert again.slider(key="sweep_1_rate_count").value == 3 and same in texts(again.caption)
    assert again.button(key="start_sweep").disabled
    at.button(key="stop_sweep").click().run()
    assert sweep.join(120)
    at.run()
    assert not at.exception
    assert {r.status for r in sweep.runs} <= {"stopped", "cancelled"}
    assert "Ended: 0 of 3 runs finished" in at.get("progress")[0].proto.text
    assert not at.button(key="start_sweep").disabled  # free again


@pytest.mark.slow
def test_the_rate_finder_suggests_a_rate_and_sets_the_slider(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(2000)
    at.slider(key="n_hidden").set_value(1).run()
    at.button(key="find_rate").click().run()
    assert not at.exception
    assert "The finder's chart is at the top of the page" in texts(at.sidebar.caption)  # (said where the button is)
    records = Runner.shared().store.runs_of(at.session_state["visitor"], purpose="find-rate")
    assert len(records) == 1 and not Runner.shared().runs_of(at.session_state["visitor"])  # not one of "your runs"
    finder = Runner.shared().run(records[0].id)
    assert finder.join(300)
    at.run()
    assert not at.exception
    found = finder.finder().suggestion.rate
    assert found is not None
    assert "Suggested rate: %.2g" % found in texts(at.success)
    step = "The rate slider has no %.2g: %g is its nearest step." % (found, nearest(found))
    assert (step in texts(at.caption)) == (nearest(found) != found)  # the button's rate, when not the one suggested, explained
    # The line drawn is lowest where the red line says the cost is lowest (a lagging smoothing was lowest further right).
    spec = json.loads(next(c for c in at.get("vega_lite_chart") if "smoothed" in c.proto.spec).proto.spec)
    points = next(iter(spec["datasets"].values())) if spec.get("datasets") else spec["layer"][1]["data"]["values"]
    assert len(points) == len(finder.finder().costs)
    assert min(points, key=lambda p: p["smoothed"])["rate"] == pytest.approx(finder.finder().suggestion.blowup)
    at.button(key="use_rate").click().run()
    at.run()
    assert at.select_slider(key="rate").value == nearest(found)
    assert at.query_params.get("rate", "0.001") == "%g" % nearest(found)


# -- the All runs tab --------------------------------------------------------------------------
@pytest.mark.slow
def test_the_class_runs_show_everyones_finished_runs_and_mark_only_the_viewers(weights_dir, mnist):
    x, y = mnist.x_train[:600], mnist.y_train[:600]
    config = TrainConfig(layer_data=dense_layers([16], "relu"), epochs=1, mini_batch=64, rate=0.003, val_fraction=0.2)
    me, other = uuid.uuid4().hex, uuid.uuid4().hex
    for owner in (me, other, other):
        run = submit(config, x, y, mnist.x_test[:200], mnist.y_test[:200], owner=owner, label="secret name")
        assert run.join(300) and run.status == "finished"
    at = all_runs_tab(me)
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert "secret name" not in chart.proto.spec and me not in chart.proto.spec and other not in chart.proto.spec
    assert spec["encoding"]["size"]["condition"]["test"] == "datum.mine"
    rows = at.session_state["class_rows"]
    assert sorted(r["mine"] for r in rows) == [False, False, True]
    assert "3 finished runs on this server, 1 of them yours." in texts(at.caption)
    # The three runs had the same settings and seed, so the same result: one spot, and the page says so.
    assert len({r["test_acc"] for r in rows}) == 1
    assert "Runs with the same settings and result are drawn on the same spot" in texts(at.caption)
    (alike,) = spec["transform"]
    assert alike["joinaggregate"] == [{"op": "count", "as": "alike"}] and "test_acc" in alike["groupby"]
    assert "alike" in [t["field"] for t in spec["encoding"]["tooltip"]]
    assert at.query_params["tab"] == "all"


def test_the_time_before_start_counts_each_runs_own_images(weights_dir):
    """With the training images varied, each run's time is figured on its own images, not the sidebar's."""
    from nn_core import sweeps
    from nn_core.sweep import Axis, SweepPlan

    plan = SweepPlan([Axis("n_train", [1000, 30000])], TrainConfig(epochs=2))
    own = sweeps.expected(Runner.shared(), plan, [900, 27000])
    same = sweeps.expected(Runner.shared(), plan, 900)
    assert own.seconds > 1.2 * same.seconds  # (the same if the images were the sidebar's; start and test costs are shared)
    at = sweep_tab()
    at.selectbox(key="sweep_1").set_value("n_train").run()
    at.number_input(key="sweep_1_n_train_high").set_value(30000)
    at.slider(key="sweep_1_n_train_count").set_value(2).run()
    assert not at.exception and "n_train: 1000, 30000" in texts(at.caption)


def test_the_settings_to_vary_are_named_in_plain_words(weights_dir):
    at = sweep_tab()
    options = at.selectbox(key="sweep_2").options
    assert "neurons in each hidden layer" in options
    assert not [o for o in options if "the each" in o or "widest" in o], options


def test_with_many_runs_stored_the_class_chart_draws_a_sample_and_says_so(weights_dir):
    """Beyond ``SHOWN`` runs the chart draws a sample (each dot costs the browser time), the
    viewer's own kept, and the caption names how many of how many."""
    from pages import _class_runs

    me = uuid.uuid4().hex
    stored = _class_runs.SHOWN + 50
    config = json.dumps(TrainConfig(layer_data=dense_layers([16], "relu")).to_dict())
    rows = [(uuid.uuid4().hex, me if i % 100 == 0 else "p%d" % i, "run", config, 0.5 + i / 10 / stored) for i in range(stored)]
    Runner.shared().store._run(
        "record many runs",
        lambda conn: conn.executemany(
            "INSERT INTO runs (id, owner, label, config, status, submitted, test_acc, val_acc, result) "
            "VALUES (?, ?, ?, ?, 'finished', 0, ?, 0.5, '{}')",
            rows,
        ),
    )
    at = all_runs_tab(me)
    shown = at.session_state["class_rows"]
    assert len(shown) == _class_runs.SHOWN
    assert sum(r["mine"] for r in shown) == len(range(0, stored, 100))  # all of the viewer's runs among them
    assert "Showing %s of %s runs" % (format(_class_runs.SHOWN, ","), format(stored, ",")) in texts(at.caption)


@pytest.mark.slow
def test_while_a_sweep_is_under_way_no_run_or_rate_finder_can_start_and_the_reverse(weights_dir):
    """The person's one place: a sweep under way holds back One run's Start and Find a good rate
    (not just refuses them once pressed); a run training holds back Start sweep; both come back after."""
    at = train_page()
    at.select_slider(key="n_train").set_value(2000)
    at.slider(key="epochs").set_value(100)
    at.slider(key="n_hidden").set_value(1).run()
    sweep_tab(at)
    at.button(key="start_sweep").click().run()
    (sweep,) = Runner.shared().sweeps_of(at.session_state["visitor"])
    assert at.button(key="find_rate").disabled
    at.session_state["train_tab"] = "One run"
    at.run()
    assert not at.exception
    assert at.button(key="start").disabled and at.button(key="find_rate").disabled
    assert "press Start" not in texts(at.info) and "from Start to the results" not in texts(at.caption)  # nothing says otherwise
    sweep.stop()
    assert sweep.join(120)
    at.run()
    assert not at.button(key="start").disabled and not at.button(key="find_rate").disabled

    at.button(key="start").click().run()  # a run of 100 epochs: training for a while
    assert Runner.shared().runs_of(at.session_state["visitor"])[-1].running
    sweep_tab(at)
    assert at.button(key="start_sweep").disabled
    assert "Your run is training (see the One run tab): a sweep can start once it has ended." in texts(at.info)
    Runner.shared().runs_of(at.session_state["visitor"])[-1].stop()
    assert Runner.shared().runs_of(at.session_state["visitor"])[-1].join(120)
    at.run()
    assert not at.button(key="start_sweep").disabled
