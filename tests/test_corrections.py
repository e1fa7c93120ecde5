"""Correcting the network from the Draw page, the My drawings page, and fine-tuning on the kept
drawings from the Train page, headless with AppTest (the canvas itself: test_browser.py)."""

import io

import numpy as np
import pytest
from PIL import Image

from headless import app, draw_page_with_an_upload, latest_run, texts, wait_until
from nn_core import drawings
from nn_core.drawings import DrawingStore
from nn_core.runner import Runner
from nn_core.storage import load_model


def page(path, visitor="visitor-a"):
    at = app()
    at.session_state["visitor"] = visitor
    at.run()
    at.switch_page(path).run()
    assert not at.exception
    return at


def test_one_click_corrects_the_answer_and_keeps_the_drawing_and_undo_forgets_it(shipped_weights):
    at = draw_page_with_an_upload()
    answer = next(m for m in at.metric if m.label == "Prediction").value
    fix = at.get("button_group")[0]
    assert fix.label == "No, it is a"
    assert int(answer) not in [int(o) for o in fix.options] and len(fix.options) == 9  # the answer is not a correction of itself
    right = 7 if int(answer) != 7 else 1
    fix.set_value(right).run()
    assert not at.exception
    assert "Kept as a %d" % right in texts(at.success)
    (kept,) = DrawingStore().drawings(with_pictures=True)
    assert (kept.label, kept.answer, kept.owner, kept.model, kept.source) == (
        right,
        int(answer),
        "visitor-a",
        "default",
        "uploaded",
    )
    assert kept.probabilities.shape == (10,) and abs(kept.probabilities.sum() - 1) < 1e-3
    assert max(Image.open(io.BytesIO(kept.picture)).size) == 200  # the upload, as it was (it fits the canvas's size)
    assert kept.image.max() == 255  # the 28x28 input
    next(b for b in at.button if b.label == "Undo").click().run()
    assert DrawingStore().drawings() == []
    assert "Is it right?" in texts(at.markdown)


def test_yes_keeps_the_drawing_with_the_networks_answer(shipped_weights):
    at = draw_page_with_an_upload()
    answer = int(next(m for m in at.metric if m.label == "Prediction").value)
    next(b for b in at.button if b.label.startswith("Yes, it is ")).click().run()
    assert [d.label for d in DrawingStore().drawings()] == [answer]


def test_a_database_that_cannot_be_written_loses_nothing_and_says_so(shipped_weights, drawings_db):
    drawings_db.write_bytes(b"this is not a database" * 100)
    at = draw_page_with_an_upload()
    at.get("button_group")[0].set_value(7).run()
    assert not at.exception
    assert "Not kept" in texts(at.error) and "not a drawings database" in texts(at.error)
    assert at.get("button_group")[0].value is None  # a click on 7 tries again
    assert drawings_db.read_bytes() == b"this is not a database" * 100
    drawings_db.unlink()
    at.get("button_group")[0].set_value(7).run()
    assert "Kept as a 7" in texts(at.success) and len(DrawingStore().drawings()) == 1


def keep_some(visitor, labels, answers=None):
    store = DrawingStore()
    rng = np.random.default_rng(len(labels))
    return [
        store.add(visitor, label, rng.random((28, 28)), answer=None if answers is None else answers[i])
        for i, label in enumerate(labels)
    ]


def test_my_drawings_shows_this_sessions_drawings_and_deletes_one(weights_dir):
    keep_some("visitor-a", [1, 1, 7], answers=[1, 7, 7])
    keep_some("visitor-b", [3, 3])
    at = page("pages/drawings_page.py")
    assert {m.label: m.value for m in at.metric} == {"Drawings": "3", "Read wrong by the network": "1"}
    captions = sorted(c for image in at.get("image") for c in image.captions)
    assert captions == ["1, read as 7", "1, read right", "7, read right"]
    assert not at.get("button_group")  # no "whose drawings" choice unless the server shares them
    deletes = [b for b in at.button if b.label == "Delete"]
    assert len(deletes) == 3
    deletes[0].click().run()
    assert not at.exception
    assert len(DrawingStore().drawings(owner="visitor-a")) == 2 and len(DrawingStore().drawings()) == 4
    assert {b.label for b in at.get("download_button")} == {
        "Download as CSV (Kaggle format)",
        "Download the pictures (.zip of PNGs)",
    }


def test_a_teacher_can_let_everyone_see_everyones_drawings(weights_dir, monkeypatch):
    keep_some("visitor-a", [1, 2])
    keep_some("visitor-b", [3, 4, 5])
    monkeypatch.setenv(drawings.SHARE_ENV_VAR, "1")
    at = page("pages/drawings_page.py")
    whose = at.get("button_group")[0]
    whose.set_value("everyone's on this server").run()
    assert next(m for m in at.metric if m.label == "Drawings").value == "5"
    assert len([b for b in at.button if b.label == "Delete"]) == 2  # only one's own can be deleted


