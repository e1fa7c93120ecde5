"""Both pages run headless with Streamlit's AppTest: they render, their widgets drive the
settings, and a tiny training run produces curves and a saved model that the Draw page offers."""

import re
import uuid

import pytest

from conftest import blobs, closed_port_url
from headless import app, as_owner, latest_run, submit, texts, train_page, upload_picture, wait_until
from nn_core.data import MNIST_FILES
from nn_core.network import init_params
from nn_core.runner import Runner
from nn_core.runspec import DataRecipe, RunSpec
from nn_core.storage import save_model
from nn_core.training import TrainConfig
from strokes import one_png


def test_draw_page_shows_a_prompt_and_the_shipped_model(shipped_weights):
    at = app()
    at.run()
    assert not at.exception
    assert "Draw a digit in the box" in texts(at.info)
    picker = at.selectbox(key="model_name")
    assert picker.options[0] == "default"
    assert "two hidden layers of 800 neurons" in texts(at.caption)
    assert "on the MNIST test set" in texts(at.caption)
    assert len(at.metric) == 0  # a blank canvas gets no guess


def test_draw_page_offers_saved_models_and_reports_a_broken_one(weights_dir):
    ld = {"Dim": [784, 8, 10], "Activs": ["tanh", "softmax"]}
    save_model("mine", init_params(ld, seed=0), ld, {})
    (weights_dir / "broken.npz").write_bytes(b"garbage")
    at = app()
    at.run()
    picker = at.selectbox(key="model_name")
    assert set(picker.options) == {"mine", "broken"}
    picker.set_value("mine").run()
    assert "784-8-10 network: one hidden layer of 8 neurons (tanh)" in texts(at.caption)
    at.selectbox(key="model_name").set_value("broken").run()
    assert "not a readable .npz" in texts(at.error)


@pytest.mark.slow
def test_train_page_widgets_drive_the_settings_and_a_tiny_run_is_saved(weights_dir):
    at = train_page()
    at.slider(key="n_hidden").set_value(1).run()
    at.select_slider(key="neurons_1").set_value(64)
    at.selectbox(key="activation").set_value("tanh")
    at.slider(key="epochs").set_value(2)
    at.select_slider(key="n_train").set_value(1000)
    at.select_slider(key="rate").set_value(0.1)
    at.selectbox(key="optimizer").set_value("momentum")
    at.slider(key="val_fraction").set_value(0.2)
    at.selectbox(key="init").set_value("standard_normal")
    at.run()
    at.button(key="start").click().run()
    job = latest_run(at)
    c = job.config
    assert c.layer_data == {"Dim": [784, 64, 10], "Activs": ["tanh", "softmax"]}
    assert (c.epochs, c.n_train, c.rate, c.optimizer, c.val_fraction, c.init) == (
        2,
        1000,
        0.1,
        "momentum",
        0.2,
        "standard_normal",
    )
    job.join(60)
    at.run()
    assert not at.exception
    assert len(job.history) == 2 and job.status == "finished"
    assert any("Results of run 1" in s.value for s in at.subheader)
    assert len(at.get("vega_lite_chart")) >= 3  # two curve charts and the confusion matrix
    accuracy = next(m for m in at.metric if m.label == "Test accuracy")
    assert float(accuracy.value.rstrip("%")) > 15  # above chance, even with the original initialisation
    at.text_input(key="save_name").set_value("tiny-run").run()
    at.button(key="save").click().run()
    assert "Saved as tiny-run. Pick it" in texts(at.success)
    saved = load_model_meta(weights_dir / "tiny-run.json")
    assert (
        saved["name"] == "tiny-run"
        and saved["command"] == "the app"
        and saved["owner"] == at.session_state["visitor"]
        and saved["data"] == "MNIST"
    )
    assert {"numpy", "python", "date", "test_accuracy", "history"} <= set(saved)  # as the command line records
    at.button(key="save").click().run()  # the same name again is refused, nothing overwritten
    assert "exists already" in texts(at.error)


