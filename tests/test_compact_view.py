"""The compact network view's layout (no browser): every square square and within the chart, the
most active neurons of each hidden layer shown, brightest first, at least 9 pixels a square for
the shipped model's 800-wide layers, and the pushes drawn only between squares that are shown."""

import json
import re

import numpy as np
import pytest

from nn_core import explain
from pages import _network


@pytest.mark.parametrize("dims", [[784, 800, 800, 10], [784, 30, 20, 10], [784, 1024, 10], [784, 64, 64, 64, 10]])
def test_the_compact_view_draws_the_most_active_neurons_in_square_places(dims):
    rng = np.random.default_rng(0)
    outputs = [rng.random(784).astype(np.float32)] + [np.maximum(rng.normal(size=n), 0).astype(np.float32) for n in dims[1:-1]]
    outputs.append(np.full(10, 0.1, np.float32))
    links = [(1, 5, 3, 0.5), (len(dims) - 1, int(np.argmax(outputs[-2])), 4, 1.0), (2, 10**6 % dims[1], 0, 0.2)]
    spec = _network.compact_spec(outputs, links, 4)
    squares, pushes = spec["datasets"]["squares"], spec["datasets"]["pushes"]
    side, per_row, height = _network.compact_layout(outputs)
    expression = spec["layer"][1]["transform"][0]["calculate"]  # "datum.x + [sides][datum.l]"
    sizes = json.loads(re.search(r"(\[[^\]]*\])\[datum.l\]", expression).group(1))  # each layer's square, in pixels
    for layer, values in enumerate(outputs[1:-1], 1):
        shown = squares[squares["l"] == layer]
        expected = np.argsort(-values, kind="stable")[: per_row * per_row]
        assert list(shown["i"]) == list(expected)  # the most active, brightest first
        assert sizes[layer] >= 9 or per_row == 2, (dims, sizes)
    assert len(squares[squares["l"] == len(dims) - 1]) == 10
    extent = np.array(sizes)[squares["l"].to_numpy()]
    assert (squares["x"] >= 0).all() and (squares["x"] + extent <= _network.COMPACT_WIDTH + 0.5).all()
    assert (squares["y"] >= 0).all() and (squares["y"] + extent <= height).all()
    assert sizes[-1] > 0 and len(pushes) <= len(links)
    assert explain.network_in_words(outputs).startswith("In hidden layer 1, ")


def test_the_shipped_models_layers_get_squares_of_nine_pixels_or_more():
    side, per_row, _ = _network.compact_layout([None] * 4)
    assert side / per_row * 0.85 >= 9 and per_row * per_row >= 36
