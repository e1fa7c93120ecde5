"""The Inside page's views and the Draw page's "Why this answer?", headless with AppTest, for the
shipped model and for a small network trained in the session."""

import pytest

from headless import app, as_owner, inside, submit, texts, upload_picture, wait_until
from nn_core import runs
from nn_core.models import FolderModels
from nn_core.network import init_params
from nn_core.storage import load_model, save_model
from nn_core.training import TrainConfig
from pages._models import own_run_option
from strokes import one_png

VIEWS = ["What the neurons look for", "Where it fails", "How far to trust it", "How robust it is", "Models side by side"]


def captions(at):
    return [c for image in at.get("image") for c in image.captions]


@pytest.fixture(scope="module")
def small_job(mnist, tmp_path_factory):
    """A small network trained for two epochs on 2,000 MNIST digits (its record in a runs
    database of the module's, which every test of the module reads)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(runs.ENV_VAR, str(tmp_path_factory.mktemp("runs") / "runs.sqlite"))
        config = TrainConfig(
            layer_data={"Dim": [784, 32, 10], "Activs": ["relu", "softmax"]}, epochs=2, n_train=2000, val_fraction=0.1
        )
        job = submit(config, mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
        job.join(120)
        assert job.status == "finished"
        yield job


@pytest.mark.parametrize(
    "trained", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["shipped model", "a small network trained now"]
)
def test_every_view_renders(shipped_weights, trained, request):
    job = request.getfixturevalue("small_job") if trained else None
    at = inside(job)
    if trained:  # (it has finished: offered under its own name)
        at.selectbox(key="inside_model").set_value(own_run_option(job)).run()
    for view in VIEWS:
        at.radio(key="inside_view").set_value(view).run()
        assert not at.exception, view
        assert not at.error, (view, texts(at.error))
    at.radio(key="inside_view").set_value("What the neurons look for").run()
    assert "of the %d neurons fire most for" % (32 if trained else 800) in texts(at.caption)


def test_choosing_a_neuron_shows_the_digits_that_make_it_fire(shipped_weights):
    at = inside()
    before = captions(at)
    at.number_input(key="neuron").set_value(17).run()
    after = captions(at)
    assert "neuron 17's weights" in after and after != before


def test_where_it_fails_shows_the_biggest_confusion_and_the_surest_mistakes(shipped_weights):
    at = inside()
    at.radio(key="inside_view").set_value("Where it fails").run()
    heading = texts(at.markdown)
    assert "read as" in heading and "most confident mistakes" in heading
    mistakes = [c for c in captions(at) if "→" in c]
    assert len(mistakes) == 24
    confidences = [int(c.split()[-1].rstrip("%")) for c in mistakes]
    assert confidences == sorted(confidences, reverse=True)


def test_trust_and_robustness(shipped_weights):
    at = inside()
    at.radio(key="inside_view").set_value("How far to trust it").run()
    assert "Calibration error" in [m.label for m in at.metric]
    sure = next(m for m in at.metric if m.label == "Answers it was over 99% sure of")
    assert 90 < float(sure.value.split("%")[0]) < 100 and sure.value.endswith("of all")
    at.radio(key="inside_view").set_value("How robust it is").run()
    assert len(at.get("vega_lite_chart")) == 5


@pytest.mark.slow
def test_models_side_by_side_and_only_your_own_can_be_deleted_and_brought_back(weights_dir, shipped_weights):
    ld = {"Dim": [784, 8, 10], "Activs": ["tanh", "softmax"]}
    at = inside()
    at.session_state["visitor"] = "a" * 32
    save_model("small", init_params(ld, seed=0), ld, {"test_accuracy": 0.5, "owner": "a" * 32})
    save_model("theirs", init_params(ld, seed=1), ld, {"test_accuracy": 0.5, "owner": "b" * 32})
    at.radio(key="inside_view").set_value("Models side by side").run()
    table = at.dataframe[0].value
    assert list(table.index) == ["default", "small", "theirs"] and table.loc["default", "test accuracy (%)"] > 99
    # The shipped model kept no validation set: its curve is training accuracy, said in its name and why it is lower.
    assert "can end below the test accuracy" in texts(at.caption)
    at.toggle(key="measure_pen").set_value(True).run()
    table = at.dataframe[0].value
    assert 97 < table.loc["default", "pen-drawn, writers 27-30 (%)"] < 100 and not table.loc["default", "saw writers 27-30"]
    assert at.selectbox(key="delete_which").options == ["small"]  # not theirs, not the shipped one
    assert at.button(key="delete_model").disabled
    at.checkbox(key="delete_sure").check().run()
    at.button(key="delete_model").click().run()
    assert "Deleted small" in texts(at.success)
    assert not (weights_dir / "small.npz").exists() and not (weights_dir / "small.json").exists()
    assert (weights_dir / "default.npz").exists() and (weights_dir / "theirs.npz").exists()
    at.button(key="undo_delete").click().run()
    assert "small is back." in texts(at.success)
    assert load_model("small").meta["owner"] == "a" * 32
    with pytest.raises(PermissionError, match="not yours"):
        FolderModels().delete("theirs", "a" * 32)
    with pytest.raises(PermissionError, match="cannot be deleted"):
        FolderModels().delete("default", "a" * 32)


def test_why_this_answer_explains_the_drawing(shipped_weights):
    at = app()
    at.run()
    upload_picture(at, "one.png", one_png())
    assert "pushed most towards" not in texts(at.markdown)  # nothing computed until asked for
    answer = int(next(m for m in at.metric if m.label == "Prediction").value)
    at.toggle(key="why").set_value(True).run()
    assert "pushed most towards %d." % answer in texts(at.markdown)
    assert any("raises (red) or lowers (blue) %d" % answer in c for c in captions(at))
    at.selectbox(key="why_digit").set_value(7).run()
    assert not at.exception
    assert any("lowers (blue) 7" in c for c in captions(at)) and "towards 7." in texts(at.markdown)


def test_the_network_view_follows_each_drawing_for_any_model(shipped_weights):
    """Under the answer: the layers named with their sizes, for the shipped model and for a
    network of other layers; turned off, nothing of it is computed."""
    ld = {"Dim": [784, 30, 20, 10], "Activs": ["tanh", "relu", "softmax"]}
    save_model("deep", init_params(ld, seed=0), ld, {})
    at = app()
    at.run()
    upload_picture(at, "one.png", one_png())
    assert "hidden layer 1 (800 neurons), then hidden layer 2 (800 neurons)" in texts(at.markdown)
    # the probabilities, the most active neurons (twice: under the canvas for wide screens, under
    # the answer for phones; the page's CSS shows one) and every neuron
    assert len(at.get("vega_lite_chart")) == 4
    at.selectbox(key="model_name").set_value("deep").run()
    assert not at.exception
    assert "hidden layer 1 (30 neurons), then hidden layer 2 (20 neurons)" in texts(at.markdown)
    at.toggle(key="network").set_value(False).run()
    assert "Your digit through the network" not in texts(at.markdown) and len(at.get("vega_lite_chart")) == 1


@pytest.mark.slow
def test_the_network_view_shows_the_network_of_ones_run(shipped_weights, small_job):
    at = as_owner(app(), small_job)
    at.run()
    upload_picture(at, "one.png", one_png())
    at.selectbox(key="model_name").set_value(own_run_option(small_job)).run()
    assert not at.exception
    assert "then hidden layer 1 (32 neurons), then the answers" in texts(at.markdown)


@pytest.mark.slow
def test_the_neurons_of_the_network_training_now(shipped_weights, mnist):
    config = TrainConfig(layer_data={"Dim": [784, 16, 10], "Activs": ["relu", "softmax"]}, epochs=500, n_train=2000)
    job = submit(config, mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
    try:
        wait_until(lambda: len(job.history) >= 1)
        at = inside(job)
        at.selectbox(key="inside_model").set_value("The network training now").run()
        assert not at.exception
        assert "(still training)" in texts(at.caption) and "of the 16 neurons" in texts(at.caption)
    finally:
        job.stop()
        job.join(30)


def test_the_neurons_digit_survives_a_trip_to_another_page(shipped_weights):
    at = inside()
    at.radio(key="inside_view").set_value("What the neurons look for").run()
    at.button_group(key="neuron_digit").set_value(7).run()
    assert "fire most for 7" in texts(at.caption)
    at.switch_page("pages/draw_page.py").run()
    at.switch_page("pages/inside_page.py").run()
    assert not at.exception and at.button_group(key="neuron_digit").value == 7 and "fire most for 7" in texts(at.caption)
