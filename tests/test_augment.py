"""Random distortions for training, and canvas-style drawings for evaluation."""

import numpy as np

from nn_core.augment import distort
from nn_core.synthetic import canvas_style_set, stroke_width


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
