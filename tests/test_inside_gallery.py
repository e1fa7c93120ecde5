"""The neurons gallery of the Inside page follows the chosen digit (headless, with AppTest): the
large neuron and the test digits that make it fire change with the digit, unless the person typed
a neuron's number."""

import re

import pytest

from headless import inside, texts
from nn_core import explain
from nn_core.storage import WEIGHTS_DIR, load_model

pytestmark = pytest.mark.slow  # reads the test set and measures 800 neurons on it


def large_neuron(at):
    """The neuron shown large, from its picture's caption."""
    caption = next(c for image in at.get("image") for c in image.captions if c.endswith("'s weights"))
    return int(re.search(r"neuron (\d+)'s", caption).group(1))


def favourites(mnist):
    """Each neuron's favourite digit, as the page works it out (its first 2,000 test digits)."""
    from pages.inside_page import FAVOURITE_IMAGES
    model = load_model(WEIGHTS_DIR / "default.npz")
    return explain.favourite_digits(model, mnist.x_test[:FAVOURITE_IMAGES], mnist.y_test[:FAVOURITE_IMAGES])


def test_the_large_neuron_follows_the_chosen_digit(shipped_weights, mnist):
    favourite, _ = favourites(mnist)
    at = inside()
    at.radio(key="inside_view").set_value("What the neurons look for").run()
    for digit in (2, 3, 8):
        at.button_group(key="neuron_digit").set_value(digit).run()
        assert not at.exception
        neuron = large_neuron(at)
        assert favourite[neuron - 1] == digit, (digit, neuron)  # one of this digit's neurons
        assert at.number_input(key="neuron").value == neuron
        assert "The test digits that make neuron %d fire most" % neuron in texts(at.markdown)


def test_a_neuron_typed_by_number_stays_when_the_digit_changes(shipped_weights):
    at = inside()
    at.radio(key="inside_view").set_value("What the neurons look for").run()
    at.number_input(key="neuron").set_value(17).run()
    for digit in (2, 5):
        at.button_group(key="neuron_digit").set_value(digit).run()
        assert large_neuron(at) == 17 and "The test digits that make neuron 17 fire most" in texts(at.markdown)
