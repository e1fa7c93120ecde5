"""The app in a real browser: drawing digits with the mouse, clearing, and a training run whose
model is saved, picked on the Draw page and used."""

import re
import time

import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError

from chromium import clear, draw, idle, prediction
from conftest import SCREENSHOTS, running_app
from strokes import DIGITS, curly_nine

pytestmark = pytest.mark.browser  # drives a real Chromium: left out of the quick check


def test_a_page_opened_by_its_address_on_a_fresh_server(browser, tmp_path):
    """A freshly started server whose first visitor opens /train: the Train page, inside the
    app's navigation (not Streamlit's listing of the pages/ folder), with no notice."""
    with running_app(tmp_path) as url:
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.goto(url + "/train")
        page.get_by_text("Train a network").first.wait_for(timeout=30_000)
        nav = page.get_by_test_id("stSidebarNav")
        assert "Draw" in nav.inner_text() and "Train" in nav.inner_text()
        assert "shared" not in nav.inner_text() and "page" not in nav.inner_text().lower()
        assert "does not seem to exist" not in page.content()
        context.close()


THICK = "lines are thick for the size of this digit"  # (the Draw page's THICK_HINT)


def test_drawn_digits_are_recognised(page):
    answers, hints = {}, 0
    for digit, strokes in DIGITS.items():
        clear(page)
        draw(page, strokes)
        answers[digit] = prediction(page)
        hints += page.get_by_text(THICK).count() > 0
        if digit == 3:
            page.get_by_test_id("stImage").locator("img").first.wait_for()
            page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "draw.png"))
    right = sum(answers[d] == d for d in answers)
    assert right >= 9, answers
    assert hints <= 1  # a 20 px brush on a digit most of the canvas tall: no hint about thick lines


def test_small_digits_in_a_corner_with_a_thick_brush(page):
    """Drawings are not MNIST: half-size digits in the bottom-right corner, brush 32 px wide."""
    page.get_by_role("button", name="Brush").click()  # its width is in a popover beside Clear
    set_slider(page, "Brush width", 24)  # 8 + 24 = 32
    page.get_by_test_id("stSlider").filter(has_text="Brush width").filter(has_text="32").wait_for()
    idle(page)
    assert "32" in page.get_by_test_id("stSlider").filter(has_text="Brush width").inner_text()
    page.keyboard.press("Escape")
    page.get_by_test_id("stSlider").filter(has_text="Brush width").wait_for(state="hidden")
    answers, hints = {}, 0
    for digit, strokes in DIGITS.items():
        clear(page)
        draw(page, [[(140 + x / 2, 140 + y / 2) for x, y in stroke] for stroke in strokes])
        answers[digit] = prediction(page)
        hints += page.get_by_text(THICK).count() > 0
        if digit == 8:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "draw-thick.png"))
    assert sum(answers[d] == d for d in answers) >= 9, answers
    assert hints >= 7  # lines a third of the digit's height: the page says so, and how to draw instead


def scroll_position(page):
    """How far the app's main area is scrolled."""
    return page.get_by_test_id("stMain").evaluate(
        "e => { for (let n = e; n; n = n.parentElement) if (n.scrollTop) return n.scrollTop; return document.scrollingElement.scrollTop; }"
    )


def test_scrolling_over_the_probability_chart_scrolls_the_page(page):
    draw(page, DIGITS[2])
    page.set_viewport_size({"width": 1300, "height": 600})  # now the page is taller than the window
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.scroll_into_view_if_needed()
    chart.locator("canvas, svg").first.wait_for()
    before = scroll_position(page)
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 200)
    page.wait_for_function(
        "([el, before]) => { for (let n = el; n; n = n.parentElement) if (n.scrollTop > before) return true; return false; }",
        arg=[page.get_by_test_id("stMain").element_handle(), before],
        timeout=5000,
    )
    assert scroll_position(page) > before  # the page moved; the chart did not swallow the wheel to zoom