@pytest.mark.slow
def test_start_is_disabled_while_a_run_goes_and_stop_ends_it(weights_dir):
    at = train_page()
    at.slider(key="epochs").set_value(50).run()
    at.button(key="start").click().run()
    job = latest_run(at)
    assert job.running
    wait_until(lambda: job.status == "running")
    at.run()
    assert at.button(key="start").disabled and not at.button(key="stop").disabled
    at.button(key="stop").click().run()
    job.join(30)
    assert not job.running and job.status == "stopped"
    assert len(job.history) < 50


def load_model_meta(path):
    import json

    return json.loads(path.read_text())


@pytest.mark.slow
def test_a_diverged_run_is_reported_with_advice(weights_dir):
    X, y = blobs()
    config = TrainConfig(
        layer_data={"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}, epochs=50, rate=10.0, optimizer="gd", mini_batch=16
    )
    job = submit(config, X * 1e3, y, X, y)
    job.join(30)
    at = as_owner(app(), job)
    at.run()
    at.switch_page("pages/train_page.py").run()
    assert not at.exception
    assert job.status == "diverged"
    assert "diverged" in texts(at.error) and "smaller rate" in texts(at.error)


def test_without_mnist_the_train_page_downloads_it(weights_dir, tmp_path, monkeypatch, mnist_mirror):
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path / "mnist"))
    monkeypatch.setenv("NN_CORE_MNIST_MIRRORS", mnist_mirror + "good/")
    at = train_page()
    assert "MNIST is not on this machine yet" in texts(at.warning)
    assert at.button(key="start").disabled
    at.button(key="download").click().run()
    assert not at.exception and not at.error
    assert not at.button(key="start").disabled
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(n + ".gz" for n in MNIST_FILES)


def test_offline_without_mnist_says_what_to_do(weights_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path / "mnist"))
    monkeypatch.setenv("NN_CORE_MNIST_MIRRORS", closed_port_url())
    monkeypatch.setenv("PATH", str(tmp_path))  # and no npm
    at = train_page()
    at.button(key="download").click().run()
    text = texts(at.error)
    assert "Could not download" in text and "Offline?" in text and "train.csv" in text
    everything = texts(at.error) + texts(at.warning) + texts(at.caption)
    assert str(tmp_path) not in everything and "0x" not in everything  # no server paths, no internals
    assert at.button(key="start").disabled


def chart_runs(at):
    """For each chart on the page: the runs its colour legend names, and their colours."""
    import json

    found = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        scales = [
            layer["encoding"]["color"]["scale"]
            for layer in spec.get("layer", [])
            if "domain" in layer.get("encoding", {}).get("color", {}).get("scale", {})
        ]
        if scales:
            found.append((scales[0]["domain"], scales[0]["range"]))
    return found


@pytest.mark.slow
def test_runs_are_overlaid_and_tabled_with_the_batch_size_used(weights_dir):
    """Every run on both charts, each in its own colour, named in the legend; the table puts
    status, test accuracy and time first, and shows the mini-batch each run really used: 4096
    on 5,000 images of which 30% are held out for validation is the whole training set."""
    at = train_page()
    at.select_slider(key="n_train").set_value(5000)
    at.slider(key="epochs").set_value(2)
    for mini_batch, val in ((32, 0.1), ("full batch", 0.1), (4096, 0.3)):
        at.select_slider(key="mini_batch").set_value(mini_batch)
        at.slider(key="val_fraction").set_value(val).run()
        at.button(key="start").click().run()
        latest_run(at).join(60)
        at.run()
    assert "Your runs" in texts(at.subheader)
    charts = chart_runs(at)
    assert len(charts) == 2
    for domain, colours in charts:
        assert domain == ["run 1", "run 2", "run 3"] and len(set(colours)) == 3
    table = at.dataframe[0].value
    assert list(table.index) == ["run 1", "run 2", "run 3"]
    assert list(table.columns[:3]) == ["status", "test accuracy (%)", "time (s)"]
    assert list(table["mini_batch"]) == ["32", "full batch", "full batch"]
    assert list(table["training images"]) == [4500, 4500, 3500]
    assert table["test accuracy (%)"].notna().all()
    assert Runner.shared().runs_of(at.session_state["visitor"])[1].config.mini_batch is None

    at.multiselect(key="hidden_runs").select("run 2").run()  # hidden ...
    assert [d for d, _ in chart_runs(at)] == [["run 1", "run 3"]] * 2
    first_colour = chart_runs(at)[0][1][0]
    at.selectbox(key="rename_which").set_value("run 1")
    at.text_input(key="rename_to").input("baseline")
    at.button(key="rename").click().run()  # ... and renamed
    assert not at.exception
    assert chart_runs(at)[0] == (["baseline", "run 3"], [first_colour, chart_runs(at)[0][1][1]])
    assert list(at.dataframe[0].value.index) == ["baseline", "run 2", "run 3"]
    at.multiselect(key="hidden_runs").unselect("run 2").run()  # ... and shown again
    assert chart_runs(at)[0][0] == ["baseline", "run 2", "run 3"]


