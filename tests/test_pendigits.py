"""Pen-drawn digits: the UNIPEN reader, drawing a digit as the canvas does, the .Z format they are
published in, their download, mixing them into training with writer-wise validation, and the
shipped model on writers it never saw."""

import hashlib
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import closed_port_url
from nn_core import pendigits
from nn_core.cli import main
from nn_core.data import DataError, read_bytes, unlzw
from nn_core.download import download_pendigits
from nn_core.metrics import evaluate
from nn_core.preprocess import center_of_mass_shift, to_mnist
from nn_core.storage import load_model
from unipen import SAMPLE, random_text

FIXTURE = Path(__file__).parent / "data" / "random-unipen.Z"  # random_text() through `compress -b 12`


def test_reads_hand_written_lines_including_a_multi_stroke_digit():
    one, four = pendigits.parse_unipen(SAMPLE)
    assert (one.label, one.writer, len(one.strokes)) == (1, 7, 1)
    np.testing.assert_array_equal(one.strokes[0], [[100, 100], [100, 200], [100, 300]])
    assert (four.label, four.writer, len(four.strokes)) == (4, 7, 2)
    np.testing.assert_array_equal(four.strokes[1], [[150, 250], [150, 0]])


@pytest.mark.parametrize(
    "text,line,what",
    [
        (".PEN_DOWN\n 1 2\n.PEN_UP\n", 1, "before any .SEGMENT"),
        ('.SEGMENT DIGIT 0 ? "7"\n 1 2\n', 2, "outside a stroke"),
        ('.SEGMENT DIGIT 0 ? "7"\n.PEN_DOWN\n 1 two\n.PEN_UP\n', 3, "two numbers"),
        ('.SEGMENT DIGIT 0 ? "7"\n.PEN_DOWN\n 1 2\n', 3, "ends inside a stroke"),
        ('.SEGMENT DIGIT 0 ? "x"\n', 1, 'label "0" to "9"'),
        ('.SEGMENT DIGIT 0 ? "7"\n.PEN_UP\n', 2, ".PEN_UP without .PEN_DOWN"),
        ('.SEGMENT DIGIT 0 ? "7"\n.PEN_DOWN\n.PEN_UP\n', 3, "no points"),
        ('.SEGMENT DIGIT 0 ? "7"\n.SEGMENT DIGIT 1 ? "1"\n.PEN_DOWN\n 1 1\n.PEN_UP\n', 2, "no strokes"),
        ('.SEGMENT DIGIT 0 ? "7"\n.PEN_DOWN\n 1 2\n.PEN_DOWN\n', 4, ".PEN_UP missing"),
        ('.SEGMENT DIGIT 0 ? "7"\n.PEN_DOWN\n nan 2\n.PEN_UP\n', 3, "finite"),
    ],
)
def test_malformed_files_name_the_line(text, line, what):
    with pytest.raises(DataError) as info:
        pendigits.parse_unipen(text, "sample.tra")
    message = str(info.value)
    assert "sample.tra, line %d" % line in message or "before line %d" % line in message, message
    assert what in message


def ink_box(picture):
    rows, cols = np.nonzero(picture < 128)
    return rows.min(), rows.max(), cols.min(), cols.max()


def test_a_digit_is_drawn_as_on_the_canvas():
    one, four = pendigits.parse_unipen(SAMPLE)
    picture = pendigits.render(one, brush=20, height=0.5, centre=(0.5, 0.5))
    assert picture.shape == (280, 280) and picture.dtype == np.uint8
    assert picture[0, 0] == 255 and picture[140, 140] == 0  # white paper, black ink
    top, bottom, left, right = ink_box(picture)
    assert bottom - top == pytest.approx(140 + 20, abs=3)  # half the canvas tall, plus the round ends
    assert right - left == pytest.approx(20, abs=3)  # a vertical line one brush wide
    # y grows upwards on the tablet: the 4's long stroke goes from y=250 down to y=0, so on the
    # canvas it ends at the bottom; its first stroke starts at the top.
    picture = pendigits.render(four, brush=10, height=0.8, centre=(0.5, 0.5))
    top, bottom, _, _ = ink_box(picture)
    assert top < 40 and bottom > 240
    # Asked for a place off the canvas, the digit is moved just inside it.
    corner = pendigits.render(four, brush=10, height=0.5, centre=(1.0, 1.0))
    _, bottom, _, right = ink_box(corner)
    assert 270 <= bottom <= 279 and 270 <= right <= 279