def test_the_canvas_toolbar_has_undo_and_redo_but_no_send_or_second_clear(page):
    canvas = page.locator("canvas").last
    canvas.hover()
    undo = page.get_by_role("button", name="Undo", exact=True)
    undo.wait_for()
    # The page's script hides them as soon as the canvas is on the page (it watches for it).
    page.get_by_role("button", name="Update the app with this drawing").wait_for(state="hidden", timeout=5000)
    page.get_by_role("button", name="Reset canvas & history").wait_for(state="hidden", timeout=5000)
    assert page.get_by_role("button", name="Redo", exact=True).is_visible()


def test_on_a_phone_the_answer_is_right_under_the_canvas(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(30_000)
    phone.goto(app_url)
    phone.locator("canvas").last.wait_for()
    draw(phone, [[(x * 0.9, y * 0.9) for x, y in stroke] for stroke in DIGITS[1]])
    canvas = phone.locator("canvas").last.bounding_box()
    answer = phone.get_by_test_id("stMetric").filter(has_text="Prediction").bounding_box()
    assert canvas["y"] + canvas["height"] <= answer["y"] < canvas["y"] + canvas["height"] + 160  # only the Clear button between
    context.close()


def test_clearing_the_canvas_shows_the_prompt(page):
    draw(page, DIGITS[7])
    assert prediction(page) == 7
    clear(page)
    assert page.get_by_test_id("stMetric").count() == 0
    assert page.get_by_text("Draw a digit in the box").is_visible()


def set_slider(page, label, presses):
    """Move a slider with the keyboard: Home, then ArrowRight ``presses`` times."""
    thumb = page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")
    thumb.focus()
    thumb.press("Home")
    for _ in range(presses):
        thumb.press("ArrowRight")


def test_train_watch_save_and_draw_with_the_new_model(page):
    page.get_by_role("link", name="Train", exact=True).click()
    page.get_by_role("button", name="Start", exact=True).wait_for()
    set_slider(page, "epochs", 7)  # 8 epochs
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    page.get_by_role("button", name="Start", exact=True).click()

    progress = page.get_by_test_id("stProgress")
    progress.wait_for()
    chart = page.get_by_test_id("stVegaLiteChart").first
    page.get_by_text(re.compile(r"epoch [2-4] of 8")).wait_for(timeout=60_000)
    chart.wait_for()
    handle = chart.element_handle()
    first = chart.screenshot()
    page.get_by_text(re.compile(r"epoch [6-8] of 8")).wait_for(timeout=60_000)
    assert handle.evaluate("e => e.isConnected"), "the chart was replaced instead of updated in place"
    deadline = time.time() + 30  # the chart draws its new points a moment after the text changes
    while chart.screenshot() == first:
        assert time.time() < deadline, "the chart did not gain points"
        page.wait_for_timeout(200)

    page.get_by_text("Results of run 1").wait_for(timeout=120_000)
    accuracy = page.get_by_test_id("stMetric").filter(has_text="Test accuracy").get_by_test_id("stMetricValue").inner_text()
    assert float(accuracy.rstrip("%")) > 90
    page.get_by_label("Save as").fill("browser-model")
    page.get_by_label("Save as").press("Enter")
    page.get_by_role("button", name="Save model").click()
    page.get_by_text("Saved as browser-model. Pick it").wait_for()

    # The network's health, layer by layer: three charts, each with a plot that has a height.
    page.get_by_text("Network health: is every layer learning?").click()
    health = page.get_by_test_id("stExpander").filter(has_text="Network health").get_by_test_id("stVegaLiteChart")
    health.nth(2).locator("canvas, svg").first.wait_for()
    page.wait_for_timeout(500)
    assert health.count() == 3
    for i in range(3):
        assert plot_span(health.nth(i).screenshot()) >= 40, "health chart %d draws nothing visible" % i

    # A second run, with sigmoid neurons, on the same charts in another colour.
    choose(page, "Activation of the hidden layers", "sigmoid")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text("Results of run 2").wait_for(timeout=120_000)
    page.get_by_text("Your runs").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1300, "height": 1700})
    page.mouse.move(5, 5)  # no hover toolbar in the picture
    page.evaluate("document.activeElement && document.activeElement.blur()")  # nor the help of the button last clicked
    idle(page)
    page.screenshot(path=str(SCREENSHOTS / "train.png"))
    page.set_viewport_size({"width": 1300, "height": 1000})

    page.get_by_role("link", name="Draw", exact=True).click()
    page.locator("canvas").last.wait_for()
    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name="browser-model").click()
    page.get_by_text("784-512-256-10 network").wait_for()
    draw(page, DIGITS[7])
    assert prediction(page) == 7


