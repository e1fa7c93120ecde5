"""A class's setup in real Chromium: two app servers on one PostgreSQL database and one Dask
scheduler are one app. A person's run, drawings and models show on whichever server they reach;
an app server killed mid-run loses nothing: the run trains on, and the other server shows it with
its curves, stops it and saves it."""

import numpy as np
import pytest

from chromium import idle, person, start_a_long_run, trains_on_and_stops
from conftest import SERVERS, running_app
from nn_core.drawings import DrawingStore
from nn_core.models import model_store
from nn_core.runs import RunStore

pytestmark = pytest.mark.browser  # drives a real Chromium: left out of the quick check


def test_two_app_servers_are_one_app_and_one_of_them_dying_loses_no_run(browser, tmp_path, scheduler, pg_url):
    class_env = {"NN_CORE_DATABASE_URL": pg_url, "NN_CORE_DASK_ADDRESS": scheduler}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_app(tmp_path / "a", **class_env) as first, running_app(tmp_path / "b", **class_env) as second:
        context, page, me = person(browser, first)
        before = start_a_long_run(page, first)  # started on the first server, through its page

        # The first server dies (no goodbye: what a crash or a pulled cable does).
        SERVERS[first].kill()
        SERVERS[first].wait(10)

        # The same person reaches the second server (the cookie is the same: same host).
        page = context.new_page()
        page.set_default_timeout(60_000)
        trains_on_and_stops(page, second, before)
        idle(page)

        # Saved on the second server, the model is the class's: in the database, not a folder.
        page.get_by_text("Results of run 1").wait_for()
        page.get_by_label("Save as").fill("made-in-class")
        page.get_by_label("Save as").press("Enter")
        idle(page)
        page.get_by_role("button", name="Save model").click()
        page.get_by_text("Saved as made-in-class").wait_for()
        assert "made-in-class" in model_store(pg_url).names()
        assert not (tmp_path / "b" / "weights" / "made-in-class.npz").exists()
        [record] = RunStore(pg_url).runs_of(me)
        assert record.status == "stopped"  # one record, trained once

        # A drawing kept through one server is on the other's My drawings.
        DrawingStore(pg_url).add(me, 7, np.zeros((28, 28), np.uint8))
        page.goto(second + "/drawings")
        idle(page)
        page.get_by_test_id("stMetric").filter(has_text="Drawings").get_by_text("1", exact=True).wait_for()
        context.close()

    # A server started afresh (as a replacement for the one that died) offers the class's model.
    (tmp_path / "c").mkdir()
    with running_app(tmp_path / "c", **class_env) as third:
        context, page, _ = person(browser, third)  # a new visitor: a saved model is offered to everyone
        page.locator("[data-testid=stSelectbox]").filter(has_text="Model").first.click()
        page.get_by_role("option", name="made-in-class", exact=True).wait_for()
        context.close()