def test_drawings_are_reproducible_per_seed_and_read_by_the_draw_page_preprocessing():
    digits = pendigits.parse_unipen(random_text(20))
    a = pendigits.pen_images(digits, seed=3, variants=2)
    b = pendigits.pen_images(digits, seed=3, variants=2)
    c = pendigits.pen_images(digits, seed=4, variants=2)
    assert a[0].shape == (40, 784) and a[0].dtype == np.float32
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    assert list(a[1][:20]) == [d.label for d in digits] and set(a[2]) == {1, 2, 3}
    # Drawn straight at the network's size, each is the canvas picture through the Draw page's
    # preprocessing to within a few hundredths a pixel (these random scribbles, with long straight
    # pieces and sharp turns, differ the most; see the next test for real writers).
    rng = np.random.default_rng(3)
    canvas = np.array([to_mnist(pendigits.random_render(d, rng)).reshape(-1) for d in digits])
    differences = np.abs(a[0][:20] - canvas).mean(axis=1)
    assert differences.mean() < 0.05 and differences.max() < 0.2, differences


def test_drawings_of_real_writers_match_the_canvas_pictures(pen_digits):
    """``draw_mnist`` against ``to_mnist(render(...))`` on real digits, slanted as for training: the
    same digits to within a pixel's shift, not merely similar ones."""
    digits = pen_digits[::75]
    fast = pendigits.pen_images(digits, seed=7, slant=pendigits.TRAINING_SLANT)[0]
    rng = np.random.default_rng(7)
    canvas = np.array([to_mnist(pendigits.random_render(d, rng, slant=pendigits.TRAINING_SLANT)).reshape(-1) for d in digits])
    differences = np.abs(fast - canvas).mean(axis=1)
    assert differences.mean() < 0.025 and differences.max() < 0.12, differences
    # Each drawing is nearest to its own canvas picture among all of them.
    nearest = np.argmin(((fast[:, None, :] - canvas[None, :, :]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == np.arange(len(digits))) > 0.95


def test_many_drawings_at_once_match_one_at_a_time(pen_digits):
    """``pen_images`` computes the geometry of a chunk of drawings in whole-array operations; the
    same drawings from ``canvas_strokes`` one by one (``draw_mnist``) differ by rounding only."""
    digits = [d for d in pen_pick(pen_digits) if len(d.strokes) > 1][:10] + pen_pick(pen_digits)[:30]
    rng = np.random.default_rng(11)
    jobs = []
    for d in digits:
        slanted = pendigits.slanted(d, rng.uniform(-0.35, 0.35))
        pen = rng.uniform(*pendigits.BRUSH)
        jobs.append((pendigits.canvas_strokes(slanted, pen, rng.uniform(*pendigits.HEIGHT), tuple(rng.uniform(0, 1, 2))), pen))
    one_by_one = pendigits.draw_mnist(jobs).reshape(len(digits), -1)
    at_once = pendigits.pen_images(digits, seed=11, slant=0.35)[0]
    assert np.abs(at_once - one_by_one).max() <= 1 / 255 + 1e-6


def pen_pick(pen_digits):
    return pen_digits[::150]


def test_centre_of_mass_shifts_match_the_draw_page_preprocessing():
    rng = np.random.default_rng(0)
    fields = (rng.random((40, 28, 28)) * (rng.random((40, 28, 28)) < 0.1)).astype(np.float32)
    fields[:20, :, 18:] = 0  # ink on one side: a shift to the right
    fields[20:, :4] = 0
    fields[5] = 0  # a blank stays blank
    expected = np.array([center_of_mass_shift(f) for f in fields])
    np.testing.assert_array_equal(pendigits.centre_of_mass_shifts(fields), expected)


def test_writer_folds_cover_every_writer_once():
    folds = pendigits.writer_folds(range(1, 31), 5)
    assert [len(f) for f in folds] == [6] * 5
    assert sorted(w for f in folds for w in f) == list(range(1, 31))
    with pytest.raises(ValueError):
        pendigits.writer_folds([1, 2], 3)


def test_the_shared_data_set(pen_digits):
    assert len(pen_digits) == 7494
    assert pendigits.writers_of(pen_digits) == list(range(1, 31))
    counts = np.bincount([d.label for d in pen_digits], minlength=10)
    assert counts.min() >= 700 and counts.sum() == 7494


def test_missing_and_corrupt_files_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="pendigits-orig.tra.*download --pendigits|download --pendigits"):
        pendigits.load_pendigits(tmp_path)
    (tmp_path / "pendigits-orig.tra").write_text(SAMPLE)
    with pytest.raises(DataError, match="corrupt or incomplete"):
        pendigits.load_pendigits(tmp_path)
    assert len(pendigits.load_pendigits(tmp_path, verify=False)) == 2


def test_unix_compress_files_are_read():
    text = random_text().encode()
    raw = FIXTURE.read_bytes()
    assert unlzw(raw) == text
    if shutil.which("gzip"):  # gzip reads .Z too: the fixture is a real one
        assert subprocess.run(["gzip", "-dc"], input=raw, capture_output=True).stdout == text
    with pytest.raises(ValueError):
        unlzw(raw[:3] + bytes([0xFF]) * 40)  # codes that were never defined
    with pytest.raises(ValueError):
        unlzw(b"\x1f\x9d\x85")  # 5-bit codes do not exist


def test_a_corrupt_compressed_file_is_a_data_error(tmp_path):
    path = tmp_path / "x.Z"
    path.write_bytes(FIXTURE.read_bytes()[:3] + bytes([0xFF]) * 40)
    with pytest.raises(DataError, match="not a readable file"):
        read_bytes(path)


class Server(http.server.BaseHTTPRequestHandler):
    """/good.Z: the fixture; /corrupt.Z: the fixture with one byte changed."""

    def do_GET(self):
        body = FIXTURE.read_bytes()
        if self.path == "/corrupt.Z":
            body = body[:-10] + bytes([body[-10] ^ 0x55]) + body[-9:]
        elif self.path != "/good.Z":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/" % httpd.server_address[1]
    httpd.shutdown()


def test_download_checks_the_content_and_falls_back_to_the_next_address(tmp_path, server, monkeypatch):
    monkeypatch.setattr(pendigits, "SHA256", hashlib.sha256(random_text().encode()).hexdigest())
    lines = []
    download_pendigits(tmp_path, urls=(server + "corrupt.Z", server + "good.Z"), log=lines.append)
    assert any("does not match" in line for line in lines)
    assert [p.name for p in tmp_path.iterdir()] == ["pendigits-orig.tra.Z"]
    assert len(pendigits.load_pendigits(tmp_path)) == 60
    lines.clear()
    download_pendigits(tmp_path, urls=(server + "good.Z",), log=lines.append)
    assert lines == ["pendigits-orig.tra: already there, verified"]


def test_the_command_line_download_draws_the_train_pages_set_once(tmp_path, server, monkeypatch, capsys):
    """``nn-core download --pendigits`` draws them for training as the Train page mixes them in, so
    that a first run with them does not; the time shown before Start counts the drawing only
    while they are not drawn."""
    from nn_core import runspec
    from nn_core.training import TrainConfig

    monkeypatch.setattr(pendigits, "SHA256", hashlib.sha256(random_text().encode()).hexdigest())
    monkeypatch.setenv("NN_CORE_PENDIGITS_URLS", server + "good.Z")
    monkeypatch.setenv("NN_CORE_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / (name + ".gz")).symlink_to(find_mnist(name))  # MNIST is there: only the pen-drawn digits are fetched
    config = TrainConfig(pen_digits=pendigits.PAGE_DRAWINGS)
    assert runspec.drawing_seconds(config, data) == 0.0  # no pen-drawn digits yet: nothing to draw
    download_pendigits(data, log=lambda s: None)
    runspec.pen_count.cache_clear()
    assert runspec.drawing_seconds(config, data) == pytest.approx(60 * 4 * pendigits.SECONDS_PER_DRAWING)
    assert main(["download", "--data", str(data), "--pendigits"]) == 0
    assert "Drew them for training (240 images)" in capsys.readouterr().out
    assert pendigits.is_cached(pendigits.PAGE_DRAWINGS, config.seed) and runspec.drawing_seconds(config, data) == 0.0
    assert runspec.drawing_seconds(TrainConfig(pen_digits=2), data) > 0  # another set is still to be drawn
    assert main(["download", "--data", str(data), "--pendigits"]) == 0
    assert "Drew them" not in capsys.readouterr().out  # once


def test_the_train_page_gets_the_pen_drawn_digits_and_draws_them_at_once(tmp_path, server, monkeypatch, weights_dir):
    """Without them, the Train page offers their download where "Mix in pen-drawn digits" goes;
    once fetched they are drawn for training, and the box is there."""
    from headless import texts, train_page

    monkeypatch.setattr(pendigits, "SHA256", hashlib.sha256(random_text().encode()).hexdigest())
    monkeypatch.setenv("NN_CORE_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / (name + ".gz")).symlink_to(find_mnist(name))
    monkeypatch.setenv("NN_CORE_DATA_DIR", str(data))
    monkeypatch.setenv("NN_CORE_PENDIGITS_URLS", closed_port_url() + "pendigits-orig.tra.Z")  # offline first
    at = train_page()
    assert not [c for c in at.checkbox if c.key == "pen_digits"]
    at.button(key="download_pen").click().run()
    assert "Could not download the pen-drawn digits" in texts(at.error) and "the server's data folder" in texts(at.error)
    monkeypatch.setenv("NN_CORE_PENDIGITS_URLS", server + "good.Z")
    at.button(key="download_pen").click().run()
    assert not at.exception and [c for c in at.checkbox if c.key == "pen_digits"]
    assert pendigits.is_cached(pendigits.PAGE_DRAWINGS, 0) and not [b for b in at.button if b.key == "download_pen"]


def find_mnist(name):
    from nn_core.data import data_dir

    folder = data_dir(None)
    for candidate in (folder / (name + ".gz"), folder / name):
        if candidate.exists():
            return candidate.resolve()
    pytest.skip("MNIST is not in %s" % folder)


def test_offline_download_says_which_file_to_put_where(tmp_path):
    with pytest.raises(DataError) as info:
        download_pendigits(tmp_path / "data", urls=(closed_port_url() + "pendigits-orig.tra.Z",), log=lambda s: None, timeout=5)
    text = str(info.value)
    assert "Could not download the pen-drawn digits" in text
    assert "pendigits-orig.tra" in text and str(tmp_path / "data") in text
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@pytest.mark.slow
def test_training_mixes_pen_digits_in_and_records_it(weights_dir, capsys):
    code = main(
        [
            "train",
            "--hidden",
            "32",
            "--epochs",
            "1",
            "--n-train",
            "4000",
            "--pen-digits",
            "1",
            "--pen-holdout",
            "29,30",
            "--val-fraction",
            "0.2",
            "--name",
            "pen",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "MNIST and" in out and "pen-drawn digits" in out
    model = load_model("pen")
    assert model.meta["hyperparameters"]["pen_digits"] == 1
    assert model.meta["hyperparameters"]["pen_holdout"] == [29, 30]
    assert "pen-drawn" in model.meta["data"] and "--pen-digits 1" in model.meta["command"]


@pytest.mark.slow
def test_the_shipped_model_reads_writers_it_never_saw(shipped_model, pen_digits):
    """The writers kept out of the shipped model's training, drawn as people draw on the canvas
    (brush 12-28 px, 45-85% of the canvas tall, anywhere): at least 97.5% right, and every digit at
    least 90%. Four writers give about 100 drawings of each digit, and one of them (28) writes with
    a strong slant and 9s whose loop is barely open; bench/pen_accuracy.py measures the recipe on
    all 30 writers, five folds by writer."""
    held = shipped_model.meta["hyperparameters"]["pen_holdout"]
    assert len(held) >= 3
    images, labels, _ = pendigits.pen_images(pendigits.select(pen_digits, writers=held), seed=2024, brush=(12, 28))
    result = evaluate(shipped_model, images, labels)
    assert result["accuracy"] >= 0.975, result
    assert min(result["per_class_accuracy"]) >= 0.90, result["per_class_accuracy"]