@pytest.mark.slow
def test_draw_page_offers_the_network_training_now(weights_dir):
    at = train_page()
    at.slider(key="epochs").set_value(50).run()
    at.button(key="start").click().run()
    job = latest_run(at)
    try:
        wait_until(lambda: job.history)
        at.switch_page("pages/draw_page.py").run()
        picker = at.selectbox(key="model_name")
        assert "The network training now" in picker.options
        picker.set_value("The network training now").run()
        assert not at.exception
        assert "run 1, as it was after epoch" in texts(at.caption) and "(still training)" in texts(at.caption)
        assert job.running  # leaving the Train page did not stop it
    finally:
        job.stop()
        job.join(30)


@pytest.mark.slow
def test_pen_digits_checkbox_mixes_them_in_and_validates_by_writer(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(5000)
    at.slider(key="epochs").set_value(1)
    at.slider(key="val_fraction").set_value(0.2)
    at.checkbox(key="pen_digits").check().run()
    at.button(key="start").click().run()
    assert not at.exception and not at.error
    job = latest_run(at)
    assert job.config.pen_digits > 0
    job.join(120)
    assert job.status == "finished" and "pen-drawn digits" in job.source
    at.run()
    assert "pen-drawn digits" in texts(at.caption) or job.model().meta["data"].startswith("MNIST and")


def test_pen_digits_checkbox_only_where_the_data_is(weights_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path))
    at = train_page()
    assert not [c for c in at.checkbox if c.key == "pen_digits"]


def test_a_model_file_without_metadata_is_named_as_it_is(weights_dir):
    """Markdown would show __meta__ as a bold "meta": the message escapes it."""
    import numpy as np

    np.savez(weights_dir / "nometa.npz", W1=np.zeros((10, 784), np.float32), b1=np.zeros((10, 1), np.float32))
    at = app()
    at.run()
    at.selectbox(key="model_name").set_value("nometa").run()
    assert "no metadata (__meta__)" in texts(at.error)
    assert r"\_\_meta\_\_" in "".join(e.value for e in at.error)


def test_an_upload_is_decoded_once_not_on_every_rerun(shipped_weights, monkeypatch):
    import nn_core.preprocess as preprocess

    calls = []
    original = preprocess.open_image
    monkeypatch.setattr(preprocess, "open_image", lambda raw: calls.append(1) or original(raw))
    at = app()
    at.run()
    upload_picture(at, "one.png", one_png())
    for _ in range(3):  # every widget moved reruns the page
        at.run()
    assert not at.exception and len(calls) == 1
    assert any(m.label == "Prediction" for m in at.metric)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"label,pixel0\n", "pixel1 .. missing|are missing"),
        (b"\x00\x01garbage", "could not read|are missing"),
    ],
)
def test_a_bad_kaggle_csv_gets_a_message_not_a_traceback(weights_dir, tmp_path, monkeypatch, content, message):
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path))  # no MNIST: the upload is offered
    at = train_page()
    at.get("file_uploader")[0].upload("train.csv", content, "text/csv").run()
    assert not at.exception
    assert re.search(message, texts(at.error)), texts(at.error)
    assert "0x" not in texts(at.error) and str(tmp_path) not in texts(at.error)


