"""Your digit through the network (not a page), in two views drawn with every stroke, for any
saved model and for the network training now:

- the compact view: the 28x28 input, the most active neurons of each hidden layer (brightest
  first, in a small square grid) and the ten answers, in a chart of fixed size whose squares are
  square, so that it reads on a phone and a finger can tap a neuron; the Draw page puts it under
  the canvas on a wide screen and under the answer on a phone (``WIDE_ONLY`` shows one);
- the view of every neuron (wide screens): each hidden layer as a grid of all its neurons.

Both draw the strongest pushes (weight x activation) that led to the answer as lines between the
squares; a click or tap on a neuron shows its weights and what it does for this digit."""

import base64
import io

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from nn_core import explain
from nn_core.network import N_CLASSES

GAP = 0.45  # the space between two layers, as a share of a layer's width
ANSWERS_WIDTH = 0.5
HEIGHT = 230  # pixels; the layers are squares as wide as the page allows
PUSH = "#e4572e"  # the colour of a push, and of the ring round a clicked neuron
OFF, ON = "#1f2430", "#ffd54a"  # a neuron that gives 0, and the layer's strongest


def layer_name(layer, last):
    return "the input" if layer == 0 else "the answers" if layer == last else "hidden layer %d" % layer


def layout(outputs):
    """Where each layer is drawn: ``(left, columns, cell)`` in chart units (a layer is 1 high)."""
    places, left = [], 0.0
    for layer, values in enumerate(outputs):
        if layer == len(outputs) - 1:
            places.append((left, 1, 1.0 / N_CLASSES))
        else:
            n = min(len(values), explain.MAX_SHOWN)
            columns = explain.grid_columns(n)
            rows = int(np.ceil(n / columns))
            places.append((left, columns, 1.0 / max(columns, rows)))
            left += 1 + GAP
    return places


def centre(places, layer, i):
    left, columns, cell = places[layer]
    r, c = divmod(i, columns)
    return left + (c + 0.5) * cell, (r + 0.5) * cell


def spec(outputs, links, answer):
    """The network view as a Vega-Lite spec (plain data: no per-stroke Altair validation). A
    square is sent as its layer, index and output (a table in Arrow); where it is drawn is worked
    out in the browser from each layer's place. The data are named datasets, so that from one
    stroke to the next only they change: the chart is updated, not built again."""
    places = layout(outputs)
    last = len(outputs) - 1
    sizes = [min(len(values), explain.MAX_SHOWN) for values in outputs]
    shown = [np.asarray(values[:n], dtype=np.float32) for values, n in zip(outputs, sizes)]
    cells = pd.DataFrame(
        {  # one row a square: its layer, index, brightness and output
            "l": np.repeat(np.arange(len(shown), dtype=np.int16), sizes),
            "i": np.concatenate([np.arange(n, dtype=np.int16) for n in sizes]),
            "a": np.concatenate([np.round(np.maximum(v, 0) / (float(np.abs(v).max()) or 1.0), 2) for v in shown]),
            "v": np.concatenate([np.round(v.astype(np.float64), 2) for v in shown]),
        }
    )  # (float32's 3.98 reads 3.9800000190734863)
    lefts, columns, sides = ([round(place[k], 5) for place in places] for k in range(3))
    fills = [1.0] + [0.85] * last  # pixels touch, as in the picture; neurons stand apart
    where = [
        {"calculate": "datum.i %% %s[datum.l]" % columns, "as": "c"},
        {"calculate": "floor(datum.i / %s[datum.l])" % columns, "as": "r"},
        {"calculate": "%s[datum.l] + datum.c * %s[datum.l]" % (lefts, sides), "as": "x"},
        {"calculate": "datum.x + %s[datum.l] * %s[datum.l]" % (sides, fills), "as": "x2"},
        {"calculate": "datum.r * %s[datum.l]" % sides, "as": "y"},
        {"calculate": "datum.y + %s[datum.l] * %s[datum.l]" % (sides, fills), "as": "y2"},
        {
            "calculate": "%s[datum.l] + ', ' + %s[datum.l] + ' ' + (datum.l == %d ? datum.i : datum.i + 1)"
            % ([layer_name(l, last) for l in range(last + 1)], ["pixel"] + ["neuron"] * (last - 1) + ["digit"], last),
            "as": "name",
        },
    ]
    strongest = {}
    for layer, _, _, value in links:
        strongest[layer] = max(strongest.get(layer, 0.0), value)
    lines = []
    for layer, i, j, value in links:
        if i >= explain.MAX_SHOWN or j >= explain.MAX_SHOWN:
            continue
        (x, y), (x2, y2) = centre(places, layer - 1, i), centre(places, layer, j)
        lines.append(
            {"x": round(x, 4), "y": round(y, 4), "x2": round(x2, 4), "y2": round(y2, 4), "w": round(value / strongest[layer], 3)}
        )
    left, _, cell = places[last]
    labels = [
        {"x": left + cell * 1.25, "y": (d + 0.5) * cell, "t": "%d  %.0f%%" % (d, 100 * outputs[-1][d]), "answer": d == answer}
        for d in range(N_CLASSES)
    ]
    width = left + cell + ANSWERS_WIDTH
    x = {"field": "x", "type": "quantitative", "scale": {"domain": [0, width]}, "axis": None}
    y = {"field": "y", "type": "quantitative", "scale": {"domain": [0, 1], "reverse": True}, "axis": None}
    return {
        "width": "container",
        "height": HEIGHT,
        "padding": 0,
        "autosize": {"type": "none"},
        "datasets": {
            "cells": cells,
            "lines": pd.DataFrame(lines, columns=["x", "y", "x2", "y2", "w"]),
            "labels": pd.DataFrame(labels),
        },
        "config": {"view": {"stroke": None}},
        "layer": [
            squares_layer("cells", where, x, y),
            pushes_layer("lines", x, y, widths=[0.3, 2.5], opacities=[0.2, 0.75]),
            {
                "data": {"name": "labels"},
                "mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": 11},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "t"},
                    "fontWeight": {"condition": {"test": "datum.answer", "value": "bold"}, "value": "normal"},
                },
            },
        ],
    }


