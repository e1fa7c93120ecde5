"""Looking inside a trained network: what its first-layer neurons look for, why it gave an answer,
where it fails, how far its confidence can be trusted, and how robust it is to distortions.

Plain NumPy on a ``Model`` (no Streamlit): the Inside page and the Draw page draw what these
functions compute. Images are rows of 784 values in [0, 1], as everywhere in ``nn_core``.
"""

import numpy as np

from . import augment
from .activations import ACTIVATIONS
from .network import forw_prop

SIDE = 28

# The distortions of the robustness curves: name -> (levels, what a level means). The meanings
# are axis titles under a chart a third of a page wide: short enough to be read whole.
ROBUSTNESS = {
    "rotation": ([-40, -30, -20, -10, 0, 10, 20, 30, 40], "degrees turned"),
    "shift": ([0, 1, 2, 3, 4, 5, 6], "pixels right and down"),
    "scale": ([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3], "times the size"),
    "thickness": ([-2, -1, 0, 1, 2], "pixels thinner (−) or thicker"),
    "noise": ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], "noise (standard deviation)"),
}


def neuron_weights(model):
    """The incoming weights of each first-layer neuron as a 28x28 picture: ``(n, 28, 28)``."""
    W1 = np.asarray(model.params["W1"])
    return W1.reshape(W1.shape[0], SIDE, SIDE)


def diverging(values, limit=None):
    """Values as RGB (uint8): negative blue, zero white, positive red, full colour at +-``limit``
    (default: the largest magnitude), so that zero is always in the middle."""
    values = np.asarray(values, dtype=np.float32)
    limit = float(np.abs(values).max()) if limit is None else float(limit)
    t = np.clip(values / max(limit, 1e-12), -1, 1)[..., None]
    white, red, blue = np.array([255, 255, 255.0]), np.array([178, 24, 43.0]), np.array([33, 102, 172.0])
    rgb = np.where(t >= 0, white + t * (red - white), white + (-t) * (blue - white))
    return rgb.astype(np.uint8)


def layer_outputs(model, images):
    """The output of every layer (hidden layers, then the answers) for ``images``: a list of
    arrays ``(m, units)``."""
    X = np.asarray(images, dtype=np.float32).reshape(-1, SIDE * SIDE)
    _, caches = forw_prop(X.T, model.params, model.layer_data)
    return [activated.T for _, _, activated, _ in caches]


NEURONS_AT_ONCE = 1024  # first-layer neurons measured together: a layer 150,000 wide stays a few MB at a time


def favourite_digits(model, images, labels):
    """For each first-layer neuron, the digit whose ``images`` make it fire most on average, and
    its selectivity: how much more it fires for that digit than for all of them on average (in
    units of its own output). Returns two arrays of length n."""
    X = np.asarray(images, dtype=np.float32).reshape(-1, SIDE * SIDE)
    labels = np.asarray(labels)
    classes = [labels == d for d in range(10)]
    activation = ACTIVATIONS[model.layer_data["Activs"][0]].function
    W, b = np.asarray(model.params["W1"]), np.asarray(model.params["b1"])
    favourite, selectivity = [], []
    for start in range(0, len(W), NEURONS_AT_ONCE):
        first = activation(X @ W[start : start + NEURONS_AT_ONCE].T + b[start : start + NEURONS_AT_ONCE].T)
        means = np.stack([first[c].mean(axis=0) if c.any() else np.zeros(first.shape[1]) for c in classes])
        favourite.append(means.argmax(axis=0))
        spread = np.maximum(np.abs(first).mean(axis=0), 1e-12)
        selectivity.append((means.max(axis=0) - means.mean(axis=0)) / spread)
    return np.concatenate(favourite), np.concatenate(selectivity)


def strongest(model, images, neuron, k=12):
    """Indices of the ``k`` images that make first-layer ``neuron`` fire most, strongest first
    (only that neuron's output is computed: the layer may be very wide)."""
    X = np.asarray(images, dtype=np.float32).reshape(-1, SIDE * SIDE)
    W, b = model.params["W1"][neuron : neuron + 1], model.params["b1"][neuron : neuron + 1]
    first = ACTIVATIONS[model.layer_data["Activs"][0]].function(X @ W.T + b.T)[:, 0]
    top = np.argpartition(-first, min(k, len(first) - 1))[:k]
    return top[np.argsort(-first[top], kind="stable")]


