"""The Train page's sweeps, rate finder and class's runs in a real browser, as the issue asks: a
3 x 2 sweep (rate x width) on 5,000 images for 2 epochs fills in its 6 cells, survives a reload,
shows a clicked run's curves, and its best run, saved, reads digits on the Draw page; the rate
finder's chart appears and its button sets the rate slider; two people's runs both appear on the
class's chart, each seeing only their own highlighted. Screenshots: docs/screenshots/sweep.png,
rate-finder.png and class-runs.png."""

import re
import time

import pytest
from playwright.sync_api import expect

from chromium import clear, draw, idle, prediction
from conftest import SCREENSHOTS, running_app
from nn_core.runs import RunStore
from nn_core.runstate import ACTIVE
from pages._rate_finder import nearest
from strokes import DIGITS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SWEEP = "/train?n_train=5000&epochs=2&n_hidden=1&tab=sweep&vary=rate:0.0003:0.03:3:log&vary2=width:64:256:2:log"
OWN = "g.mark-symbol.role-mark path[stroke='black']"  # (the class chart draws the viewer's runs outlined in black)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    with running_app(folder) as url:
        yield url, folder


def person(browser, url, path, timeout=180_000):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout)
    page.goto(url + path)
    return context, page


def visitor(context):
    return next(c["value"] for c in context.cookies() if c["name"] == "digit_studio_visitor")


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def landscape(page):
    return page.get_by_test_id("stVegaLiteChart").first


def cell_texts(page):
    """The words written in the heatmap's cells (its marks' text, not the legend's)."""
    return [t.strip() for t in landscape(page).locator("g.mark-text.role-mark text").all_text_contents()]


def still_for_a_picture(page):
    page.mouse.move(5, 5)  # no hover toolbar or tooltip in the picture
    page.evaluate("document.activeElement && document.activeElement.blur()")
    idle(page)
    time.sleep(0.5)  # the chart's drawing after the last message


def test_a_3x2_sweep_fills_in_survives_a_reload_and_its_best_run_reads_digits(browser, app):
    url, folder = app
    context, page = person(browser, url, SWEEP)
    page.get_by_text("6 runs").wait_for()
    page.get_by_text("rate: 0.0003, 0.003, 0.03").wait_for()
    page.get_by_text("width: 64, 256").wait_for()
    page.get_by_text(re.compile(r"from Start to the last result")).wait_for()
    idle(page)
    button(page, "Start sweep").click()
    started = time.monotonic()
    page.get_by_test_id("stProgress").filter(has_text="sweep 1").wait_for()

    store = RunStore(folder / "runs.sqlite")
    (sweep,) = store.sweeps_of(visitor(context))
    going = sum(r.status in ACTIVE for r in store.runs_in(sweep["id"]))
    page.goto(url + "/train")  # a reload without the sweep in the address: the Sweep tab opens on its own while it runs
    page.get_by_test_id("stProgress").filter(has_text="sweep 1").wait_for()
    assert going > 0, "the sweep had ended before the reload: it proves nothing"
    expect(page.get_by_role("tab", name="Sweep")).to_have_attribute("aria-selected", "true")

    page.get_by_test_id("stProgress").filter(has_text="Finished: all 6 runs").wait_for(timeout=600_000)
    print("3 x 2 sweep on 5,000 images, 2 epochs: all 6 cells in %.0f s after Start" % (time.monotonic() - started))
    page.get_by_text(re.compile(r"The best so far, marked in red")).wait_for()
    cells = cell_texts(page)
    assert len(cells) == 6 and all(re.fullmatch(r"\d+\.\d%( ★)?", c) for c in cells), cells
    assert sum("★" in c for c in cells) == 1
    records = store.runs_in(sweep["id"])
    best = max(records, key=lambda r: r.val_acc)
    assert cells[records.index(best)] == "%.1f%% ★" % (100 * best.val_acc)  # the star on the best run's cell
    # A click on another cell shows that run's curves on the usual charts, and outlines it dashed.
    other = next(i for i, r in enumerate(records) if r.id != best.id)
    landscape(page).locator("g.mark-rect.role-mark path").nth(other).click(force=True)
    page.get_by_text("Curves of %s" % records[other].label, exact=True).wait_for()
    cost = page.get_by_test_id("stVegaLiteChart").nth(1)
    cost.get_by_text(records[other].label, exact=True).wait_for()  # in its legend
    expect(landscape(page).locator("g.mark-rect.role-mark path[stroke-dasharray]")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    still_for_a_picture(page)
    landscape(page).screenshot(path=str(SCREENSHOTS / "sweep.png"))

    # Save offers the run clicked; a click on the best cell offers the best, which is saved, then
    # reads digits on the Draw page.
    offered = page.get_by_role("combobox", name="Run to save")
    expect(offered).to_match_aria_snapshot(
        '- combobox "Run to save": "%s (test accuracy %.2f%%)"' % (records[other].label, 100 * records[other].result["accuracy"])
    )
    landscape(page).locator("g.mark-rect.role-mark path").nth(records.index(best)).click(force=True)
    page.get_by_text("Curves of %s" % best.label, exact=True).wait_for()
    expect(page.get_by_role("combobox", name="Run to save")).to_match_aria_snapshot(
        '- combobox "Run to save": "%s (test accuracy %.2f%%)"' % (best.label, 100 * best.result["accuracy"])
    )
    page.get_by_label("Save as").fill("sweep-best")
    page.get_by_label("Save as").press("Enter")
    idle(page)
    button(page, "Save model").click()
    page.get_by_text("Saved as sweep-best").wait_for()
    page.get_by_role("link", name="Draw", exact=True).click()
    page.locator("canvas").last.wait_for()
    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name="sweep-best").click()
    page.get_by_text(re.compile(r"784-%d-10 network" % best.config.layer_data["Dim"][1])).wait_for()
    read = {}
    idle(page)
    for digit in (1, 7, 0):
        if read:
            clear(page)
        draw(page, DIGITS[digit])
        read[digit] = prediction(page)
    assert sum(read[d] == d for d in read) >= 2, read
    context.close()


