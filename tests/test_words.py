"""The app's words about digits and neurons: "an 8", and neuron readings that are true (a silent
neuron says it is silent, with no rank among tied zeros and no pushes of 0.00; numbers rounded)."""

import re

import numpy as np
import pytest

from nn_core import explain


@pytest.mark.parametrize(
    "digit, words", [(0, "a 0"), (1, "a 1"), (3, "a 3"), (7, "a 7"), (8, "an 8"), (9, "a 9"), (np.int64(8), "an 8")]
)
def test_a_digit_takes_the_article_it_is_read_with(digit, words):
    assert explain.a_digit(digit) == words


def test_no_page_writes_an_article_before_a_digit_by_hand():
    """Every "a %d" of the pages goes through ``a_digit`` (else an 8 reads "a 8")."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "pages").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not re.search(r"\ban? %[di]\b", line), "%s:%d: %s" % (path.name, number, line.strip())


def layer(n=800, firing=(3.9800000190734863, 0.5, 0.25), seed=0):
    """A layer of ``n`` outputs, all 0 but the first few."""
    values = np.zeros(n, np.float32)
    values[: len(firing)] = firing
    return values


def test_a_silent_neuron_says_so_with_how_many_are_silent_and_no_rank():
    values = layer()
    headline, further = explain.neuron_reading(values, 480, 1, np.zeros(10), into_answers=True)
    assert "silent for this digit" in headline and "as are 797 of the 800" in headline, headline
    assert "strongest" not in headline and not re.search(r"\d(st|nd|rd|th)\b", headline), headline
    assert "pushes nothing further" in further and not re.search(r"[-+]0\.00", further), further


def test_a_silent_neuron_of_a_middle_layer_pushes_nothing_either():
    headline, further = explain.neuron_reading(layer(), 100, 1, np.full(256, 0.0), into_answers=False)
    assert "silent" in headline and "next layer" in further


def test_a_firing_neuron_gives_its_rounded_output_its_rank_and_its_pushes_that_matter():
    values = layer()
    pushes = np.array([0.001, -0.002, 1.2345, 0.0, -0.9, 0.4, -0.3, 0.0001, 0.0, 0.0])
    headline, further = explain.neuron_reading(values, 1, 2, pushes, into_answers=True)
    assert "outputs 0.50 for this digit" in headline and "the 2nd strongest of the 800" in headline, headline
    assert "797 of them are silent" in headline
    assert further == "It pushes the answer towards 2 (+1.23) and 5 (+0.40), and away from 4 (-0.90) and 6 (-0.30).", further
    first, _ = explain.neuron_reading(values, 0, 2, pushes, into_answers=True)
    assert "outputs 3.98 " in first and "3.980000" not in first and "1st strongest" in first


def test_pushes_that_round_to_zero_are_not_listed():
    headline, further = explain.neuron_reading(layer(), 2, 2, np.tile([0.001, -0.001], 5), into_answers=True)
    assert "0.00" not in further and "round to 0" in further, further
    _, further = explain.neuron_reading(layer(), 2, 1, np.array([0.001, -0.6, 0.2]), into_answers=False)
    assert further == "It feeds hidden layer 2: its strongest push is -0.60, on neuron 2.", further


@pytest.mark.parametrize(
    "n, words",
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (112, "112th"),
        (153, "153rd"),
    ],
)
def test_ordinals(n, words):
    assert explain.ordinal(n) == words


def test_the_network_views_tooltip_shows_outputs_rounded():
    """float32's 3.98 is 3.9800000190734863 as a double: the view sends and formats two decimals."""
    from pages import _network

    spec = _network.spec([np.full(784, 0.5, np.float32), layer(16), np.full(10, 0.1, np.float32)], [], 3)
    cells = spec["datasets"]["cells"]
    assert 3.98 in set(cells["v"]) and not any(len(repr(float(v))) > 6 for v in cells["v"])
    tooltip = spec["layer"][0]["encoding"]["tooltip"]
    assert {"field": "v", "title": "output", "format": ".2f"} in tooltip


def test_a_picture_in_words_says_how_big_its_ink_is_and_where_it_lies():
    """The 28x28 input's text alternative, for a screen reader."""
    image = np.zeros((28, 28))
    assert explain.picture_in_words(image) == "no ink"
    image[4:24, 13:15] = 1.0  # a 1: a bar 2 pixels wide, 20 high, in the middle column
    assert explain.picture_in_words(image) == "ink 2 pixels wide and 20 high, most of it in the middle"
    corner = np.zeros((28, 28))
    corner[20:26, 20:26] = 1.0
    assert explain.picture_in_words(corner).endswith("most of it at the bottom right")


def test_the_network_in_words_counts_the_neurons_that_fire():
    outputs = [np.zeros(784), layer(800), layer(800, firing=(1.0,)), np.eye(10)[3] * 0.97]
    assert explain.network_in_words(outputs) == (
        "In hidden layer 1, 3 of the 800 neurons fire; in hidden layer 2, 1 of the 800 neurons fire; the answers give 3 97%."
    )


def test_counts_are_said_in_the_singular_or_the_plural():
    from nn_core.estimate import duration
    from nn_core.words import counted

    assert [counted(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]
    assert duration(1.2) == "1 second" and duration(0.3) == "1 second" and duration(40) == "40 seconds"


def test_a_range_of_time_reads_as_plain_english():
    from nn_core.estimate import duration_range

    assert duration_range(0.4, 1.2) == "about 1 second"  # not "1 seconds"
    assert duration_range(4, 12) == "about 4-12 seconds"
    assert duration_range(100, 110) == "about 2 minutes"
    assert duration_range(30, 200) == "about 30 seconds to 3 minutes"
