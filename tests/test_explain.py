"""Looking inside a network: saliency checked against numerical differentiation, neuron pictures,
strongest digits, mistakes, reliability and robustness."""

import numpy as np
import pytest

from nn_core import augment, explain
from nn_core.model import Model
from nn_core.network import init_params


def small_model(activation, seed=0):
    ld = {"Dim": [784, 12, 7, 10], "Activs": [activation, activation, "softmax"]}
    params = init_params(ld, seed=seed)
    params = {k: v.astype(np.float64) + (0.05 if k.startswith("b") else 0) for k, v in params.items()}
    return Model(ld, params)


def score(model, image, digit):
    """The output layer's weighted sum for ``digit`` (before softmax)."""
    A = image.reshape(784, 1)
    L = len(model.layer_data["Activs"])
    for l in range(1, L + 1):
        Z = model.params["W%d" % l] @ A + model.params["b%d" % l]
        if l < L:
            A = explain.ACTIVATIONS[model.layer_data["Activs"][l - 1]].function(Z)
    return float(Z[digit, 0])


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_saliency_is_the_gradient_of_the_answers_score(activation):
    model = small_model(activation)
    rng = np.random.default_rng(1)
    image = rng.random(784)
    grad = explain.saliency(model, image, 3).ravel()
    eps = 1e-5
    for i in rng.choice(784, 25, replace=False):
        up, down = image.copy(), image.copy()
        up[i] += eps
        down[i] -= eps
        numeric = (score(model, up, 3) - score(model, down, 3)) / (2 * eps)
        assert abs(numeric - grad[i]) <= 1e-6 + 1e-4 * abs(numeric), (i, numeric, grad[i])


def test_diverging_colours_put_zero_in_the_middle():
    rgb = explain.diverging(np.array([-2.0, 0.0, 2.0, 1.0]))
    assert rgb[1].tolist() == [255, 255, 255]
    assert rgb[0, 2] > rgb[0, 0]  # negative: blue
    assert rgb[2, 0] > rgb[2, 2]  # positive: red
    assert 178 < rgb[3, 0] < 255 and rgb[3, 1] > rgb[2, 1]  # half way: paler


def test_the_neuron_grid_holds_every_first_layer_neuron():
    model = small_model("relu")
    grid, columns = explain.neuron_grid(model)
    rows = -(-12 // columns)
    assert grid.shape == (rows * 29 - 1, columns * 29 - 1, 3) and grid.dtype == np.uint8
    cell = grid[:28, :28]
    w = explain.neuron_weights(model)[0]
    assert (cell[w > 0][:, 0] >= cell[w > 0][:, 2]).all()  # positive weights red


def test_strongest_digits_are_those_with_the_highest_activation():
    model = small_model("relu")
    images = np.random.default_rng(2).random((300, 784)).astype(np.float32)
    top = explain.strongest(model, images, neuron=4, k=10)
    first = explain.layer_outputs(model, images)[0][:, 4]
    assert list(top) == list(np.argsort(-first, kind="stable")[:10])
    assert [a.shape for a in explain.layer_outputs(model, images[:2])] == [(2, 12), (2, 7), (2, 10)]


def test_an_activation_strip_has_a_square_for_each_neuron():
    strip = explain.activation_strip(np.arange(45, dtype=float), per_row=10, cell=3)
    assert strip.shape == (5 * 3, 10 * 3) and strip.dtype == np.uint8
    assert strip[0, 0] == 0 and strip[4 * 3, 4 * 3] == 255  # the weakest black, the strongest (#45) white
    assert strip[-1, -1] == 0  # the squares after the last neuron stay dark


def test_mistakes_and_confusion_cells():
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55], [0.99, 0.01]])
    labels = np.array([1, 0, 0, 1, 1])
    assert list(explain.confident_mistakes(p, labels, k=5)) == [4, 0, 2]
    predicted = p.argmax(axis=1)
    assert list(explain.confusion_examples(predicted, labels, true_digit=1, answered=0)) == [0, 4]


def test_reliability_of_a_calibrated_and_an_overconfident_network():
    rng = np.random.default_rng(0)
    n = 20000
    confidence = rng.uniform(0.5, 1.0, n)
    right = rng.random(n) < confidence  # right as often as it says
    p = np.column_stack([confidence, 1 - confidence])
    labels = np.where(right, 0, 1)
    rows, gap = explain.reliability(p, labels)
    assert gap < 0.02 and sum(r["count"] for r in rows) == n
    overconfident = np.column_stack([np.full(n, 0.99), np.full(n, 0.01)])
    _, gap = explain.reliability(overconfident, labels)
    assert gap > 0.2


def test_distortions_leave_level_zero_alone_and_move_what_they_should():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 10:18, 12:16] = 1.0
    assert np.allclose(augment.transform(image), image, atol=1e-5)
    moved = augment.transform(image, shift=3)
    ys, xs = np.nonzero(moved[0] > 0.5)
    assert ys.min() == 13 and xs.min() == 15
    assert augment.transform(image, thickness=1).sum() > image.sum() > augment.transform(image, thickness=-1).sum()
    turned = augment.transform(image, rotate=90)
    ys, xs = np.nonzero(turned[0] > 0.5)
    assert xs.max() - xs.min() > ys.max() - ys.min()  # the tall bar now lies flat
    with pytest.raises(ValueError, match="kind must be one of"):
        explain.distorted(image.reshape(1, -1), "blur", 1)


def test_the_shipped_model_is_robust_to_small_distortions_and_not_to_large_ones(shipped_model, mnist):
    images, labels = mnist.x_test[:500], mnist.y_test[:500]
    rows = explain.robustness(shipped_model, images, labels)
    acc = {(r["kind"], r["level"]): r["accuracy"] for r in rows}
    assert len(rows) == sum(len(levels) for levels, _ in explain.ROBUSTNESS.values())
    assert acc["rotation", 0] >= 0.98 and acc["rotation", 10] >= 0.97 and acc["rotation", 40] < acc["rotation", 0]
    assert acc["noise", 0.5] < acc["noise", 0.0] and acc["scale", 0.5] < acc["scale", 1.0]