def test_the_rate_finder_shows_its_chart_and_its_button_sets_the_rate_slider(browser, app):
    url, _ = app
    context, page = person(browser, url, "/train?n_train=5000&n_hidden=1&neurons_1=128")
    idle(page)
    button(page, "Find a good rate").click()
    page.get_by_text("Finding a good rate").wait_for()
    suggestion = page.get_by_text(re.compile(r"Suggested rate: [0-9.e-]+\. Why:"))
    suggestion.wait_for(timeout=300_000)
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.get_by_text(re.compile(r"^suggested ")).wait_for()
    use = page.get_by_role("button", name=re.compile(r"^Use rate "))
    rate = use.inner_text().split("Use rate ")[1].strip()
    panel = page.locator(".st-key-finder_panel")
    still_for_a_picture(page)
    panel.screenshot(path=str(SCREENSHOTS / "rate-finder.png"))
    use.click()
    thumb = page.get_by_test_id("stSlider").filter(has_text="rate (learning rate").get_by_role("slider")
    expect(thumb).to_have_attribute("aria-valuetext", rate)
    page.get_by_text("The rate slider in the sidebar is set to %s." % rate).wait_for()
    assert "rate=%s" % rate in page.url or rate == "0.001"  # the address keeps it (0.001 is the default, left out)
    context.close()


def test_two_peoples_runs_are_on_the_class_chart_each_seeing_only_their_own_marked(browser, app):
    url, folder = app
    people = []
    for rate in ("0.01", "0.0001"):
        context, page = person(browser, url, "/train?n_train=1000&epochs=1&n_hidden=1&neurons_1=32&rate=%s" % rate)
        button(page, "Start").wait_for()
        idle(page)
        button(page, "Start").click()
        people.append((context, page))
    for _, page in people:
        page.get_by_text("Results of run 1").wait_for(timeout=300_000)
    _, total = RunStore(folder / "runs.sqlite").class_runs(None)
    assert total >= 2
    for _, page in people:
        page.get_by_role("tab", name="All runs").click()
        page.get_by_text("%d finished runs on this server, 1 of them yours." % total).wait_for()
        chart = page.get_by_test_id("stVegaLiteChart").first
        chart.locator("g.mark-symbol.role-mark path").nth(total - 1).wait_for()
        assert chart.locator("g.mark-symbol.role-mark path").count() == total
        assert chart.locator(OWN).count() == 1  # only this person's run stands out
    context, page = people[0]
    still_for_a_picture(page)
    page.get_by_role("tabpanel").filter(has_text="Every finished run").screenshot(path=str(SCREENSHOTS / "class-runs.png"))

    # A click on someone else's run loads its settings into the sidebar: the rate slider moves to its rate.
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.locator("g.mark-symbol.role-mark path:not([stroke='black'])").last.click(force=True)
    note = page.get_by_text(re.compile(r"Loaded into the sidebar: rate "))
    note.wait_for()
    loaded = float(re.search(r"Loaded into the sidebar: rate ([0-9.e-]+),", note.inner_text()).group(1))
    thumb = page.get_by_test_id("stSlider").filter(has_text="rate (learning rate").get_by_role("slider")
    expect(thumb).to_have_attribute("aria-valuetext", "%g" % nearest(loaded))
    for context, _ in people:
        context.close()
