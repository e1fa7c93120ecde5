"""How healthy a network's learning is, layer by layer, and why a run that does not learn does not.

While it trains, ``Health`` looks at a few mini-batches of each epoch (``SAMPLES``), using what
back propagation has already computed, and gives per layer:
- ``grad``: the size (root mean square) of the gradient reaching the layer's weights. When the
  first layer gets a millionth of what the last gets, it hardly learns: vanishing gradients.
- ``update``: how much one step changes the weights, relative to their size (about 1e-3 is
  healthy; above 1e-1 the rate is too large, below 1e-6 far too small).
- ``saturated``: for sigmoid and tanh layers, the share of outputs pinned near their limits,
  where the slope, and so the gradient, is almost zero.
- ``dead``: for relu layers, the share of neurons that gave 0 for every image seen: they no
  longer learn.
``diagnose`` reads them, with the test result, into a sentence a beginner can act on.
"""

import math

import numpy as np

SAMPLES = 4  # mini-batches of each epoch looked at (spread evenly): the figures cost about 1% of an epoch
CHANCE = 0.2  # test accuracy below this is "near chance" for 10 digits
ONE_ANSWER = 0.8  # one digit answered for this share of the test images is "one answer for everything"


def rms(a):
    return float(np.sqrt(np.vdot(a, a) / max(a.size, 1)))


class Health:
    """The figures of one epoch, gathered from sampled mini-batches (see the module's description)."""

    def __init__(self, layer_data, n_batches):
        self.activs = layer_data["Activs"]
        self.every = max(1, n_batches // SAMPLES)
        self.grad = [[] for _ in self.activs]
        self.update = [[] for _ in self.activs]
        self.saturated = [[] for _ in self.activs]
        self.fired = [None for _ in self.activs]  # per hidden relu unit: has it given more than 0 yet?

    def wanted(self, batch):
        """Whether mini-batch number ``batch`` (0-based) is one to look at."""
        return batch % self.every == 0

    def look(self, caches, grads, params):
        """Before the optimizer's step: the gradients and the hidden layers' outputs. Returns the
        weights as they are, for ``stepped``."""
        for l, activ in enumerate(self.activs[:-1], start=1):
            self.grad[l - 1].append(rms(grads["dW%d" % l]))
            A = caches[l - 1][2]  # the layer's output before dropout
            if activ == "sigmoid":
                self.saturated[l - 1].append(float(np.mean((A < 0.02) | (A > 0.98))))
            elif activ == "tanh":
                self.saturated[l - 1].append(float(np.mean(np.abs(A) > 0.98)))
            elif activ == "relu":
                fired = (A > 0).any(axis=1)
                self.fired[l - 1] = fired if self.fired[l - 1] is None else self.fired[l - 1] | fired
        L = len(self.activs)
        self.grad[L - 1].append(rms(grads["dW%d" % L]))
        return {l: params["W%d" % l].copy() for l in range(1, L + 1)}

    def stepped(self, before, params):
        """After the optimizer's step: how far it moved each layer's weights."""
        for l, W in before.items():
            self.update[l - 1].append(rms(params["W%d" % l] - W) / max(rms(W), 1e-12))

    def figures(self):
        """Per layer: ``{"layer", "grad", "update", "saturated", "dead"}`` (None where it does not apply)."""

        def mean(values):
            return float(np.mean(values)) if values else None

        out = []
        for i in range(len(self.activs)):
            dead = None if self.fired[i] is None else float(1.0 - self.fired[i].mean())
            out.append(
                {
                    "layer": i + 1,
                    "grad": mean(self.grad[i]),
                    "update": mean(self.update[i]),
                    "saturated": mean(self.saturated[i]),
                    "dead": dead,
                }
            )
        return out


def diagnose(history, result, config):
    """When a run ended near chance, or answering one digit for almost everything: what happened,
    the likely cause read from the last epoch's health figures, and what to try, in words. None
    when the run learned."""
    if result is None or not history:
        return None
    accuracy = result["accuracy"]
    answered = np.asarray(result["confusion_matrix"]).sum(axis=0)
    share = answered.max() / max(answered.sum(), 1)
    if accuracy >= CHANCE and share < ONE_ANSWER:
        return None
    if share >= ONE_ANSWER:
        what = "It answers %d for %.0f%% of the test digits: it has not learned to tell them apart" % (
            answered.argmax(),
            100 * share,
        )
    else:
        what = "It reads %.0f%% of the test digits right, about what guessing gets (10%%)" % (100 * accuracy)
    return "%s. %s" % (what, cause(history[-1].health, config))


def cause(health, config):
    """The likely cause of a run that does not learn, and what to try, from one epoch's figures."""
    if not health:
        return "Try a rate ten times smaller or larger, or relu neurons."
    hidden = health[:-1]
    grads = [h["grad"] for h in health if h["grad"]]
    if len(grads) >= 2 and grads[-1] > 0 and grads[0] / grads[-1] < 1e-2:
        return (
            "The first layer received gradients 10^%d the size of the last: vanishing gradients, so the early layers "
            "hardly learn. Try relu neurons, fewer layers, or Adam." % round(math.log10(grads[0] / grads[-1]))
        )
    dead = [(h["layer"], h["dead"]) for h in hidden if h["dead"] is not None and h["dead"] > 0.5]
    if dead:
        layer, part = dead[0]
        return (
            "%.0f%% of the neurons of hidden layer %d never fire (dead relu): they give 0 for every digit and no longer "
            "learn. Try a rate ten times smaller." % (100 * part, layer)
        )
    saturated = [(h["layer"], h["saturated"]) for h in hidden if h["saturated"] is not None and h["saturated"] > 0.5]
    if saturated:
        layer, part = saturated[0]
        return (
            "%.0f%% of the outputs of hidden layer %d are pinned at their limits (saturated), where they pass almost no "
            "gradient back. Try a smaller rate, the scaled initialisation, or relu neurons." % (100 * part, layer)
        )
    updates = [h["update"] for h in health if h["update"] is not None]
    if updates and max(updates) > 0.1:
        return (
            "Each step changed the weights by %.0f%% of their size: the rate (%g) is far too large, so every step "
            "overshoots. Try a rate ten to a hundred times smaller." % (100 * max(updates), config.rate)
        )
    if updates and max(updates) < 1e-6:
        return (
            "Each step changed the weights by less than a millionth of their size: the rate (%g) is far too small. "
            "Try a rate a hundred times larger, or more epochs." % config.rate
        )
    return "Try a rate ten times smaller or larger, relu neurons, or more epochs."
