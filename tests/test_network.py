"""The pieces around the mathematics: layer descriptions, the registries of activations,
optimizers and initialisations, and one step of each optimizer against values worked out by hand."""

import numpy as np
import pytest

from nn_core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nn_core.network import INITS, N_CLASSES, N_PIXELS, dense_layers, describe_layers, init_params
from nn_core.optimizers import OPTIMIZERS, make_optimizer
from nn_core.training import SCHEDULES


def test_dense_layers_in_the_seed_vocabulary():
    assert dense_layers([512, 256]) == {"Dim": [784, 512, 256, 10], "Activs": ["relu", "relu", "softmax"]}
    assert dense_layers([], "tanh") == {"Dim": [N_PIXELS, N_CLASSES], "Activs": ["softmax"]}
    assert dense_layers([8], "sigmoid", "sigmoid", n_in=4, n_out=3) == {"Dim": [4, 8, 3], "Activs": ["sigmoid", "sigmoid"]}


@pytest.mark.parametrize(
    "hidden,activation,words",
    [
        ([800, 800], "relu", "two hidden layers of 800 neurons (relu)"),
        ([64], "tanh", "one hidden layer of 64 neurons (tanh)"),
        ([512, 256], "relu", "two hidden layers of 512, 256 neurons (relu)"),
        ([], "relu", "no hidden layer (inputs straight to the 10 outputs)"),
    ],
)
def test_models_are_described_in_words(hidden, activation, words):
    assert describe_layers(dense_layers(hidden, activation)) == words


def test_every_registry_entry_carries_a_label():
    for table in (INITS, SCHEDULES):
        assert all(isinstance(label, str) and label for label in table.values())
    assert all(a.label for a in ACTIVATIONS.values())
    assert all(OPTIMIZERS[name].label and OPTIMIZERS[name].name == name for name in OPTIMIZERS)
    assert "softmax" not in HIDDEN_ACTIVATIONS and {"relu", "sigmoid", "tanh", "leaky_relu"} <= set(HIDDEN_ACTIVATIONS)
    for init in INITS:
        init_params(dense_layers([3]), seed=0, init=init)


# One parameter vector and two gradients; the expected values below were worked out by hand.
W0 = [1.0, -2.0]
G1, G2 = [0.5, -0.1], [0.2, 0.3]


def two_steps(name, rate=0.1):
    params = {"W": np.array(W0)}
    opt = make_optimizer(name)
    seen = []
    for g in (G1, G2):
        opt.step(params, {"dW": np.array(g)}, rate)
        seen.append(params["W"].copy())
    return seen


def test_gradient_descent_step():
    first, second = two_steps("gd")
    np.testing.assert_allclose(first, [0.95, -1.99])  # W - 0.1 * G1
    np.testing.assert_allclose(second, [0.93, -2.02])


def test_momentum_steps_by_hand():
    # v1 = -0.1*G1 = [-0.05, 0.01];  W1 = W0 + v1
    # v2 = 0.9*v1 - 0.1*G2 = [-0.065, -0.021];  W2 = W1 + v2
    first, second = two_steps("momentum")
    np.testing.assert_allclose(first, [0.95, -1.99])
    np.testing.assert_allclose(second, [0.885, -2.011])


def test_adam_steps_by_hand():
    # Step 1: m = 0.1*G1, v = 0.001*G1^2; bias-corrected m/(1-0.9) = G1, v/(1-0.999) = G1^2,
    #   so the step is 0.1 * G1/|G1| = 0.1 * sign(G1):  W1 = [0.9, -1.9].
    # Step 2: m = 0.9*m + 0.1*G2 = [0.065, 0.021];  v = 0.999*v + 0.001*G2^2 = [0.00028975, 0.00009999]
    #   m^ = m/(1-0.81) = [0.342105, 0.110526];  v^ = v/(1-0.998001) = [0.144947, 0.050020]
    #   W2 = W1 - 0.1 * m^/sqrt(v^) = [0.9 - 0.089858, -1.9 - 0.049419]
    # (eps = 1e-8, added to the uncorrected sqrt(v), shifts these by less than 1e-6.)
    first, second = two_steps("adam")
    np.testing.assert_allclose(first, [0.9, -1.9], atol=1e-6)
    np.testing.assert_allclose(second, [0.810142, -1.949419], atol=1e-6)