def saliency(model, image, digit):
    """How much each input pixel pushes the network's score for ``digit`` (the output layer's
    weighted sum before softmax) up (positive) or down (negative): its gradient with respect to
    the 784 pixels, by backpropagation through the network. Returns (28, 28), or (m, 28, 28)
    for ``m`` images."""
    X = np.asarray(image, dtype=np.float64).reshape(-1, SIDE * SIDE)
    params = {k: np.asarray(v, dtype=np.float64) for k, v in model.params.items()}
    _, caches = forw_prop(X.T, params, model.layer_data)
    L = len(caches)
    dA = np.repeat(params["W%d" % L][digit : digit + 1].T, len(X), axis=1)  # d score / d (last hidden layer's output)
    for l in range(L - 1, 0, -1):
        _, Z, A, _ = caches[l - 1]
        dZ = ACTIVATIONS[model.layer_data["Activs"][l - 1]].derivative(dA, Z, A)
        dA = params["W%d" % l].T @ dZ
    grads = dA.T.reshape(-1, SIDE, SIDE)
    return grads[0] if np.size(image) == SIDE * SIDE else grads


def smooth_saliency(model, image, digit, copies=32, noise=0.15, seed=0):
    """``saliency`` averaged over ``copies`` of the image with a little random noise added
    (SmoothGrad, Smilkov et al. 2017), then blurred over 3x3 pixels: the regions that matter,
    instead of one pixel's gradient next to its neighbour's of the other sign. (28, 28)."""
    x = np.asarray(image, dtype=np.float64).reshape(1, SIDE * SIDE)
    noisy = x + noise * np.random.default_rng(seed).standard_normal((copies, SIDE * SIDE))
    mean = saliency(model, noisy, digit).mean(axis=0)
    padded = np.pad(mean, 1, mode="edge")
    return sum(padded[r : r + SIDE, c : c + SIDE] for r in range(3) for c in range(3)) / 9.0


REGIONS = [["top left", "top", "top right"], ["left", "middle", "right"], ["bottom left", "bottom", "bottom right"]]


def evidence_overlay(image, grad, side=140):
    """The evidence drawn over the digit: its ink in grey, and where the gradient says ink would
    raise the score red, lower it blue (transparent where it hardly matters). RGB uint8, ``side``
    pixels square."""
    from PIL import Image

    ink = np.asarray(image, dtype=np.float32).reshape(SIDE, SIDE)
    base = 255 - 150 * ink[..., None] * np.ones(3)
    colour = diverging(grad).astype(np.float32)
    weight = np.clip(np.abs(grad) / max(float(np.abs(grad).max()), 1e-12), 0, 1)[..., None] * 0.85
    rgb = (base * (1 - weight) + colour * weight).clip(0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize((side, side), Image.BILINEAR))


def reading(image, grad, digit):
    """The evidence in one line: which ink, and which empty part of the picture, pushed most
    towards ``digit`` ("The ink at the top and the empty middle pushed most towards 4.")."""
    ink = np.asarray(image, dtype=np.float64).reshape(SIDE, SIDE)
    from_ink = grad * ink  # what the ink there adds to the score
    from_gap = -grad * (1 - ink)  # what leaving it empty adds: ink there would lower the score
    thirds = np.array_split(np.arange(SIDE), 3)

    def best(values):
        sums = np.array([[values[np.ix_(r, c)].sum() for c in thirds] for r in thirds])
        r, c = np.unravel_index(sums.argmax(), sums.shape)
        return REGIONS[r][c], float(sums[r, c])

    (ink_at, ink_push), (gap_at, gap_push) = best(from_ink), best(from_gap)
    parts = []
    if ink_push > 0:
        parts.append((ink_push, "the ink at the %s" % ink_at))
    if gap_push > 0:
        parts.append((gap_push, "the empty %s" % gap_at))
    if not parts:
        return "Nothing in the picture pushed much towards %d." % digit
    parts.sort(reverse=True)
    return "%s pushed most towards %d." % (" and ".join(text for _, text in parts).capitalize(), digit)


