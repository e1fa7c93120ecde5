"""Looking inside a network: saliency checked against numerical differentiation, its smoothed
form and its reading in words, the digits a neuron fires for, a digit's path through the layers,
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


def test_saliency_of_many_images_is_each_images_own_and_smoothgrad_is_their_mean_blurred():
    model = small_model("tanh")
    images = np.random.default_rng(3).random((4, 784))
    batch = explain.saliency(model, images, 2)
    assert batch.shape == (4, 28, 28)
    for k in range(4):
        np.testing.assert_allclose(batch[k], explain.saliency(model, images[k], 2), rtol=1e-10)
    smooth = explain.smooth_saliency(model, images[0], 2, copies=8, noise=0.0)  # no noise: the plain gradient, blurred
    plain = np.pad(explain.saliency(model, images[0], 2), 1, mode="edge")
    assert smooth[10, 10] == pytest.approx(plain[10:13, 10:13].mean())


def test_the_reading_names_the_ink_and_the_empty_part_that_pushed():
    image = np.zeros((28, 28))
    image[10:18, 12:16] = 1  # a stroke in the middle
    grad = np.zeros((28, 28))
    grad[10:18, 12:16] = 1.0  # its ink raises the score
    grad[0:9, 0:9] = -0.25  # ink at the top left would lower it: its emptiness speaks for the digit (less: named second)
    assert explain.reading(image, grad, 4) == "The ink at the middle and the empty top left pushed most towards 4."
    assert explain.reading(image, -grad * 0, 4) == "Nothing in the picture pushed much towards 4."


def test_favourite_digits_find_the_digit_a_neuron_is_built_for_whatever_the_chunks(monkeypatch):
    labels = np.repeat(np.arange(10), 20)
    images = np.zeros((200, 784), np.float32)
    for k, d in enumerate(labels):
        images[k, d * 78 : d * 78 + 78] = 1  # each digit its own band of pixels
    W = np.zeros((30, 784), np.float32)
    for j in range(30):
        W[j, (j % 10) * 78 : (j % 10) * 78 + 78] = 1.0 + j  # neuron j fires on the band of digit j % 10
    model = Model(
        {"Dim": [784, 30, 10], "Activs": ["relu", "softmax"]},
        {"W1": W, "b1": np.zeros((30, 1), np.float32), "W2": np.zeros((10, 30), np.float32), "b2": np.zeros((10, 1), np.float32)},
    )
    favourite, selectivity = explain.favourite_digits(model, images, labels)
    assert favourite.tolist() == [j % 10 for j in range(30)] and (selectivity > 0).all()
    monkeypatch.setattr(explain, "NEURONS_AT_ONCE", 7)  # a few neurons at a time: the same answer
    again, again_selectivity = explain.favourite_digits(model, images, labels)
    assert again.tolist() == favourite.tolist()
    np.testing.assert_allclose(again_selectivity, selectivity, rtol=1e-6)


def test_the_digits_path_leads_from_the_pixels_to_the_answer_by_positive_pushes():
    model = small_model("relu")
    image = np.random.default_rng(4).random(784)
    outputs, links = explain.network_path(model, image, 6, top=4, fan=2)
    assert [len(o) for o in outputs] == [784, 12, 7, 10]
    assert all(value > 0 for *_, value in links)
    last = [(i, j) for layer, i, j, _ in links if layer == 3]
    assert {j for _, j in last} == {6} and len(last) <= 4
    for layer in (2, 1):  # every push feeds a neuron that pushed the layer above
        fed = {i for l, i, _, _ in links if l == layer + 1}
        targets = {j for l, _, j, _ in links if l == layer}
        assert targets <= fed and all(sum(1 for l, _, j2, _ in links if l == layer and j2 == j) <= 2 for j in targets)
    i, j = last[0]
    value = next(v for l, i2, j2, v in links if (l, i2, j2) == (3, i, j))
    assert value == pytest.approx(model.params["W3"][j, i] * outputs[2][i], rel=1e-5)


def test_strongest_digits_are_those_with_the_highest_activation():
    model = small_model("relu")
    images = np.random.default_rng(2).random((300, 784)).astype(np.float32)
    top = explain.strongest(model, images, neuron=4, k=10)
    first = explain.layer_outputs(model, images)[0][:, 4]
    assert list(top) == list(np.argsort(-first, kind="stable")[:10])
    assert [a.shape for a in explain.layer_outputs(model, images[:2])] == [(2, 12), (2, 7), (2, 10)]


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
