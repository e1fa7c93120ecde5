"""Random distortions for training, and canvas-style drawings for evaluation."""

import numpy as np
import pytest

from nn_core.augment import distort, restroke, thickened, transform
from nn_core.cli import build_parser, setup
from nn_core.model import Model
from nn_core.synthetic import canvas_style_set, stroke_width
from nn_core.training import TrainConfig, Trainer


def test_distort_keeps_shape_range_and_is_reproducible(mnist):
    x = mnist.x_test[:64]
    a = distort(x, np.random.default_rng(1))
    b = distort(x, np.random.default_rng(1))
    assert a.shape == x.shape and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    ink_ratio = a.sum(axis=1) / x.sum(axis=1)
    assert 0.4 < ink_ratio.min() and ink_ratio.max() < 2.5  # moved and reshaped, not erased


def test_distorted_digits_stay_recognisable(mnist, shipped_model):
    x, y = mnist.x_test[:1000], mnist.y_test[:1000]
    accuracy = np.mean(shipped_model.predict_proba(distort(x, np.random.default_rng(0))).argmax(1) == y)
    assert accuracy > 0.95


def test_canvas_style_drawings(mnist):
    drawings = canvas_style_set(mnist.x_test[:20], seed=0)
    assert all(d.shape == (280, 280) and d.dtype == np.uint8 for d in drawings)
    again = canvas_style_set(mnist.x_test[:20], seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(drawings, again))
    heights = [np.ptp(np.nonzero(d > 128)[0]) for d in drawings]
    assert min(heights) < 150 < max(heights)  # sizes vary


def test_stroke_width_of_a_bar():
    bar = np.zeros((100, 100), bool)
    bar[10:90, 40:50] = True
    assert 8 <= stroke_width(bar) <= 12


def cross_dilation(images, grow=True):
    """One grey-level dilation (erosion) by a pixel and its four neighbours, written out plainly
    per pixel, outside the frame counting as blank: the reference ``thickened`` must match."""
    out = np.empty_like(images)
    B, n, _ = images.shape
    for b in range(B):
        for i in range(n):
            for j in range(n):
                around = [images[b, i, j]]
                for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                    inside = 0 <= i + di < n and 0 <= j + dj < n
                    around.append(images[b, i + di, j + dj] if inside else 0.0)
                out[b, i, j] = max(around) if grow else min(around)
    return out


def test_whole_steps_are_grey_level_dilations_and_erosions(mnist):
    x = mnist.x_test[:3].reshape(3, 28, 28)
    twice = cross_dilation(cross_dilation(x))
    np.testing.assert_allclose(thickened(x, np.full(3, 2.0)), twice, atol=1e-6)
    np.testing.assert_allclose(thickened(x, np.full(3, -1.0)), cross_dilation(x, grow=False), atol=1e-6)
    # The robustness view's "thicker strokes" are the same steps.
    np.testing.assert_allclose(transform(x, thickness=2), twice, atol=1e-6)


def test_a_fraction_of_a_step_goes_that_share_of_the_way(mnist):
    x = mnist.x_test[:20]
    one, two = thickened(x, np.full(20, 1.0)), thickened(x, np.full(20, 2.0))
    np.testing.assert_allclose(thickened(x, np.full(20, 1.5)), (one + two) / 2, atol=1e-6)
    mixed = thickened(x, np.array([0.0, 1.0, -1.0] + [0.0] * 17))  # each image its own steps
    np.testing.assert_array_equal(mixed[0], x[0])
    np.testing.assert_allclose(mixed[1], one[1], atol=1e-6)
    assert mixed[2].sum() < x[2].sum() < mixed[1].sum()


def widths_and_heights(images):
    masks = images.reshape(-1, 28, 28) > 0.5
    heights = [np.ptp(np.nonzero(m.any(axis=1))[0]) + 1 if m.any() else 0 for m in masks]
    return np.array([stroke_width(m) for m in masks]), np.array(heights)


def test_restroke_thickens_or_thins_about_half_up_to_a_quarter_of_the_height(mnist):
    x = mnist.x_test[:1000]
    out = restroke(x, np.random.default_rng(5), thicker=3)
    np.testing.assert_array_equal(out, restroke(x, np.random.default_rng(5), thicker=3))
    assert out.shape == x.shape and out.dtype == x.dtype and 0 <= out.min() and out.max() <= 1
    changed = np.abs(out - x).max(axis=1) > 0
    assert 0.45 < changed.mean() < 0.55
    ink = out.sum(axis=1) / x.sum(axis=1)
    assert ink[changed].max() > 2.5 and 0.05 < ink[changed].min() < 0.5  # thicker ones and thinner ones, none erased
    width, height = widths_and_heights(out[changed])
    before, before_height = widths_and_heights(x)
    assert np.median(before / before_height) < 0.15  # MNIST's own strokes: about a tenth of the height
    assert np.percentile(width / height, 95) > 0.22  # the thickest: about a quarter
    np.testing.assert_array_equal(restroke(x, np.random.default_rng(5), thicker=0, thinner=0), x)


def test_training_with_thicker_strokes_is_reproducible_and_differs(mnist):
    def params(thicker, seed=0):
        config = TrainConfig(
            layer_data={"Dim": [784, 16, 10], "Activs": ["relu", "softmax"]},
            epochs=1,
            n_train=600,
            thicker=thicker,
            seed=seed,
        )
        trainer = Trainer(config, mnist.x_train[:600], mnist.y_train[:600])
        list(trainer.run())
        return trainer.params["W1"]

    np.testing.assert_array_equal(params(3), params(3))
    assert not np.array_equal(params(3), params(0))


@pytest.mark.parametrize("value", [-1, 5, float("nan"), True])
def test_thicker_outside_its_range_is_refused_by_name(value):
    with pytest.raises(ValueError, match="thicker"):
        TrainConfig(thicker=value).validate()


def test_the_command_line_sets_thicker():
    config, _ = setup(build_parser().parse_args(["train", "--thicker", "2.5"]))
    assert config.thicker == 2.5
    assert setup(build_parser().parse_args(["train"]))[0].thicker == 0


@pytest.mark.slow
def test_training_with_thicker_strokes_teaches_a_network_to_read_a_thick_pen(mnist):
    """The same small network trained on the same 10,000 digits, with and without ``thicker=2``:
    on test digits thickened two steps (strokes about a quarter of the digit's height) the first
    is far better (84% against 74% when measured), on the digits as they are about as good."""
    x, y = mnist.x_test[:2000], mnist.y_test[:2000]

    def accuracies(thicker):
        config = TrainConfig(
            layer_data={"Dim": [784, 128, 10], "Activs": ["relu", "softmax"]},
            epochs=3,
            n_train=10000,
            thicker=thicker,
            val_fraction=0,
        )
        trainer = Trainer(config, mnist.x_train, mnist.y_train)
        list(trainer.run())
        model = Model(config.layer_data, trainer.params)
        return [np.mean(model.predict_proba(transform(x, thickness=k)).argmax(axis=1) == y) for k in (0, 2)]

    plain, thick = accuracies(0), accuracies(2)
    assert thick[1] >= plain[1] + 0.05, (plain, thick)
    assert thick[0] >= plain[0] - 0.02, (plain, thick)
