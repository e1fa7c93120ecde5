"""The Inside page headless, with AppTest: the neurons gallery follows the chosen digit (the large
neuron and the test digits that make it fire change with the digit, unless the person typed a
neuron's number), and the robustness charts name the model looked at and keep its colour (the
first) when others are compared."""

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


def robustness_colours(at):
    """The colour scale of each robustness chart: its models in the order of their colours."""
    import json

    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    return [s["encoding"]["color"]["scale"]["domain"] for s in specs if "encoding" in s and "color" in s["encoding"]]


def test_the_robustness_charts_name_the_model_and_keep_its_colour_when_compared(shipped_weights):
    from nn_core.network import init_params
    from nn_core.storage import save_model

    ld = {"Dim": [784, 16, 10], "Activs": ["relu", "softmax"]}
    save_model("aardvark", init_params(ld, seed=0), ld, {})  # sorts before "default": it took the first colour
    at = inside()
    at.radio(key="inside_view").set_value("How robust it is").run()
    at.selectbox(key="inside_model").set_value("default").run()
    alone = robustness_colours(at)
    assert len(alone) == 5 and all(domain == ["default"] for domain in alone), alone  # named, not "this model"
    at.multiselect(key="robust_others").set_value(["aardvark"]).run()
    assert not at.exception
    compared = robustness_colours(at)
    assert len(compared) == 5 and all(domain == ["default", "aardvark"] for domain in compared), compared