def test_uploaded_photo_is_read_and_a_corrupt_one_reported(page, tmp_path):
    from PIL import Image, ImageDraw

    from strokes import densify as dense

    scan = Image.new("RGB", (400, 300), (235, 232, 220))  # a pen digit on off-white paper
    drawing = ImageDraw.Draw(scan)
    for stroke in DIGITS[4]:
        points = [(x + 60, y + 10) for x, y in dense(stroke)]
        drawing.line(points, fill=(30, 30, 60), width=14, joint="curve")
    scan.save(tmp_path / "scan.jpg", quality=90)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")

    draw(page, DIGITS[7])
    drawn_answer = page.get_by_test_id("stMetric").filter(has_text="Prediction").bounding_box()
    page.get_by_text("Upload a picture").click()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="PNG or JPG")
    assert "100MB per file" in uploader.inner_text()  # not Streamlit's default 200MB
    upload = uploader.locator('input[type="file"]')
    upload.set_input_files(str(tmp_path / "scan.jpg"))
    page.get_by_text("scan.jpg").first.wait_for()
    assert prediction(page) == 4
    # One answer, where the drawing's was: beside the picture, not in a second block below.
    answers = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    assert answers.count() == 1
    box = answers.bounding_box()
    assert abs(box["x"] - drawn_answer["x"]) < 2 and abs(box["y"] - drawn_answer["y"]) < 2
    upload.set_input_files(str(tmp_path / "broken.png"))
    page.get_by_text("broken.png could not be read").wait_for()
    assert "0x" not in page.get_by_test_id("stAlert").filter(has_text="broken.png").inner_text()

    # A 16-bit grayscale PNG (as scanners save them) is shown and read, not a traceback.
    import numpy as np

    deep = np.asarray(scan.convert("L"), dtype=np.uint16) * 257
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    upload.set_input_files(str(tmp_path / "deep.png"))
    page.get_by_text("deep.png").first.wait_for()
    assert prediction(page) == 4
    assert page.get_by_test_id("stException").count() == 0


def test_without_mnist_train_on_an_uploaded_kaggle_csv(browser, tmp_path, mnist):
    """A machine with no MNIST: the Train page says so, and trains on Kaggle's train.csv instead."""
    import pandas as pd

    from conftest import running_app

    frame = pd.DataFrame((mnist.x_train[:3000] * 255).round().astype(int), columns=["pixel%d" % i for i in range(784)])
    frame.insert(0, "label", mnist.y_train[:3000])
    frame.to_csv(tmp_path / "train.csv", index=False)
    with running_app(tmp_path, NN_CORE_DATA_DIR=str(tmp_path / "no-mnist-here")) as url:
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url + "/train")
        page.get_by_text("MNIST is not on this machine yet").wait_for()
        assert page.get_by_role("button", name="Start", exact=True).is_disabled()
        page.locator('input[type="file"]').set_input_files(str(tmp_path / "train.csv"))
        page.get_by_role("button", name="Start", exact=True).and_(page.locator(":enabled")).wait_for()
        set_slider(page, "epochs", 2)
        page.get_by_test_id("stSlider").filter(has_text="epochs").filter(has_text="3").wait_for()
        idle(page)
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_text("Results of run 1").wait_for(timeout=120_000)
        accuracy = page.get_by_test_id("stMetric").filter(has_text="Test accuracy").get_by_test_id("stMetricValue").inner_text()
        assert float(accuracy.rstrip("%")) > 80  # measured on the tenth of the file held out
        context.close()


