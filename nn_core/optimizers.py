"""Update rules: how a step turns gradients into new parameters.

Each optimizer keeps whatever state it needs (velocities, moment estimates) and updates
``params`` in place with ``step(params, grads, rate)``; a step may overwrite ``grads``. ``rate`` is passed on every step so that a
learning-rate schedule can change it between epochs.
"""

from typing import ClassVar

import numpy as np

Arrays = dict[str, np.ndarray]  # parameters by name ("W1", "b1", ...), or gradients ("dW1", "db1", ...)


class GradientDescent:
    """Plain mini-batch gradient descent, as in the original design: ``W -= rate * dW``."""

    name: ClassVar[str] = "gd"
    label: ClassVar[str] = "gradient descent"

    def step(self, params: Arrays, grads: Arrays, rate: float) -> None:
        for key, value in params.items():
            g = grads["d" + key]
            g *= value.dtype.type(rate)  # in place: the gradients are not needed after the step
            value -= g


class Momentum:
    """Gradient descent with (heavy-ball) momentum: a velocity that remembers a fraction ``beta``
    of the previous steps, which damps zig-zags across narrow valleys of the cost."""

    name: ClassVar[str] = "momentum"
    label: ClassVar[str] = "momentum"

    def __init__(self, beta: float = 0.9) -> None:
        self.beta = beta
        self.velocity: Arrays = {}

    def step(self, params: Arrays, grads: Arrays, rate: float) -> None:
        for key, value in params.items():
            v = self.velocity.get(key)
            if v is None:
                v = self.velocity[key] = np.zeros_like(value)
            g = grads["d" + key]
            v *= value.dtype.type(self.beta)
            g *= value.dtype.type(rate)  # in place, as above: no temporary array
            v -= g
            value += v


class Adam:
    """Adam (Kingma and Ba, 2015): per-parameter steps scaled by running estimates of the
    gradient's mean and variance, with bias correction for the first steps."""

    name: ClassVar[str] = "adam"
    label: ClassVar[str] = "Adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: Arrays = {}
        self.v: Arrays = {}
        self.t = 0

    def step(self, params: Arrays, grads: Arrays, rate: float) -> None:
        self.t += 1
        # Fold both bias corrections into the step size (same result, fewer array operations).
        step = rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for key, value in params.items():
            g = grads["d" + key]
            if key not in self.m:
                self.m[key], self.v[key] = np.zeros_like(value), np.zeros_like(value)
            arrays = (value, g, self.m[key], self.v[key])
            if not all(a.flags.c_contiguous for a in arrays):
                self._update(*arrays, np.empty_like(value), step)
                continue
            # A block at a time, small enough that its five arrays stay in the core's cache
            # through the dozen passes below: the same numbers, without reading memory a dozen times.
            value, g, m, v = (a.reshape(-1) for a in arrays)
            work = np.empty(min(BLOCK, value.size), value.dtype)
            for i in range(0, value.size, BLOCK):
                block = slice(i, i + BLOCK)
                self._update(value[block], g[block], m[block], v[block], work[: len(value[block])], step)

    def _update(self, value: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, work: np.ndarray, step: float) -> None:
        """m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  value -= step m / (sqrt(v) + eps),
        each written into an existing array (``out=``, ``work``): nothing is allocated."""
        t = value.dtype.type
        b1, b2 = self.beta1, self.beta2
        m *= t(b1)
        m += np.multiply(g, t(1 - b1), out=work)
        v *= t(b2)
        np.multiply(g, g, out=work)
        work *= t(1 - b2)
        v += work
        update = np.multiply(m, t(step), out=g)  # the gradient is not needed any more
        np.sqrt(v, out=work)
        work += t(self.eps)
        update /= work
        value -= update


# Elements of a block of Adam's step: 5 arrays x 4 bytes x 65,536 = 1.3 MB, about a core's L2 cache
# (a step on 535,000 weights 20% quicker than all at once here; blocks of 4,096 are slower: each
# costs a dozen NumPy calls).
BLOCK = 65_536


Optimizer = GradientDescent | Momentum | Adam
OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (GradientDescent, Momentum, Adam)}


def make_optimizer(name: str) -> Optimizer:
    """A fresh optimizer (no state yet) by its name in ``OPTIMIZERS``."""
    try:
        return OPTIMIZERS[name]()
    except KeyError:
        raise ValueError("optimizer must be one of %s, got %r" % (", ".join(OPTIMIZERS), name)) from None
