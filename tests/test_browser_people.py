"""Two people in two browsers on one server (real Chromium): each is known by an id their
browser keeps, so a reload or a new tab is the same person; neither sees, trains on or deletes
what is the other's, and what one names is shown to them as typed."""

import re
import time

import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError

from chromium import epoch_shown, idle, person, run_on_the_charts, start_a_long_run, trains_on_and_stops
from conftest import running_app
from nn_core.drawings import DrawingStore
from nn_core.network import dense_layers, init_params
from nn_core.storage import save_model

pytestmark = pytest.mark.browser  # drives a real Chromium: left out of the quick check


def test_a_persons_work_follows_their_browser_and_no_one_elses(browser, tmp_path, monkeypatch):
    with running_app(tmp_path) as url:
        monkeypatch.setenv("NN_CORE_WEIGHTS_DIR", str(tmp_path / "weights"))  # the server's folders
        alice, alice_page, alice_id = person(browser, url)
        bob, bob_page, bob_id = person(browser, url)
        assert alice_id != bob_id
        assert alice_id not in alice_page.url  # never in the address

        # Alice's work: a kept drawing and a saved model (as the pages keep them)
        DrawingStore(str(tmp_path / "drawings.sqlite")).add(alice_id, 7, np.zeros((28, 28), np.uint8))
        ld = dense_layers([8])
        save_model("alice-model", init_params(ld, seed=0), ld, {"owner": alice_id})

        # A reload, and a new tab, are still Alice: her drawing is there
        for page in (alice_page, alice.new_page()):
            page.goto(url + "/drawings")
            page.get_by_text("My drawings").first.wait_for()
            idle(page)
            page.get_by_test_id("stMetric").filter(has_text="Drawings").get_by_text("1", exact=True).wait_for()
        # Bob sees none of it
        bob_page.goto(url + "/drawings")
        bob_page.get_by_text("No drawings yet").wait_for()

        # Only Alice is offered her model to delete; Bob is not, though he sees it side by side
        for page, offered in ((bob_page, False), (alice_page, True)):
            page.goto(url + "/inside")
            page.get_by_text("Models side by side", exact=True).click()
            idle(page)
            page.get_by_test_id("stDataFrame").first.wait_for()
            page.get_by_text("Delete a model you saved").click()
            if offered:
                page.get_by_text("Yes, delete alice-model").wait_for()
            else:
                page.get_by_text("You have saved no model here").wait_for()
                assert page.get_by_text("Yes, delete alice-model").count() == 0
        alice_page.get_by_text("Yes, delete alice-model").click()
        idle(alice_page)
        alice_page.get_by_role("button", name="Delete", exact=True).click()
        alice_page.get_by_text("Deleted alice-model").wait_for()
        assert not (tmp_path / "weights" / "alice-model.npz").exists()
        alice_page.get_by_role("button", name="Undo").click()
        alice_page.get_by_text("alice-model is back").wait_for()
        assert (tmp_path / "weights" / "alice-model.npz").exists()
        alice.close()
        bob.close()


def test_a_run_named_in_markdown_reads_as_typed_and_fetches_nothing(browser, tmp_path):
    with running_app(tmp_path) as url:
        context, page, _ = person(browser, url)
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(url + "/train?epochs=1&n_train=1000")
        start = page.get_by_role("button", name="Start", exact=True)
        for run in (1, 2):
            start.wait_for()
            idle(page)
            start.click()
            page.get_by_text("Results of run %d" % run).wait_for()
            idle(page)
        page.get_by_text("Rename a run").click()
        box = page.get_by_test_id("stExpander").filter(has_text="Rename a run").get_by_test_id("stSelectbox")
        for attempt in range(3):  # (again if the page redrew the box before its list opened)
            idle(page)
            box.click()
            try:
                page.get_by_role("option", name="run 2", exact=True).click(timeout=5000)  # the run whose results are shown
                break
            except PlaywrightError:
                if attempt == 2:
                    raise
        idle(page)
        name = "![x](http://127.0.0.1:1/x.png) **b** $x$"
        field = page.get_by_label("New name", exact=True).and_(page.get_by_role("textbox"))
        field.fill(name)
        field.press("Enter")
        idle(page)
        page.get_by_role("button", name="Rename", exact=True).click()
        idle(page)
        # As typed: no picture, no bold, no formula (read as a person sees it: the invisible word
        # joiners that keep Streamlit's directives apart left out), in the heading and the progress line.
        shown = "([t, exact]) => [...document.querySelectorAll('h1, h2, h3, p, div')].some(e => {"
        shown += " const s = (e.innerText || '').replace(/\\u2060/g, '').trim(); return exact ? s === t : s.startsWith(t); })"
        page.wait_for_function(shown, arg=["Results of " + name, True])
        page.wait_for_function(shown, arg=[name + ": finished", False])
        assert page.locator("img[src*='127.0.0.1:1']").count() == 0
        assert not [u for u in asked if "127.0.0.1:1/" in u]
        context.close()


def test_a_run_goes_on_when_its_tab_closes_and_a_restart_keeps_its_curves(browser, tmp_path):
    """A run belongs to its person: closing the tab does not stop it, a new tab shows it
    training with its curves; the app server restarting (on a laptop, runs train beside it)
    stops it, and the page then says so and keeps its curves."""
    with running_app(tmp_path, NN_CORE_RUN_LOST_SECONDS="10") as url:
        context, page, _ = person(browser, url)
        start_a_long_run(page, url)
        before = epoch_shown(page, 100)
        page.close()
        time.sleep(5)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url + "/train")
        assert epoch_shown(page, 100) > before  # it trained on with no tab open
        run_on_the_charts(page)
        page.close()
    with running_app(tmp_path, NN_CORE_RUN_LOST_SECONDS="10") as url:  # the same server, started again
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url + "/train")
        page.get_by_text("the app server restarted while it trained").wait_for()
        page.get_by_text(re.compile(r"run 1: stopped, \d+ epoch")).wait_for()
        run_on_the_charts(page)
        context.close()


def test_with_a_separate_scheduler_a_run_outlives_the_app_server(browser, tmp_path, scheduler):
    """For a class: runs train on a ``dask scheduler``'s workers, so restarting the app server
    does not touch them; the page shows the run training on, and its Stop still works."""
    with running_app(tmp_path, NN_CORE_DASK_ADDRESS=scheduler) as url:
        context, page, _ = person(browser, url)
        before = start_a_long_run(page, url)
    with running_app(tmp_path, NN_CORE_DASK_ADDRESS=scheduler) as url:
        page = context.new_page()
        page.set_default_timeout(60_000)
        trains_on_and_stops(page, url, before)
        context.close()