MAX_SHOWN = 1024  # neurons of one layer drawn in the network view (the Train page's widest layer)


def grid_columns(n):
    """Columns of a near-square grid of ``n`` neurons (28 for the 784 pixels)."""
    return int(np.ceil(np.sqrt(n)))


def network_path(model, image, answer, top=8, fan=3):
    """What the network did with one image, layer by layer: ``outputs`` (the 784 pixels, then
    each layer's outputs) and ``links``, the strongest contributions (weight x activation) that
    led to ``answer``: the ``top`` neurons of the last hidden layer that pushed it most, the
    ``fan`` strongest pushes into each of those from the layer before, and so on down to the
    pixels. A link is ``(layer, i, j, value)``: neuron ``i`` of layer ``layer - 1`` (0: the
    pixels) pushed neuron ``j`` of ``layer`` by ``value`` (> 0)."""
    x = np.asarray(image, dtype=np.float32).reshape(1, SIDE * SIDE)
    outputs = [x[0]] + [o[0] for o in layer_outputs(model, x)]
    L = len(outputs) - 1
    links, targets = [], [int(answer)]
    for layer in range(L, 0, -1):
        W = np.asarray(model.params["W%d" % layer])
        feeding = set()
        for j in targets:
            push = W[j] * outputs[layer - 1]
            k = top if layer == L else fan
            for i in np.argsort(-push, kind="stable")[:k]:
                if push[i] > 0:
                    links.append((layer, int(i), j, float(push[i])))
                    feeding.add(int(i))
        targets = sorted(feeding)
    return outputs, links


def confusion_examples(predicted, labels, true_digit, answered, k=24):
    """Indices of up to ``k`` images of ``true_digit`` that the network answered ``answered``."""
    return np.flatnonzero((np.asarray(labels) == true_digit) & (np.asarray(predicted) == answered))[:k]


def confident_mistakes(probabilities, labels, k=24):
    """Indices of the ``k`` wrong answers given with the highest probability, most confident first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(labels))
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]


def reliability(probabilities, labels, bins=10):
    """When the network says p, how often is it right? The answers grouped by their probability
    into ``bins`` equal ranges: per range, the mean probability, the share right, and the count;
    and the expected calibration error (the count-weighted mean gap between the two)."""
    finite = np.isfinite(probabilities).all(axis=1)  # a network whose arithmetic overflows gives no answer
    probabilities, labels = probabilities[finite], np.asarray(labels)[finite]
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        members = which == b
        if members.any():
            rows.append(
                {
                    "from": b / bins,
                    "to": (b + 1) / bins,
                    "confidence": float(confidence[members].mean()),
                    "accuracy": float(right[members].mean()),
                    "count": int(members.sum()),
                }
            )
    gap = sum(r["count"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / max(len(labels), 1)
    return rows, float(gap)


def distorted(images, kind, level, seed=0):
    """``images`` distorted by one of ``ROBUSTNESS``'s kinds at ``level``."""
    if kind == "rotation":
        return augment.transform(images, rotate=level)
    if kind == "shift":
        return augment.transform(images, shift=level)
    if kind == "scale":
        return augment.transform(images, scale=level)
    if kind == "thickness":
        return augment.transform(images, thickness=level)
    if kind == "noise":
        noise = np.random.default_rng(seed).normal(0, level, images.shape).astype(images.dtype)
        return np.clip(images + noise, 0, 1)
    raise ValueError("kind must be one of %s, got %r" % (", ".join(ROBUSTNESS), kind))


def robustness(model, images, labels, kinds=tuple(ROBUSTNESS)):
    """Accuracy on ``images`` distorted at each level of each kind: a list of dicts
    ``kind, level, accuracy``."""
    labels = np.asarray(labels)
    rows = []
    for kind in kinds:
        for level in ROBUSTNESS[kind][0]:
            predicted = model.predict_proba(distorted(images, kind, level)).argmax(axis=1)
            rows.append({"kind": kind, "level": level, "accuracy": float((predicted == labels).mean())})
    return rows


