"""Helpers for tests that run the pages headless with Streamlit's AppTest: open the app or a page,
read what a page says, send a run as the app does, and wait for it. Shared by every page test
(they import from here rather than from one another)."""

import re
import time
import uuid

from streamlit.testing.v1 import AppTest

from conftest import ROOT
from nn_core.runner import Runner
from nn_core.runspec import DataRecipe, RunSpec
from strokes import one_png


def app():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def train_page():
    at = app()
    at.run()
    at.switch_page("pages/train_page.py").run()
    assert not at.exception
    return at


def inside(job=None):
    """The Inside page, opened as the person who started ``job`` if one is given (the models it
    shows are those of the weights folder: see the ``shipped_weights`` fixture)."""
    at = app() if job is None else as_owner(app(), job)
    at.run()
    at.switch_page("pages/inside_page.py").run()
    assert not at.exception
    return at


def texts(elements):
    """The text of every element of one kind (``at.error``, ``at.caption``, ...), in one string,
    so that a test asks what the page says, not where (Markdown escapes and the invisible joiners
    of ``plain`` removed, as displayed)."""
    return "\n".join(re.sub(r"\\(.)", r"\1", str(e.value)).replace("\u2060", "") for e in elements)


def submit(config, images, labels, test_images=None, test_labels=None, owner=None, label="run 1", source="test"):
    """A run on arrays, sent as the app sends its runs; ``owner`` is a person's id (a new one if None)."""
    spec = RunSpec(
        config,
        DataRecipe(arrays=(images, labels, None, test_images, test_labels, source)),
        owner=owner or uuid.uuid4().hex,
        label=label,
    )
    return Runner.shared().submit(spec)


def as_owner(at, run):
    """Open ``at`` as the person who started ``run``."""
    at.session_state["visitor"] = run.owner
    return at


def latest_run(at):
    """The latest run of the person using ``at``."""
    return Runner.shared().runs_of(at.session_state["visitor"])[-1]


def wait_until(condition, timeout=60):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


def upload_picture(at, name, content):
    """On the Draw page: choose to upload a picture, and upload ``content``."""
    at.radio(key="input_mode").set_value("Upload a picture").run()
    next(u for u in at.get("file_uploader") if u.key == "upload").upload(name, content, "image/png").run()


def draw_page_with_an_upload(visitor="visitor-a"):
    """The Draw page of ``visitor`` with a picture of a one uploaded and answered."""
    at = app()
    at.session_state["visitor"] = visitor
    at.run()
    upload_picture(at, "one.png", one_png())
    assert not at.exception
    return at