# Pen-drawn digits by writers the shipped model never trained on (its pen_holdout), as
# (writer, sample number): a 9 with a curved tail, a 7 with a crossbar, a 1 with a flag and a base,
# a 1 with a flag; the other digits are each one's first by writers 27 and 29.
CHOSEN = {9: [(30, 121), (28, 102)], 7: [(27, 137), (30, 169)], 1: [(30, 86), (27, 87)]}


def chosen_pen_digits(pen_digits, writers):
    by_key = {(d.writer, d.sample): d for d in pen_digits}
    chosen = [by_key[key] for keys in CHOSEN.values() for key in keys]
    for label in sorted(set(range(10)) - set(CHOSEN)):
        for writer in (27, 29):
            chosen.append(next(d for d in pen_digits if d.label == label and d.writer == writer))
    assert {d.writer for d in chosen} <= set(writers)
    return chosen


def choose(page, label, option):
    """Pick ``option`` in the select box labelled ``label`` (again if the page redrew the box
    before its list opened)."""
    for attempt in range(3):
        idle(page)
        box = page.get_by_test_id("stSelectbox").filter(has_text=label)
        try:
            box.scroll_into_view_if_needed(timeout=5000)  # a click that scrolls the sidebar first may not open the list
            box.click(timeout=5000)
            page.get_by_role("option", name=option, exact=True).click(timeout=5000)
            break
        except PlaywrightError:
            if attempt == 2:
                raise
    page.get_by_role("listbox").wait_for(state="detached")
    idle(page)


def test_correct_a_misread_digit_fine_tune_on_it_and_it_is_read_right(page):
    """The whole loop, as a visitor does it: a curly-tailed 9 that the shipped model misreads is
    corrected with one click, appears on My drawings, the shipped model is fine-tuned on it from
    the Train page and saved, and the new model, picked on the Draw page, reads it right."""
    from nn_core.pendigits import PenDigit, canvas_strokes

    nine = PenDigit(9, None, curly_nine(np.random.default_rng(5)))
    strokes = [[tuple(p) for p in s] for s in canvas_strokes(nine, brush=20, height=0.65, centre=(0.5, 0.5))]
    draw(page, strokes)
    before = prediction(page)
    assert before != 9
    page.get_by_test_id("stButtonGroup").get_by_role("radio", name="9", exact=True).click()
    page.get_by_text("Kept as a 9").wait_for()

    page.get_by_role("link", name="My drawings", exact=True).click()
    page.get_by_text("9, read as %d" % before).wait_for()
    count = page.get_by_test_id("stMetric").filter(has_text="Drawings").get_by_test_id("stMetricValue")
    assert count.inner_text() == "1"
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    idle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "drawings.png"))

    page.get_by_role("link", name="Train", exact=True).click()
    page.get_by_role("button", name="Start", exact=True).wait_for()
    choose(page, "Start from", "default")
    page.get_by_text("Set for fine-tuning").wait_for()
    choose(page, "Drawings collected here", "mine (1)")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text("Results of run 1").wait_for(timeout=180_000)
    page.get_by_label("Save as").fill("tuned")
    page.get_by_label("Save as").press("Enter")
    idle(page)
    page.get_by_role("button", name="Save model").click()
    page.get_by_text("Saved as tuned. Pick it").wait_for()

    page.get_by_role("link", name="Draw", exact=True).click()
    page.locator("canvas").last.wait_for()
    choose(page, "Model", "tuned")
    draw(page, strokes)
    assert prediction(page) == 9


def test_pen_digits_of_unseen_writers_drawn_with_the_mouse(page, pen_digits, shipped_model):
    """20 digits written by real people the shipped model never saw, two of each, drawn stroke by
    stroke on the canvas in the browser: at least 19 read right."""
    from nn_core.pendigits import canvas_strokes

    digits = chosen_pen_digits(pen_digits, shipped_model.meta["hyperparameters"]["pen_holdout"])
    assert len(digits) == 20 and sorted(d.label for d in digits) == sorted(list(range(10)) * 2)
    answers = []
    for i, digit in enumerate(digits):
        clear(page)
        strokes = canvas_strokes(digit, brush=20, height=0.55 + 0.25 * (i % 5) / 4, centre=(0.5, 0.5))
        draw(page, [[tuple(p) for p in s] for s in strokes])
        answers.append((digit.label, prediction(page), digit.writer, digit.sample))
    wrong = [a for a in answers if a[0] != a[1]]
    assert len(wrong) <= 1, wrong


