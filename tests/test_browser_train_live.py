"""The Train page stays live in a real browser: without a reload or a click, Pause becomes usable
as soon as the run trains, Start comes back when it ends; a new tab shows the running run's
settings, greyed; the Draw page stops offering "the network training now" once it has ended. And
screenshots of the curves with two changes close together, and of a 4-hidden-layer health chart."""

import re
import time

import pytest
from playwright.sync_api import expect

from conftest import SCREENSHOTS, running_app
from nn_core.runs import RunStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = "/train?n_train=10000&epochs=5&n_hidden=2&neurons_1=1024&neurons_2=1024"  # not the defaults (512, 256)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    with running_app(folder) as url:
        yield url, folder


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def progress(page):
    return page.get_by_test_id("stProgress").inner_text()


def person(context):
    """The id the app gave this browser (its cookie)."""
    return next(c["value"] for c in context.cookies() if c["name"] == "digit_studio_visitor")


def slider_thumb(page, label):
    return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")


def test_pause_resume_and_stop_are_live_and_a_new_tab_shows_the_running_settings(browser, app):
    url, folder = app
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url + LIVE)
    page.get_by_text(re.compile(r"from Start to the results")).wait_for()
    button(page, "Start").click()
    page.get_by_test_id("stProgress").filter(has_text=re.compile(r"run 1: epoch \d of 5")).wait_for()
    first_line = time.monotonic()
    expect(button(page, "Pause")).to_be_enabled(timeout=10_000)
    pause_after = time.monotonic() - first_line
    assert pause_after < 3.0, "Pause usable %.1f s after the first progress line" % pause_after
    assert button(page, "Start").is_disabled()
    assert slider_thumb(page, "epochs").is_disabled()  # the sidebar's lock, without a reload

    button(page, "Pause").click()
    page.get_by_test_id("stProgress").filter(has_text="paused at epoch").wait_for()
    expect(button(page, "Resume")).to_be_enabled()

    tab = context.new_page()  # the same person, a new tab, while the run is paused
    tab.set_default_timeout(60_000)
    tab.goto(url + "/train")
    tab.get_by_test_id("stProgress").wait_for()
    for layer in (1, 2):
        thumb = slider_thumb(tab, "Neurons in layer %d" % layer)
        assert thumb.get_attribute("aria-valuetext") == "1024" and thumb.is_disabled()
    assert slider_thumb(tab, "epochs").get_attribute("aria-valuetext") == "5"
    tab.close()
    page.reload()  # a reload mid-run: the same run, paused, its settings greyed, Resume offered
    page.get_by_test_id("stProgress").filter(has_text="paused at epoch").wait_for()
    assert slider_thumb(page, "Neurons in layer 1").get_attribute("aria-valuetext") == "1024"
    assert slider_thumb(page, "Neurons in layer 1").is_disabled()
    expect(button(page, "Resume")).to_be_enabled()
    print("Pause usable %.1f s after the first progress line" % pause_after)

    button(page, "Resume").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=stProgress]').innerText.includes('paus')")
    button(page, "Stop").click()
    expect(button(page, "Start")).to_be_enabled(timeout=60_000)  # usable again once it has ended, without a click
    assert "stopped" in progress(page)
    (record,) = RunStore(folder / "runs.sqlite").runs_of(person(context))
    assert record.status == "stopped" and record.paused_seconds > 0

    page.goto(url)  # the Draw page
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Model")
    picker.wait_for()
    picker.click()
    options = page.get_by_role("option").all_inner_texts()
    assert "The network training now" not in options
    context.close()


def test_screenshots_of_close_changes_and_of_a_deep_health_chart(browser, app):
    url, folder = app
    context = browser.new_context(viewport={"width": 1300, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(
        url + "/train?n_train=10000&epochs=8&n_hidden=4&neurons_1=256&neurons_2=256&neurons_3=256&neurons_4=256"
        "&mini_batch=32&rate=0.001"
    )
    page.get_by_text(re.compile(r"from Start to the results")).wait_for()
    button(page, "Start").click()
    # Any epoch from the second to the sixth: on a quick machine an epoch is shorter than the page's
    # poll, and the progress line can go from one epoch to the one after next.
    page.get_by_test_id("stProgress").filter(has_text=re.compile(r"epoch [2-6] of 8")).wait_for()
    store = RunStore(folder / "runs.sqlite")
    run = store.runs_of(person(context))[-1]
    store.command(run.id, "change", {"rate": 0.003})
    deadline = time.time() + 30
    while not [kind for _, kind, _ in store.events(run.id) if kind == "change"]:  # taken: the next lands a few mini-batches later
        assert time.time() < deadline
        time.sleep(0.02)
    store.command(run.id, "change", {"lamda": 1.0})
    page.get_by_text(re.compile(r"Changes: 1: rate .* 2: lamda")).wait_for()
    expect(button(page, "Start")).to_be_enabled(timeout=180_000)
    page.get_by_text("Network health: is every layer learning?").click()
    page.get_by_text("layer 5 (output)").first.wait_for()
    time.sleep(1.0)  # the charts' drawing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    charts = page.get_by_test_id("stVegaLiteChart")
    charts.first.screenshot(path=str(SCREENSHOTS / "train-changes.png"))
    health = page.get_by_test_id("stExpander").filter(has_text="Network health")
    health.screenshot(path=str(SCREENSHOTS / "train-health.png"))
    changes = [c for _, kind, c in store.events(run.id) if kind == "change"]
    assert [c["setting"] for c in changes] == ["rate", "lamda"] and changes[0]["epoch"] < changes[1]["epoch"]
    context.close()