def a_digit(digit):
    """A digit with its article, as it is read aloud: "a 3", but "an 8" (an eight)."""
    return ("an %d" if int(digit) == 8 else "a %d") % int(digit)


SILENT = 0.005  # an output that shows as 0.00: the neuron is silent for this digit


def ordinal(n):
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st."""
    return "%d%s" % (n, "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


def neuron_reading(values, i, layer, pushes, into_answers):
    """What neuron ``i`` of hidden ``layer`` did for one digit, in two lines of Markdown: its
    output among the layer's ``values``, then where it pushed next (``pushes``: its weights out
    times its output; ``into_answers``: the next layer is the answers). A silent neuron says so,
    with how many of the layer are silent too: no rank among hundreds of tied zeros, and no list
    of pushes of 0.00. Numbers are rounded to two decimals, and pushes that round to 0 are left out."""
    values, pushes = np.asarray(values, dtype=np.float64), np.asarray(pushes, dtype=np.float64)
    value, n = float(values[i]), len(values)
    silent = int((np.abs(values) < SILENT).sum())
    name = "**Neuron %d of hidden layer %d**" % (i + 1, layer)
    if abs(value) < SILENT:
        return (
            "%s is silent for this digit (it outputs 0), as are %d of the %d neurons of this layer." % (name, silent, n),
            "Silent, it pushes nothing further: it adds nothing to the %s." % ("answers" if into_answers else "next layer"),
        )
    rank = int((values > value).sum()) + 1
    headline = "%s outputs %.2f for this digit: the %s strongest of the %d (%d of them are silent)." % (
        name,
        value,
        ordinal(rank),
        n,
        silent,
    )
    shown = np.abs(pushes) >= SILENT
    if into_answers:
        order = np.argsort(-pushes, kind="stable")
        up = [d for d in order if pushes[d] > 0 and shown[d]][:2]
        down = [d for d in order[::-1] if pushes[d] < 0 and shown[d]][:2]

        def listed(ds):
            return " and ".join("%d (%+.2f)" % (d, pushes[d]) for d in ds)

        parts = (["towards " + listed(up)] if up else []) + (["away from " + listed(down)] if down else [])
        line = "It pushes the answer %s." % ", and ".join(parts) if parts else "Its pushes on the answers all round to 0."
    else:
        j = int(np.argmax(np.abs(pushes)))
        line = (
            "It feeds hidden layer %d: its strongest push is %+.2f, on neuron %d." % (layer + 1, pushes[j], j + 1)
            if shown[j]
            else "Its pushes on hidden layer %d all round to 0." % (layer + 1)
        )
    return headline, line


def picture_in_words(image):
    """A 28x28 picture described for someone who cannot see it: how wide and high its ink is, and
    where most of it lies ("ink 12 pixels wide and 20 high, most of it in the middle")."""
    ink = np.asarray(image, dtype=np.float64).reshape(SIDE, SIDE)
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0.2), np.flatnonzero(ink.max(axis=0) > 0.2)
    if not len(rows):
        return "no ink"
    thirds = np.array_split(np.arange(SIDE), 3)
    sums = np.array([[ink[np.ix_(r, c)].sum() for c in thirds] for r in thirds])
    r, c = np.unravel_index(sums.argmax(), sums.shape)
    return "ink %d pixels wide and %d high, most of it %s" % (
        columns[-1] - columns[0] + 1,
        rows[-1] - rows[0] + 1,
        "in the middle" if (r, c) == (1, 1) else "at the " + REGIONS[r][c],
    )


def network_in_words(outputs):
    """What the network view draws, in words: how many neurons of each hidden layer fire (the
    bright squares) for the digit, and the answer's probability."""
    hidden = outputs[1:-1]
    layers = "; ".join(
        "in hidden layer %d, %d of the %d neurons fire" % (l, int((np.abs(np.asarray(o)) >= SILENT).sum()), len(o))
        for l, o in enumerate(hidden, 1)
    )
    answers = np.asarray(outputs[-1])
    best = int(answers.argmax())
    return "%s; the answers give %d %.0f%%." % (layers[:1].upper() + layers[1:], best, 100 * answers[best])