# The compact view: the most active neurons of each hidden layer, in a chart of fixed size that
# fits a phone (and the answer's column on a wide screen), every square drawn square: the input and
# the hidden layers in a row, the ten answers in a row under them.
COMPACT_WIDTH = 340  # pixels of the layout: a 390-pixel-wide phone's page, less its margins; drawn smaller in a narrower column
COMPACT_GAP = 0.3  # between two layers, as a share of a layer's side
ANSWER_CELL = COMPACT_WIDTH / N_CLASSES  # pixels of an answer's place in its row
ANSWERS_TOP = 26  # pixels between the layers and the answers
MIN_SQUARE = 11  # pixels of a neuron's place in its grid (its square, 85% of it, stays at 9 or more)
WIDE_ONLY = """<style>
/* Streamlit stacks columns under 640 pixels: there the compact view follows the answer, and the
   view of every neuron, which needs a wide screen, is left out; above, the compact view fills the
   space under the canvas. */
@media (max-width: 640px) { .st-key-network_every, .st-key-network_wide { display: none; } }
@media (min-width: 641px) { .st-key-network_narrow { display: none; } }
</style>"""


def compact_layout(outputs):
    """``(side, per_row, height)``: a layer's side in pixels, the neurons in a row of a hidden
    layer's grid, and the chart's height, for the compact view of a network with these layers."""
    hidden = len(outputs) - 2
    side = COMPACT_WIDTH / (hidden + 1 + hidden * COMPACT_GAP)
    per_row = int(max(2, min(8, side // MIN_SQUARE)))
    return side, per_row, side + ANSWERS_TOP + ANSWER_CELL * 0.85 + 30


def picture_url(pixels):
    """The 28x28 input as a PNG (a data: address), in the view's colours: dark where there is no
    ink, yellow where it is full."""
    ink = np.clip(np.asarray(pixels, dtype=np.float32).reshape(28, 28), 0, 1)[..., None]
    off, on = (np.array([int(c[k : k + 2], 16) for k in (1, 3, 5)], np.float32) for c in (OFF, ON))
    buffer = io.BytesIO()
    Image.fromarray((off + ink * (on - off)).astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def most_active(values, n):
    """The ``n`` neurons of a layer that output most for this digit, most active first."""
    return np.argsort(-np.asarray(values), kind="stable")[:n]


def compact_spec(outputs, links, answer):
    """The compact network view as a Vega-Lite spec: the input, the most active neurons of each
    hidden layer (most active first, in a small square grid), the answers in a row with their
    probabilities under them, and the strongest pushes between the squares shown. Squares carry
    the layer and the neuron's index, as in the full view, so that a tap shows the neuron. Pixels
    throughout."""
    side, per_row, height = compact_layout(outputs)
    last = len(outputs) - 1
    rows, where, sizes = [], {}, [0.0] * (last + 1)  # sizes: a square's side in each layer
    for p in range(28 * 28):  # the input is sent as one picture; its pixels' centres are for the lines
        r, c = divmod(p, 28)
        where[0, p] = (round((c + 0.5) * side / 28, 2), round((r + 0.5) * side / 28, 2))
    for layer, values in enumerate(outputs[1:], 1):
        values = np.asarray(values, dtype=np.float64)
        if layer == last:
            order, columns, fill, cell = np.arange(N_CLASSES), N_CLASSES, 0.85, ANSWER_CELL
        else:
            order, columns, fill, cell = most_active(values, per_row * per_row), per_row, 0.85, side / per_row
        left, top = (0.0, side + ANSWERS_TOP) if layer == last else (layer * side * (1 + COMPACT_GAP), 0.0)
        brightest = float(np.abs(values).max()) or 1.0
        for p, i in enumerate(order):
            r, c = divmod(p, columns)
            x, y = left + c * cell, top + r * cell
            where[layer, int(i)] = (round(x + cell * fill / 2, 1), round(y + cell * fill / 2, 1))
            rows.append(
                {
                    "l": layer,
                    "i": int(i),
                    "x": round(x, 1),
                    "y": round(y, 1),
                    "a": round(max(float(values[i]), 0.0) / brightest, 2),
                    "v": round(float(values[i]), 2),
                }
            )
        sizes[layer] = round(cell * fill, 2)
    lines = [
        {"x": where[layer - 1, i][0], "y": where[layer - 1, i][1], "x2": where[layer, j][0], "y2": where[layer, j][1], "w": value}
        for layer, i, j, value in links
        if (layer - 1, i) in where and (layer, j) in where
    ]
    strongest = max([line["w"] for line in lines], default=1.0)
    for line in lines:
        line["w"] = round(line["w"] / strongest, 2)
    under = side + ANSWERS_TOP + ANSWER_CELL * 0.85 + 4
    labels = [
        {"x": where[last, d][0], "y": under, "t": ["%d" % d, "%.0f%%" % (100 * outputs[-1][d])], "answer": d == answer}
        for d in range(N_CLASSES)
    ]
    # Drawn at the layout's size, or smaller in a narrower column (a laptop's split screen): both
    # axes shrink together, so that squares stay square and nothing is cut.
    shrink = "min(width, %d) / %d" % (COMPACT_WIDTH, COMPACT_WIDTH)
    x = {
        "field": "x",
        "type": "quantitative",
        "scale": {"domain": [0, COMPACT_WIDTH], "range": [0, {"expr": shrink + " * %d" % COMPACT_WIDTH}]},
        "axis": None,
    }
    y = {
        "field": "y",
        "type": "quantitative",
        "scale": {"domain": [0, height], "range": [0, {"expr": shrink + " * %.2f" % height}]},
        "axis": None,
    }
    return {
        "width": "container",
        "height": round(height),
        "padding": 0,
        "autosize": {"type": "none"},
        "config": {"view": {"stroke": None}},
        # Tables in Arrow (named datasets), as the full view's: a few KB a stroke
        "datasets": {
            "squares": pd.DataFrame(rows, columns=["l", "i", "x", "y", "a", "v"]).astype(
                {"l": np.int16, "i": np.int32, "x": np.float32, "y": np.float32, "a": np.float32, "v": np.float64}
            ),
            "pushes": pd.DataFrame(lines, columns=["x", "y", "x2", "y2", "w"]).astype(np.float32),
        },
        "layer": [
            {
                "data": {"values": [{"x": 0, "y": 0, "url": picture_url(outputs[0])}]},
                "mark": {
                    "type": "image",
                    "width": {"expr": "%s * %.2f" % (shrink, side)},
                    "height": {"expr": "%s * %.2f" % (shrink, side)},
                    "align": "left",
                    "baseline": "top",
                    "smooth": False,
                    "aspect": False,
                },
                "encoding": {"x": x, "y": y, "url": {"field": "url", "type": "nominal"}},
            },
            squares_layer(
                "squares",
                [  # (worked out in the browser: fewer bytes a stroke)
                    {"calculate": "datum.x + %s[datum.l]" % sizes, "as": "x2"},
                    {"calculate": "datum.y + %s[datum.l]" % sizes, "as": "y2"},
                    {
                        "calculate": "datum.l == %d ? 'the answers, digit ' + datum.i : 'hidden layer ' + datum.l + ', neuron ' + (datum.i + 1)"
                        % last,
                        "as": "name",
                    },
                ],
                x,
                y,
            ),
            pushes_layer("pushes", x, y, widths=[0.5, 2.5], opacities=[0.3, 0.8]),
            {
                "data": {"values": labels},
                "mark": {"type": "text", "align": "center", "baseline": "top", "fontSize": 11, "lineHeight": 13},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "t"},
                    "fontWeight": {"condition": {"test": "datum.answer", "value": "bold"}, "value": "normal"},
                },
            },
        ],
    }


def chosen_square(event, outputs):
    """The ``(layer, index)`` of the square last clicked in a view, or None."""
    chosen = (event.selection.get("neuron") or [{}])[0] if event is not None else {}
    layer, i = chosen.get("l"), chosen.get("i")
    if layer is None or not 0 <= layer < len(outputs) or not 0 <= i < len(outputs[layer]):
        return None
    return int(layer), int(i)


def compact_view(model, prediction, path, where):
    """The most active neurons of each layer, and what a tapped square does; ``path`` is
    ``explain.network_path``'s for this digit. The page draws it twice: under the canvas
    (``where`` "wide": shown on wide screens, in the space the canvas leaves) and under the
    answer ("narrow": shown on phones, where the columns stack and the answer must follow the
    canvas); CSS shows one."""
    with st.container(key="network_%s" % where):
        compact_chart(model, prediction, path, where)


def compact_chart(model, prediction, path, where):
    outputs, links = path
    _, per_row, _ = compact_layout(outputs)
    words = explain.network_in_words(outputs)
    st.markdown(
        "**Your digit through the network**: its %d most active neurons in each layer, brightest first; in red, the "
        "strongest pushes to %d." % (per_row * per_row, prediction.digit)
    )
    event = st.vega_lite_chart(
        compact_spec(outputs, links, prediction.digit),
        on_select="rerun",
        selection_mode="neuron",
        key="network_compact_" + where,
        width="stretch",
        alt="The network view, most active neurons. " + words,
    )
    st.caption(words + " Tap or click a square to see what it does.")
    square = chosen_square(event, outputs)
    if square is not None:
        neuron_detail(model, outputs, *square)


def network_view(model, prediction, path=None):
    """The view of every neuron (on a wide screen), and what the clicked square does."""
    outputs, links = path or explain.network_path(model, prediction.image, prediction.digit)
    with st.container(key="network_every"):
        names = (
            ["the input (28x28)"]
            + ["hidden layer %d (%d neurons)" % (l, len(o)) for l, o in enumerate(outputs[1:-1], 1)]
            + ["the answers"]
        )
        st.markdown(
            "**Every neuron**: %s. Brighter squares output more for this digit; the red lines are the strongest "
            "pushes (weight x output) that led to the answer %d." % (", then ".join(names), prediction.digit)
        )
        words = explain.network_in_words(outputs)
        event = st.vega_lite_chart(
            spec(outputs, links, prediction.digit),
            width="stretch",
            on_select="rerun",
            selection_mode="neuron",
            key="network_view",
            alt="The network view, every neuron. " + words,
        )
        square = chosen_square(event, outputs)
        if square is None:
            wide = any(len(layer) > explain.MAX_SHOWN for layer in outputs[1:-1])
            st.caption(
                "Click a square to see what it does."
                + (" A layer wider than %d neurons shows its first %d." % (explain.MAX_SHOWN, explain.MAX_SHOWN) if wide else "")
            )
            return
        neuron_detail(model, outputs, *square)


def neuron_detail(model, outputs, layer, i):
    last = len(outputs) - 1
    value = float(outputs[layer][i])
    if layer == 0:
        st.markdown("**Pixel %d** (row %d, column %d of the 28x28 input): ink %.2f." % (i + 1, i // 28 + 1, i % 28 + 1, value))
        return
    if layer == last:
        st.markdown("**Digit %d**: the network gives it %.1f%%." % (i, 100 * value))
        return
    left, right = st.columns([1, 2])
    weights = np.asarray(model.params["W%d" % layer][i], dtype=np.float32)
    before = "pixel" if layer == 1 else "neuron of hidden layer %d" % (layer - 1)
    if layer == 1:
        picture = explain.diverging(weights.reshape(28, 28))
    else:
        columns = explain.grid_columns(len(weights))
        padded = np.zeros(columns * int(np.ceil(len(weights) / columns)), np.float32)
        padded[: len(weights)] = weights
        picture = explain.diverging(padded.reshape(-1, columns))
    left.image(
        Image.fromarray(picture).resize((140, 140), Image.NEAREST),
        caption="its weights, laid out as %s" % ("the input" if layer == 1 else "hidden layer %d above" % (layer - 1)),
        alt="The weights of neuron %d of hidden layer %d: red where a %s that is on makes it fire, blue where it holds "
        "it back" % (i + 1, layer, before),
    )
    pushes = np.asarray(model.params["W%d" % (layer + 1)])[:, i] * value
    headline, further = explain.neuron_reading(outputs[layer], i, layer, pushes, into_answers=layer + 1 == last)
    with right:
        st.markdown(headline)
        st.caption("Red: a %s that is on makes it fire; blue: holds it back." % before)
        st.markdown(further)


def squares_layer(dataset, transform, x, y):
    """The layer of neuron squares both network views draw: coloured by how much each fires for
    the digit, ringed when clicked (a click picks the neuron shown below), its output in the tooltip."""
    return {
        "data": {"name": dataset},
        "transform": transform,
        "mark": {"type": "rect", "cursor": "pointer"},
        "params": [{"name": "neuron", "select": {"type": "point", "fields": ["l", "i"], "on": "click", "clear": False}}],
        "encoding": {
            "x": x,
            "y": y,
            "x2": {"field": "x2"},
            "y2": {"field": "y2"},
            "color": {
                "field": "a",
                "type": "quantitative",
                "scale": {"domain": [0, 1], "range": [OFF, ON], "interpolate": "rgb"},
                "legend": None,
            },
            "stroke": {"condition": {"param": "neuron", "empty": False, "value": PUSH}, "value": None},
            "strokeWidth": {"value": 2},
            "tooltip": [{"field": "name", "title": "where"}, {"field": "v", "title": "output", "format": ".2f"}],
        },
    }


def pushes_layer(dataset, x, y, widths, opacities):
    """The layer of red lines both views draw for the strongest pushes: thicker and darker as the
    push is stronger (``widths`` and ``opacities`` from the weakest shown to the strongest)."""
    strength = {"field": "w", "type": "quantitative", "legend": None}
    return {
        "data": {"name": dataset},
        "mark": {"type": "rule", "color": PUSH},
        "encoding": {
            "x": x,
            "y": y,
            "x2": {"field": "x2"},
            "y2": {"field": "y2"},
            "strokeWidth": {**strength, "scale": {"domain": [0, 1], "range": widths}},
            "opacity": {**strength, "scale": {"domain": [0, 1], "range": opacities}},
        },
    }
