"""Values no browser sends, sent by a script that speaks the app's websocket: a file of another kind
to an upload box, NaN or infinity for a number, text for a slider. Streamlit refuses such a value
before a page runs; the browser then gets the app's own general message, never the error's text,
type or stack (``client.showErrorDetails = "none"``, ``pages._server.FAILED``); where the value
reaches a page (an upload box drawn anew), the page says which files it takes."""

import pytest

from headless import app, inside, train_page, upload_picture
from pages._server import FAILED


def no_insides(at):
    """Nothing of a failure's insides reaches the browser: the app's message, no stack, no type."""
    for shown in at.exception:
        assert shown.message == FAILED and not shown.stack_trace, (shown.message, shown.stack_trace)


def test_a_file_of_another_kind_in_the_picture_box_shows_no_insides():
    at = app()
    at.run()
    upload_picture(at, "x.gif", b"GIF89a" + bytes(100))
    assert at.exception, "Streamlit refuses the file"  # (if a later Streamlit lets it through, the page must answer)
    no_insides(at)


def test_a_file_of_another_kind_reaching_an_upload_box_gets_the_pages_message(monkeypatch):
    """A box drawn anew with the file already in it (Streamlit checks it while drawing the box)."""
    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    from pages import _widgets

    def refuse(*args, **kwargs):
        raise StreamlitAPIException("Invalid file extension: `.gif`.", error_id="file-uploader-invalid-extension")

    monkeypatch.setattr(st, "file_uploader", refuse)
    shown = []
    monkeypatch.setattr(st, "error", lambda text, **kw: shown.append(text))
    assert _widgets.upload_box("A picture", ["png", "jpg", "jpeg"], key="x") is None
    assert shown == ["That file was not read: only PNG, JPG or JPEG files are taken here."]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10**12])
def test_an_absurd_neuron_number_shows_no_insides(shipped_weights, value):
    at = inside()
    at.number_input(key="neuron").set_value(value).run()
    no_insides(at)


@pytest.mark.parametrize(
    "key, value", [("seed", float("nan")), ("seed", float("inf")), ("epochs", "abc"), ("dropout", "x"), ("n_hidden", 99)]
)
def test_absurd_training_settings_show_no_insides(weights_dir, key, value):
    at = train_page()
    widget = next(w for w in list(at.number_input) + list(at.slider) if w.key == key)
    try:
        widget.set_value(value).run()
    except (ValueError, TypeError):  # AppTest itself cannot encode it: such a message cannot be sent
        return
    no_insides(at)