def plot_span(png):
    """How many pixels high the plot of a chart's picture is: from the top to the bottom row in
    which at least 30% of the pixels are ink (gridlines, bars, cells, the axis); a flat chart's
    plot is its axis and its line, a few pixels."""
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    rows = np.flatnonzero((pixels < 245).any(axis=2).mean(axis=1) >= 0.3)
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def chart_picture(page, i):
    """A screenshot of the page's ``i``-th chart once it is drawn (again if the page redrew it meanwhile)."""
    for attempt in range(3):
        chart = page.get_by_test_id("stVegaLiteChart").nth(i)
        try:
            chart.locator("canvas, svg").first.wait_for()
            page.wait_for_timeout(300)  # Vega draws into its canvas after the element is there
            return chart.screenshot()
        except PlaywrightError:
            if attempt == 2:
                raise
            idle(page)


def test_inside_the_network_with_the_shipped_model_and_a_small_new_one(browser, tmp_path, mnist, monkeypatch):
    """Every view of the Inside page opens without an exception for the shipped model and for a
    small network just trained, with every chart's plot drawn with a height; choosing a neuron and clicking a confusion-matrix cell change
    what is shown."""
    from nn_core.model import from_run
    from nn_core.storage import save_model
    from nn_core.training import TrainConfig, Trainer

    with running_app(tmp_path) as url:
        monkeypatch.setenv("NN_CORE_WEIGHTS_DIR", str(tmp_path / "weights"))  # the server's folder
        trainer = Trainer(
            TrainConfig(layer_data={"Dim": [784, 24, 10], "Activs": ["relu", "softmax"]}, epochs=3, n_train=2000),
            mnist.x_train,
            mnist.y_train,
        )
        for _ in trainer.run():
            pass
        small, _ = from_run(trainer, 1.0, mnist.x_test, mnist.y_test)
        save_model("small", small.params, small.layer_data, small.meta, overwrite=False)

        context = browser.new_context(viewport={"width": 1300, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url + "/inside")
        page.get_by_text("Inside the network").first.wait_for()
        views = {
            "What the neurons look for": "incoming weights, one per pixel",
            "Where it fails": "Accuracy per digit",
            "How far to trust it": "Calibration error",
            "How robust it is": "A steep fall",
            "Models side by side": "Delete a model you saved",
        }
        for model in ("default", "small"):
            page.get_by_text("What the neurons look for", exact=True).click()
            idle(page)
            choose(page, "Model", model)
            for view, marker in views.items():
                page.get_by_text(view, exact=True).click()
                page.get_by_text(marker).first.wait_for()  # this view's page run has come
                idle(page)
                assert page.get_by_test_id("stException").count() == 0, (model, view)
                assert page.get_by_test_id("stAlert").filter(has_text="Could not").count() == 0
                if view == "How robust it is":
                    page.get_by_test_id("stVegaLiteChart").nth(4).wait_for()
                for i in range(page.get_by_test_id("stVegaLiteChart").count()):
                    # a chart that draws its plot flat (no y axis: it was so for the five robustness
                    # charts) passes every test of the DOM; its picture does not
                    span = plot_span(chart_picture(page, i))
                    assert span >= 40, "%s, %s: chart %d has a plot %d px high" % (model, view, i + 1, span)

        page.get_by_text("Where it fails", exact=True).click()
        idle(page)
        choose(page, "Model", "default")  # (the models view has no Model box: choose on this one)
        heading = page.get_by_text(re.compile(r"read as \d+ \(\d+\)"))
        before = heading.inner_text()
        first = page.get_by_test_id("stImage").first.locator("img").first.get_attribute("src")
        matrix = page.get_by_test_id("stVegaLiteChart").nth(1).locator("canvas, svg").first
        box = matrix.bounding_box()
        from pages.inside_page import CELLS  # the matrix's plot area, right of its axis labels

        left, top, cell = box["x"] + box["width"] - 5 - CELLS, box["y"] + 5, CELLS / 10  # 5: Vega's padding
        page.mouse.click(left + 4.5 * cell, top + 4.5 * cell)  # the cell of the 4s answered 4
        page.get_by_text("Right answers: 4 read as 4").wait_for()
        assert heading.inner_text() != before
        page.wait_for_function(
            "first => { const i = document.querySelector('[data-testid=\"stImage\"] img');"
            " return i && i.getAttribute('src') !== first && i.complete; }",
            arg=first,
        )

        page.get_by_text("What the neurons look for", exact=True).click()
        idle(page)
        neuron = page.get_by_label("Neuron", exact=True)
        first = int(neuron.input_value())  # the gallery's first: the most selective of its group
        page.get_by_text("neuron %d's weights" % first).wait_for()
        from pages.inside_page import GALLERY_CELL, GALLERY_GAP

        gallery = page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.bounding_box()
        step = GALLERY_CELL + GALLERY_GAP
        page.mouse.click(gallery["x"] + step + GALLERY_CELL / 2, gallery["y"] + GALLERY_CELL / 2)  # the second in the gallery
        page.wait_for_function(
            "first => { const i = document.querySelector('[aria-label=\"Neuron\"]'); return i && i.value !== String(first); }",
            arg=first,
        )
        clicked = int(neuron.input_value())
        page.get_by_text("neuron %d's weights" % clicked).wait_for()
        page.get_by_text("The test digits that make neuron %d fire most" % clicked).wait_for()
        neuron.fill("7")  # and a neuron by its number
        neuron.press("Enter")
        page.get_by_text("neuron 7's weights").wait_for()
        page.get_by_text("The test digits that make neuron 7 fire most").wait_for()
        page.mouse.move(5, 5)
        idle(page)
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "inside.png"))
        context.close()


