"""Backpropagation against central finite differences, in float64, for every activation, both
output layers, L2 regularisation and dropout."""

import numpy as np
import pytest

from nn_core.network import back_prop, cost, forw_prop, init_params, one_hot


def numerical_grads(params, layer_data, X, Y, lamda, m_reg, dropout_rng_seed=None, dropout=0.0, eps=1e-6):
    def J():
        rng = np.random.default_rng(dropout_rng_seed) if dropout else None
        AL, _ = forw_prop(X, params, layer_data, dropout=dropout, rng=rng)
        return cost(AL, Y, params, lamda, layer_data, m=m_reg)

    grads = {}
    for key, value in params.items():
        g = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            old = value[i]
            value[i] = old + eps
            plus = J()
            value[i] = old - eps
            minus = J()
            value[i] = old
            g[i] = (plus - minus) / (2 * eps)
        grads["d" + key] = g
    return grads


def check(layer_data, lamda=0.0, m_reg=None, dropout=0.0, seed=0):
    rng = np.random.default_rng(seed)
    params = init_params(layer_data, seed=seed, dtype=np.float64)
    for k in params:  # non-zero biases so their gradients are exercised too
        params[k] += 0.1 * rng.standard_normal(params[k].shape)
    m = 7
    X = rng.standard_normal((layer_data["Dim"][0], m))
    Y = one_hot(rng.integers(0, layer_data["Dim"][-1], m), layer_data["Dim"][-1], dtype=np.float64)
    AL, caches = forw_prop(X, params, layer_data, dropout=dropout, rng=np.random.default_rng(99) if dropout else None)
    analytic = back_prop(AL, Y, caches, params, layer_data, lamda, m_reg=m_reg)
    numeric = numerical_grads(params, layer_data, X, Y, lamda, m_reg, dropout_rng_seed=99, dropout=dropout)
    assert set(analytic) == set(numeric)
    for key in numeric:
        a, n = analytic[key], numeric[key]
        rel = np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12)
        assert rel < 1e-6, "%s: relative error %.2e" % (key, rel)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "leaky_relu", "tanh"])
def test_hidden_activation_gradients(activation):
    check({"Dim": [5, 6, 4, 3], "Activs": [activation, activation, "softmax"]})


def test_softmax_cross_entropy_gradient_without_hidden_layers():
    check({"Dim": [6, 4], "Activs": ["softmax"]})


def test_sigmoid_output_gradient():
    check({"Dim": [5, 4, 3], "Activs": ["tanh", "sigmoid"]})


@pytest.mark.parametrize("m_reg", [None, 50])
def test_l2_regularisation_gradient(m_reg):
    check({"Dim": [5, 6, 3], "Activs": ["relu", "softmax"]}, lamda=0.7, m_reg=m_reg)


def test_dropout_gradient():
    check({"Dim": [5, 8, 6, 3], "Activs": ["relu", "tanh", "softmax"]}, dropout=0.3)


def test_gradient_check_detects_a_wrong_gradient():
    """The check above can fail: a deliberately broken derivative is caught."""
    from nn_core import activations

    original = activations.ACTIVATIONS["tanh"]
    activations.ACTIVATIONS["tanh"] = original._replace(derivative=lambda dA, Z, A: dA * (1 - A))
    try:
        with pytest.raises(AssertionError):
            check({"Dim": [5, 6, 3], "Activs": ["tanh", "softmax"]})
    finally:
        activations.ACTIVATIONS["tanh"] = original
