"""The update rules, written in place for speed, against their textbook formulas."""

import numpy as np
import pytest

from nn_core import optimizers
from nn_core.optimizers import make_optimizer


def textbook(name, params, gradients, rate, beta1=0.9, beta2=0.999, eps=1e-8, beta=0.9):
    """Each rule as the papers write it, in float64 with fresh arrays at every step."""
    p = params.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(gradients, start=1):
        g = g.astype(np.float64)
        if name == "gd":
            p = p - rate * g
        elif name == "momentum":
            m = beta * m - rate * g
            p = p + m
        else:
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            p = p - rate * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps * np.sqrt(1 / (1 - beta2**t)))
    return p


@pytest.mark.parametrize("block", [65_536, 64, 7])  # one block; several, the last one short
@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_in_place_steps_follow_the_textbook(name, block, monkeypatch):
    monkeypatch.setattr(optimizers, "BLOCK", block)
    rng = np.random.default_rng(1)
    start = rng.standard_normal(500).astype(np.float32)
    gradients = [rng.standard_normal(500).astype(np.float32) for _ in range(6)]
    params = {"W1": start.reshape(20, 25).copy(), "b1": start[:20].reshape(20, 1).copy()}
    optimizer = make_optimizer(name)
    for g in gradients:
        # The step may overwrite the gradients it is given: hand it copies, and keep ours.
        optimizer.step(params, {"dW1": g.reshape(20, 25).copy(), "db1": g[:20].reshape(20, 1).copy()}, 0.01)
    expected_W = textbook(name, start, gradients, 0.01).reshape(20, 25)
    expected_b = textbook(name, start[:20], [g[:20] for g in gradients], 0.01).reshape(20, 1)
    np.testing.assert_allclose(params["W1"], expected_W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(params["b1"], expected_b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(params["W1"], start.reshape(20, 25))  # it did move


def test_adam_on_arrays_that_are_not_contiguous_updates_them_in_place():
    rng = np.random.default_rng(2)
    start = rng.standard_normal((30, 40)).astype(np.float32)
    g = rng.standard_normal((30, 40)).astype(np.float32)
    whole = start.copy()
    params = {"W1": whole[:, ::2]}  # a view with gaps: it cannot be cut into flat blocks
    make_optimizer("adam").step(params, {"dW1": g[:, ::2].copy()}, 0.01)
    expected = textbook("adam", start[:, ::2], [g[:, ::2]], 0.01)
    np.testing.assert_allclose(whole[:, ::2], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(whole[:, 1::2], start[:, 1::2])