def test_importing_a_csv_adds_all_its_rows_or_none(weights_dir):
    at = page("pages/drawings_page.py")
    assert "No drawings yet" in texts(at.info)
    header = "label," + ",".join("pixel%d" % i for i in range(784))
    good = "\n".join([header] + ["%d," % (i % 10) + ",".join(["128"] * 784) for i in range(12)]).encode()
    bad = good + b"\n11," + b",".join([b"0"] * 784)
    uploader = next(u for u in at.get("file_uploader") if u.label == "CSV file")
    uploader.upload("bad.csv", bad, "text/csv").run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert "bad.csv was not imported" in texts(at.error) and "row 14" in texts(at.error)
    assert DrawingStore().drawings() == []
    uploader = next(u for u in at.get("file_uploader") if u.label == "CSV file")
    uploader.clear().upload("good.csv", good, "text/csv").run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert "Imported 12 drawings" in texts(at.success)
    assert next(m for m in at.metric if m.label == "Drawings").value == "12"
    uploader = next(u for u in at.get("file_uploader") if u.label == "CSV file")
    assert uploader.value is None  # the file is cleared: a second click cannot import it again
    uploader.upload("good.csv", good, "text/csv").run()  # on purpose, the same file
    next(b for b in at.button if b.label == "Import").click().run()
    assert "Imported 0 drawings. 12 were kept already and were skipped." in texts(at.success)
    assert next(m for m in at.metric if m.label == "Drawings").value == "12"


def test_a_deleted_drawing_can_be_brought_back(weights_dir):
    keep_some("visitor-a", [3, 8])
    at = page("pages/drawings_page.py")
    next(b for b in at.button if b.label == "Delete").click().run()
    assert next(m for m in at.metric if m.label == "Drawings").value == "1"
    assert "Deleted a drawing of an 8." in texts(at.info)  # (not "a 8")
    at.button(key="undo_delete_drawing").click().run()
    assert next(m for m in at.metric if m.label == "Drawings").value == "2"
    assert sorted(d.label for d in DrawingStore().drawings(owner="visitor-a")) == [3, 8]


@pytest.mark.slow
def test_the_train_page_fine_tunes_a_saved_model_on_my_drawings(shipped_weights):
    keep_some("visitor-a", [9] * 4)
    keep_some("visitor-b", [4] * 3)
    at = page("pages/train_page.py")
    at.selectbox(key="start_from").set_value("default").run()
    assert at.slider(key="epochs").value == 3 and at.select_slider(key="rate").value == 1e-4
    assert at.select_slider(key="n_train").value == 10000
    # the model's own layers are shown, not sliders that cannot say 800
    assert not [w for w in at.slider if w.key == "n_hidden"] and not [w for w in at.selectbox if w.key == "activation"]
    assert "**Layers of default**: 784-800-800-10, ReLU" in texts(at.markdown)
    assert "two hidden layers of 800 neurons" in texts(at.caption)
    picker = at.selectbox(key="drawings_of")
    assert picker.options == ["none", "mine (4)"]
    assert picker.value == "mine" and "and your 4 kept drawings (under Data)" in texts(at.info)  # what fine-tuning is for
    at.slider(key="epochs").set_value(1).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    job = latest_run(at)
    assert job.started_from == "default" and job.config.layer_data["Dim"] == [784, 800, 800, 10]
    wait_until(lambda: not job.running, timeout=120)
    assert job.status == "finished", job.message
    assert "4 kept drawings (each 20 times)" in job.source
    at.run()
    at.text_input(key="save_name").set_value("tuned").run()
    next(b for b in at.button if b.label == "Save model").click().run()
    assert load_model("tuned").meta["started_from"] == "default"


def test_fine_tuning_adds_no_drawings_when_there_are_none_and_back_to_random_weights_leaves_them_out(shipped_weights):
    at = page("pages/train_page.py")
    at.selectbox(key="start_from").set_value("default").run()
    assert at.selectbox(key="drawings_of").value == "none" and "kept drawing" not in texts(at.info)
    keep_some(at.session_state["visitor"], [9, 4])
    at.selectbox(key="start_from").set_value("new random weights").run()
    at.selectbox(key="start_from").set_value("default").run()
    assert at.selectbox(key="drawings_of").value == "mine" and "your 2 kept drawings" in texts(at.info)
    at.selectbox(key="start_from").set_value("new random weights").run()
    assert at.selectbox(key="drawings_of").value == "none"  # as it was before fine-tuning


def test_training_on_drawings_when_there_are_none_says_so(weights_dir):
    at = page("pages/train_page.py")
    at.select_slider(key="n_train").set_value(1000)
    at.selectbox(key="drawings_of").set_value("mine").run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    assert "no kept drawings to train on yet" in texts(at.error)  # (a refusal, in words)
    assert Runner.shared().runs_of(at.session_state["visitor"]) == []


def test_a_database_server_that_stops_for_a_while_loses_nothing_and_needs_no_restart(shipped_weights, own_postgres, monkeypatch):
    """A class's PostgreSQL stops for a few seconds: the correction says so and can be clicked
    again, the Model list falls back to this server's folder with a warning, and once the server
    is back the same page keeps the drawing."""
    from nn_core import database
    from nn_core.models import model_store
    from nn_core.network import dense_layers, init_params

    monkeypatch.setenv(database.ENV_VAR, own_postgres.url)
    monkeypatch.setattr(database, "CONNECT_SECONDS", 2.0)
    ld = dense_layers([8])
    model_store().save("class-model", init_params(ld, seed=0), ld, {"owner": "someone"})
    at = draw_page_with_an_upload()
    assert "class-model" in at.selectbox[0].options
    own_postgres.stop()
    at.get("button_group")[0].set_value(7).run()
    assert not at.exception
    assert "Not kept" in texts(at.error) and "database server cannot be reached" in texts(at.error)
    assert at.get("button_group")[0].value is None  # a click on 7 tries again
    assert "Only the models of this server's weights folder are offered" in texts(at.warning)
    assert at.selectbox[0].options == ["default"]
    own_postgres.start()
    at.get("button_group")[0].set_value(7).run()
    assert "Kept as a 7" in texts(at.success)
    assert [d.label for d in DrawingStore().drawings()] == [7]
    assert "class-model" in at.selectbox[0].options
