"""What careless or hostile visitors send the pages gets a message, never a traceback, and what
they type is shown as plain text (headless, with AppTest)."""

import io

import numpy as np
import pytest
from PIL import Image

from headless import app, inside, latest_run, texts, train_page, upload_picture, wait_until
from nn_core.network import dense_layers, init_params
from nn_core.storage import save_model


def png(width, height):
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_picture_one_pixel_high_is_shown_not_a_traceback(shipped_weights):
    at = app()
    at.run()
    for width, height in ((281, 1), (1, 281), (5000, 3)):
        upload_picture(at, "line-%dx%d.png" % (width, height), png(width, height))
        assert not at.exception, (width, height)


def test_seeds_in_the_address_that_are_not_plain_numbers_are_refused_not_a_traceback(weights_dir):
    for seed in ("²", "1" * 5000, "-3", "12a", ""):
        at = app()
        at.query_params["seed"] = seed
        at.query_params["epochs"] = "7"
        at.run()
        at.switch_page("pages/train_page.py").run()
        assert not at.exception, seed[:10]
        assert at.slider(key="epochs").value == 7 and at.number_input(key="seed").value == 0
        if seed:
            assert "seed" in texts(at.warning)


def test_a_model_whose_arithmetic_overflows_gets_a_message_on_every_inside_view(shipped_weights):
    ld = dense_layers([16])
    params = init_params(ld, seed=0)
    params["W1"] = np.full_like(params["W1"], 3e38)  # finite, but every forward pass overflows
    at = inside()
    save_model("overflowing", params, ld, {})
    at.run()
    at.selectbox(key="inside_model").set_value("overflowing").run()
    for view in ("What the neurons look for", "Where it fails", "How far to trust it", "How robust it is"):
        at.radio(key="inside_view").set_value(view).run()
        assert not at.exception, view
        if view in ("Where it fails", "How far to trust it"):
            assert "overflows" in texts(at.error), view


@pytest.mark.slow
def test_a_run_named_in_markdown_is_shown_as_its_plain_text(weights_dir):
    at = train_page()
    at.select_slider(key="n_train").set_value(1000)
    at.slider(key="epochs").set_value(1).run()
    at.button(key="start").click().run()
    first = latest_run(at)
    wait_until(lambda: not first.running, timeout=120)
    at.run()  # (the page as it is now that the run has ended: Start usable again)
    at.button(key="start").click().run()
    latest = latest_run(at)
    wait_until(lambda: not latest.running, timeout=120)
    at.run()
    name = "![x](http://127.0.0.1:1/x.png) **b** $x$"  # 40 characters, the most a name takes
    at.selectbox(key="rename_which").set_value(latest.label)  # the latest: its results are on the page
    at.text_input(key="rename_to").set_value(name)
    at.button(key="rename").click().run()
    assert not at.exception and latest_run(at).label == name  # (read afresh)
    at.run()
    shown = [e.value for e in list(at.subheader) + list(at.caption) + list(at.markdown) if "x.png" in texts([e])]
    assert shown, "the name is shown"
    for value in shown:
        # every character Markdown would act on is escaped: displayed, it reads exactly as typed
        assert "\\!" in value or "\\[x\\]" in value, value
        assert "\\*\\*b\\*\\*" in value and "\\$x\\$" in value, value


def test_kept_drawings_times_their_weight_above_the_ceiling_are_refused_before_anything_is_built(weights_dir):
    from nn_core.drawings import DrawingStore

    at = train_page()
    DrawingStore().add_many(at.session_state["visitor"], np.zeros((2000, 28, 28), np.uint8), [3] * 2000)
    at.run()
    at.selectbox(key="drawings_of").set_value("mine").run()
    at.slider(key="drawings_weight").set_value(100).run()
    at.button(key="start").click().run()
    assert not at.exception
    assert "200,000 from 2000 kept drawings" in texts(at.error) and "more than the 150,000" in texts(at.error)
    assert "job" not in at.session_state