@pytest.mark.slow
def test_kaggle_csv_with_a_word_for_a_label_and_too_few_rows(weights_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path))
    header = "label," + ",".join("pixel%d" % i for i in range(784))
    rows = ["seven," + ",".join(["0"] * 784)]
    at = train_page()
    at.get("file_uploader")[0].upload("train.csv", (header + "\n" + "\n".join(rows) + "\n").encode(), "text/csv").run()
    assert not at.exception and "row 2, column label has 'seven'" in texts(at.error)
    rows = ["3," + ",".join(["0"] * 784)] * 2
    at.get("file_uploader")[0].clear().upload("train.csv", (header + "\n" + "\n".join(rows) + "\n").encode(), "text/csv").run()
    assert not at.exception and "at least 20" in texts(at.error)
    assert at.button(key="start").disabled


@pytest.mark.slow
def test_a_training_csv_is_checked_once_per_upload_outside_the_server(weights_dir, tmp_path, monkeypatch):
    import os

    from nn_core import runspec

    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NN_CORE_UPLOADS_DIR", str(tmp_path / "uploads"))
    checked = []
    take = runspec.take_upload
    monkeypatch.setattr(runspec, "take_upload", lambda raw: checked.append(len(raw)) or take(raw))
    header = "label," + ",".join("pixel%d" % i for i in range(784))
    rows = ["%d," % (i % 10) + ",".join(["0"] * 784) for i in range(50)]
    at = train_page()
    at.get("file_uploader")[0].upload("train.csv", (header + "\n" + "\n".join(rows) + "\n").encode(), "text/csv").run()
    assert not at.exception and "50 labelled images" in texts(at.caption)
    for value in (True, False, True):  # reruns: a checkbox clicked three times
        at.checkbox(key="augment").set_value(value).run()
    assert len(checked) == 1
    assert not at.button(key="start").disabled
    [kept] = os.listdir(tmp_path / "uploads")  # where the run reads it
    at.slider(key="epochs").set_value(1).run()
    at.button(key="start").click().run()
    job = latest_run(at)
    job.join(120)
    assert job.status == "finished", job.message
    assert job.source == "train.csv" and job.result["n"] == 5


def test_the_original_designs_weights_are_imported_from_the_draw_page_and_exploits_refused(shipped_weights, tmp_path):
    import os
    import pickle

    from nn_core.network import dense_layers

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch %s" % (tmp_path / "pwned"),))

    at = app()
    at.run()
    uploader = next(u for u in at.get("file_uploader") if u.label == "Pickled weights")
    uploader.upload("evil.json", pickle.dumps({"W1": Exploit()})).run()
    at.button(key="seed_import").click().run()
    assert "refused" in texts(at.error) and not (tmp_path / "pwned").exists()
    params = {k: v.astype("float64") for k, v in init_params(dense_layers([8]), seed=0).items()}
    uploader = next(u for u in at.get("file_uploader") if u.label == "Pickled weights")
    uploader.clear().upload("weights.json", pickle.dumps(params)).run()
    at.text_input(key="seed_name").set_value("seed-weights").run()
    at.button(key="seed_import").click().run()
    assert "Imported as seed-weights" in texts(at.success)
    assert "seed-weights" in at.selectbox(key="model_name").options


def test_every_train_page_control_says_what_it_does(weights_dir):
    at = train_page()
    controls = [*at.slider, *at.select_slider, *at.selectbox, *at.checkbox, *at.number_input, *at.button]
    assert len(controls) >= 17
    assert all(c.help for c in controls), [c.label for c in controls if not c.help]


def test_the_first_page_says_in_two_sentences_what_the_app_is_and_points_to_the_others(shipped_weights):
    at = app()
    at.run()
    intro = at.caption[0].value  # a caption: on a phone the canvas starts on the first screen
    assert "neural network" in intro and "**Train**" in intro and "**My drawings**" in intro
    assert len([s for s in intro.split(". ") if s.strip()]) == 2


def test_the_draw_pages_choices_survive_a_trip_to_another_page(shipped_weights):
    save_model(
        "other",
        init_params({"Dim": [784, 8, 10], "Activs": ["relu", "softmax"]}, seed=0),
        {"Dim": [784, 8, 10], "Activs": ["relu", "softmax"]},
    )
    at = app()
    at.run()
    at.selectbox(key="model_name").set_value("other")
    at.slider(key="stroke_width").set_value(32).run()
    at.switch_page("pages/train_page.py").run()
    at.switch_page("pages/draw_page.py").run()
    assert not at.exception
    assert at.selectbox(key="model_name").value == "other" and at.slider(key="stroke_width").value == 32