def test_the_time_shown_before_start_holds_on_a_fresh_server(browser, tmp_path):
    """The time the Train page gives before Start, against the time from Start to the results,
    for two quick runs on a server that has finished none (then one) before: not plainly wrong."""
    with running_app(tmp_path) as url:
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        for run, settings in (
            (1, "epochs=8&n_train=20000"),
            (2, "epochs=5&n_train=20000&n_hidden=1&neurons_1=256&mini_batch=32"),
        ):
            page.goto(url + "/train?" + settings)
            estimate = page.get_by_text(re.compile(r"About \d+.* (seconds|minutes) from Start"))
            estimate.wait_for()
            idle(page)
            # "About 40-70 seconds", "About 20 seconds to 2 minutes": the middle of the range, in seconds
            words = estimate.inner_text().split(" from Start")[0]
            ends = [
                int(n) * (60 if unit == "minutes" else 1) for n, unit in re.findall(r"(\d+)(?:-\d+)? (seconds|minutes)", words)
            ]
            ends += [int(n) * (60 if unit == "minutes" else 1) for n, unit in re.findall(r"\d+-(\d+) (seconds|minutes)", words)]
            expected = (min(ends) + max(ends)) / 2
            start = time.time()
            page.get_by_role("button", name="Start", exact=True).click()
            page.get_by_text("Results of run %d" % run).wait_for()
            actual = time.time() - start
            # The 0.6-1.6x the estimate aims at is measured by bench/estimate.py on an idle machine; here,
            # beside a browser and other servers, the machine's own drift is that large, so the test fails
            # only on an estimate that is plainly wrong (the issue saw "about 1 second" for 40).
            print(
                "run %d: about %d s shown, %.1f s from Start to the results (%.2fx)" % (run, expected, actual, expected / actual)
            )
            assert 0.33 <= expected / actual <= 3, "run %d: about %d s shown, %.1f s from Start to the results" % (
                run,
                expected,
                actual,
            )
        context.close()
