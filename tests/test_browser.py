"""The app in a real browser: drawing digits with the mouse, clearing, and a training run whose
model is saved, picked on the Draw page and used."""

import re


from conftest import SCREENSHOTS
from strokes import DIGITS, densify


def test_a_page_opened_by_its_address_on_a_fresh_server(browser, app_url):
    """Runs first, while the server has not yet run app.py: /train must still be the Train page
    inside the app's navigation (not Streamlit's listing of the pages/ folder)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(app_url + "/train")
    page.get_by_text("Train a network").wait_for(timeout=30_000)
    nav = page.get_by_test_id("stSidebarNav")
    assert "Draw" in nav.inner_text() and "Train" in nav.inner_text()
    assert "shared" not in nav.inner_text()
    context.close()


def draw(page, strokes):
    box = page.locator("canvas").last.bounding_box()
    for stroke in strokes:
        points = densify(stroke)
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()


def settle(page):
    """Wait until the app has finished its latest run and the canvas is ready for the mouse."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    page.wait_for_timeout(700)


def clear(page):
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Draw a digit in the box").wait_for()
    settle(page)


def prediction(page):
    """The digit in the Prediction metric, once the app has answered the latest stroke."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    metric.wait_for()
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    return int(metric.get_by_test_id("stMetricValue").inner_text())


def test_drawn_digits_are_recognised(page):
    answers = {}
    for digit, strokes in DIGITS.items():
        clear(page)
        draw(page, strokes)
        answers[digit] = prediction(page)
        if digit == 3:
            page.get_by_test_id("stImage").locator("img").wait_for()
            page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "draw.png"))
    right = sum(answers[d] == d for d in answers)
    assert right >= 9, answers


def test_small_digits_in_a_corner_with_a_thick_brush(page):
    """Drawings are not MNIST: half-size digits in the bottom-right corner, brush 32 px wide."""
    set_slider(page, "Brush width", 24)  # 8 + 24 = 32
    settle(page)
    assert "32" in page.get_by_test_id("stSlider").filter(has_text="Brush width").inner_text()
    answers = {}
    for digit, strokes in DIGITS.items():
        clear(page)
        draw(page, [[(140 + x / 2, 140 + y / 2) for x, y in stroke] for stroke in strokes])
        answers[digit] = prediction(page)
    assert sum(answers[d] == d for d in answers) >= 9, answers


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
    page.get_by_role("link", name="Train").click()
    page.get_by_role("button", name="Start").wait_for()
    set_slider(page, "epochs", 7)  # 8 epochs
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    page.get_by_role("button", name="Start").click()

    progress = page.get_by_test_id("stProgress")
    progress.wait_for()
    chart = page.get_by_test_id("stVegaLiteChart").first
    page.get_by_text(re.compile(r"epoch [2-4] of 8")).wait_for(timeout=60_000)
    chart.wait_for()
    handle = chart.element_handle()
    first = chart.screenshot()
    page.get_by_text(re.compile(r"epoch [6-8] of 8")).wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    assert handle.evaluate("e => e.isConnected"), "the chart was replaced instead of updated in place"
    assert chart.screenshot() != first, "the chart did not gain points"

    page.get_by_text("Results of run 1").wait_for(timeout=120_000)
    accuracy = page.get_by_test_id("stMetric").filter(has_text="Test accuracy").get_by_test_id("stMetricValue").inner_text()
    assert float(accuracy.rstrip("%")) > 90
    page.get_by_label("Save as").fill("browser-model")
    page.get_by_label("Save as").press("Enter")
    page.get_by_role("button", name="Save model").click()
    page.get_by_text("Saved as browser-model.npz").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1300, "height": 1700})
    page.mouse.move(5, 5)  # no hover toolbar in the picture
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SCREENSHOTS / "train.png"))
    page.set_viewport_size({"width": 1300, "height": 1000})

    page.get_by_role("link", name="Draw").click()
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

    upload = page.locator('input[type="file"]')
    upload.set_input_files(str(tmp_path / "scan.jpg"))
    page.get_by_text("scan.jpg").first.wait_for()
    assert prediction(page) == 4  # the canvas is blank, so the only Prediction is the upload's
    upload.set_input_files(str(tmp_path / "broken.png"))
    page.get_by_text("broken.png could not be read").wait_for()


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
        assert page.get_by_role("button", name="Start").is_disabled()
        page.locator('input[type="file"]').set_input_files(str(tmp_path / "train.csv"))
        page.get_by_role("button", name="Start").and_(page.locator(":enabled")).wait_for()
        set_slider(page, "epochs", 2)
        settle(page)
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Results of run 1").wait_for(timeout=120_000)
        accuracy = page.get_by_test_id("stMetric").filter(has_text="Test accuracy").get_by_test_id("stMetricValue").inner_text()
        assert float(accuracy.rstrip("%")) > 80  # measured on the tenth of the file held out
        context.close()