def test_an_uploads_answer_is_the_one_answer_on_the_page(shipped_weights):
    at = app()
    at.run()
    assert "Draw a digit in the box" in texts(at.info)
    upload_picture(at, "one.png", one_png())
    assert [m.label for m in at.metric].count("Prediction") == 1
    assert not [c for c in at.get("subheader") if "upload" in str(c.value).lower()]  # no second block below


def seven_png(width):
    """A 7 drawn with lines ``width`` pixels wide on a white 280x280 picture, as PNG bytes."""
    import io

    from PIL import Image, ImageDraw

    picture = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(picture).line([(60, 60), (200, 60), (110, 220)], fill=0, width=width, joint="curve")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_digit_drawn_with_thick_lines_gets_a_hint_and_a_thin_one_none(shipped_weights):
    hint = "lines are thick for the size of this digit"  # (pages/draw_page.py's THICK_HINT)
    at = app()
    at.run()
    upload_picture(at, "thin.png", seven_png(14))
    assert [m.value for m in at.metric if m.label == "Prediction"] == ["7"]
    assert hint not in texts(at.caption)
    upload_picture(at, "thick.png", seven_png(60))
    assert not at.exception
    assert hint in texts(at.caption)
    assert [m.value for m in at.metric if m.label == "Prediction"] == ["7"]


def test_the_servers_numpy_runs_single_threaded():
    # Every visitor's page script shares the server's process: with OpenBLAS's threads, Draw pages
    # answering strokes at once wait for each other's threads, spinning (bench/load.py).
    from threadpoolctl import threadpool_info

    at = app()
    at.run()  # the server's first page run starts it (pages/_server.py)
    assert not at.exception

    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert pools and all(pool["num_threads"] == 1 for pool in pools)


def test_a_signed_in_person_is_one_id_on_every_server_and_no_one_else(weights_dir):
    """With sign-in configured (st.login), the id is the sign-in's: the same provider and subject
    give the same id (on any server, in any browser), anyone else another; signed out, none."""
    from pages._people import VISITOR_PATTERN, signed_in_id

    ann = {"is_logged_in": True, "iss": "https://accounts.example.org", "sub": "1234", "email": "ann@example.org", "name": "Ann"}
    assert VISITOR_PATTERN.fullmatch(signed_in_id(ann))
    assert signed_in_id(dict(ann, name="Ann B.")) == signed_in_id(ann)  # a new display name: still Ann
    assert signed_in_id(dict(ann, sub="5678")) != signed_in_id(ann)
    assert signed_in_id(dict(ann, iss="https://login.example.com")) != signed_in_id(ann)  # another provider's 1234
    assert "1234" not in signed_in_id(ann) and "ann" not in signed_in_id(ann)
    assert signed_in_id(dict(ann, is_logged_in=False)) is None and signed_in_id({}) is None
    at = app()
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.label in ("Sign in", "Sign out")]  # not configured: not offered


@pytest.mark.slow
def test_the_draw_page_offers_the_network_training_now_a_few_mini_batches_in(shipped_weights):
    """Long before its first epoch ends (tens of seconds here), a run's network can be drawn on."""
    from nn_core.data import data_dir
    from nn_core.network import dense_layers
    from pages._models import TRAINING_NOW

    config = TrainConfig(layer_data=dense_layers([1024, 1024]), epochs=1, mini_batch=8, n_train=20_000)
    run = Runner.shared().submit(RunSpec(config, DataRecipe(data_dir=str(data_dir())), owner=uuid.uuid4().hex))
    try:
        at = as_owner(app(), run)
        wait_until(lambda: run.status == "running")
        at.run()
        assert TRAINING_NOW not in at.selectbox(key="model_name").options
        assert "after its first mini-batches" in texts(at.caption)
        wait_until(lambda: run.has_network, timeout=90)
        assert not run.history  # no epoch has ended
        at.run()
        at.selectbox(key="model_name").set_value(TRAINING_NOW).run()
        assert not at.exception
        assert "a few mini-batches in (still training)" in texts(at.caption)
    finally:
        run.stop()
        run.join(60)
