"""Your digit through the network (not a page): the 28x28 input, each hidden layer as a grid of
its neurons lit by what they output for this digit, the ten answers, and the strongest pushes
(weight x activation) that led to the answer as lines between them. A click on a neuron shows its
weights and what it does for this digit. Drawn on the Draw page with every stroke, for any saved
model and for the network training now."""

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from nn_core import explain
from nn_core.network import N_CLASSES

GAP = 0.45  # the space between two layers, as a share of a layer's width
ANSWERS_WIDTH = 0.5
HEIGHT = 230  # pixels; the layers are squares as wide as the page allows
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
    cells = pd.DataFrame({  # one row a square: its layer, index, brightness and output
        "l": np.repeat(np.arange(len(shown), dtype=np.int16), sizes),
        "i": np.concatenate([np.arange(n, dtype=np.int16) for n in sizes]),
        "a": np.concatenate([np.round(np.maximum(v, 0) / (float(np.abs(v).max()) or 1.0), 2) for v in shown]),
        "v": np.concatenate([np.round(v.astype(np.float64), 2) for v in shown])})  # (float32's 3.98 reads 3.9800000190734863)
    lefts, columns, sides = ([round(place[k], 5) for place in places] for k in range(3))
    fills = [1.0] + [0.85] * last  # pixels touch, as in the picture; neurons stand apart
    where = [
        {"calculate": "datum.i %% %s[datum.l]" % columns, "as": "c"},
        {"calculate": "floor(datum.i / %s[datum.l])" % columns, "as": "r"},
        {"calculate": "%s[datum.l] + datum.c * %s[datum.l]" % (lefts, sides), "as": "x"},
        {"calculate": "datum.x + %s[datum.l] * %s[datum.l]" % (sides, fills), "as": "x2"},
        {"calculate": "datum.r * %s[datum.l]" % sides, "as": "y"},
        {"calculate": "datum.y + %s[datum.l] * %s[datum.l]" % (sides, fills), "as": "y2"},
        {"calculate": "%s[datum.l] + ', ' + %s[datum.l] + ' ' + (datum.l == %d ? datum.i : datum.i + 1)"
         % ([layer_name(l, last) for l in range(last + 1)], ["pixel"] + ["neuron"] * (last - 1) + ["digit"], last), "as": "name"},
    ]
    strongest = {}
    for layer, _, _, value in links:
        strongest[layer] = max(strongest.get(layer, 0.0), value)
    lines = []
    for layer, i, j, value in links:
        if i >= explain.MAX_SHOWN or j >= explain.MAX_SHOWN:
            continue
        (x, y), (x2, y2) = centre(places, layer - 1, i), centre(places, layer, j)
        lines.append({"x": round(x, 4), "y": round(y, 4), "x2": round(x2, 4), "y2": round(y2, 4),
                      "w": round(value / strongest[layer], 3)})
    left, _, cell = places[last]
    labels = [{"x": left + cell * 1.25, "y": (d + 0.5) * cell, "t": "%d  %.0f%%" % (d, 100 * outputs[-1][d]),
               "answer": d == answer} for d in range(N_CLASSES)]
    width = left + cell + ANSWERS_WIDTH
    x = {"field": "x", "type": "quantitative", "scale": {"domain": [0, width]}, "axis": None}
    y = {"field": "y", "type": "quantitative", "scale": {"domain": [0, 1], "reverse": True}, "axis": None}
    return {
        "width": "container", "height": HEIGHT, "padding": 0, "autosize": {"type": "none"},
        "datasets": {"cells": cells, "lines": pd.DataFrame(lines, columns=["x", "y", "x2", "y2", "w"]),
                     "labels": pd.DataFrame(labels)},
        "config": {"view": {"stroke": None}},
        "layer": [
            {"data": {"name": "cells"}, "transform": where, "mark": {"type": "rect", "cursor": "pointer"},
             "params": [{"name": "neuron", "select": {"type": "point", "fields": ["l", "i"], "on": "click", "clear": False}}],
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                          "color": {"field": "a", "type": "quantitative", "scale": {"domain": [0, 1], "range": [OFF, ON], "interpolate": "rgb"}, "legend": None},
                          "stroke": {"condition": {"param": "neuron", "empty": False, "value": "#e4572e"}, "value": None},
                          "strokeWidth": {"value": 2},
                          "tooltip": [{"field": "name", "title": "where"}, {"field": "v", "title": "output", "format": ".2f"}]}},
            {"data": {"name": "lines"}, "mark": {"type": "rule", "color": "#e4572e"},
             "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                          "strokeWidth": {"field": "w", "type": "quantitative", "scale": {"domain": [0, 1], "range": [0.3, 2.5]}, "legend": None},
                          "opacity": {"field": "w", "type": "quantitative", "scale": {"domain": [0, 1], "range": [0.2, 0.75]}, "legend": None}}},
            {"data": {"name": "labels"}, "mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": 11},
             "encoding": {"x": x, "y": y, "text": {"field": "t"},
                          "fontWeight": {"condition": {"test": "datum.answer", "value": "bold"}, "value": "normal"}}},
        ],
    }


def network_view(model, prediction):
    """The view, and what the clicked square does."""
    outputs, links = explain.network_path(model, prediction.image, prediction.digit)
    names = ["the input (28x28)"] + ["hidden layer %d (%d neurons)" % (l, len(o)) for l, o in enumerate(outputs[1:-1], 1)] + ["the answers"]
    st.markdown("**Your digit through the network**: %s. Brighter squares output more for this digit; the red lines "
                "are the strongest pushes (weight x output) that led to the answer %d." % (", then ".join(names), prediction.digit))
    words = explain.network_in_words(outputs)
    event = st.vega_lite_chart(spec(outputs, links, prediction.digit), width="stretch", on_select="rerun",
                               selection_mode="neuron", key="network_view", alt="The network view, layer by layer. " + words)
    st.caption(words)  # what the picture shows, in words too
    chosen = (event.selection.get("neuron") or [{}])[0] if event is not None else {}
    layer, i = chosen.get("l"), chosen.get("i")
    if layer is None or not 0 <= layer < len(outputs) or not 0 <= i < len(outputs[layer]):
        st.caption("Click a square to see what it does. Wider than %d neurons, a layer shows its first %d."
                   % (explain.MAX_SHOWN, explain.MAX_SHOWN))
        return
    neuron_detail(model, outputs, int(layer), int(i))


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
    left.image(Image.fromarray(picture).resize((140, 140), Image.NEAREST), caption="its weights, laid out as %s"
               % ("the input" if layer == 1 else "hidden layer %d above" % (layer - 1)),
               alt="The weights of neuron %d of hidden layer %d: red where a %s that is on makes it fire, blue where it holds "
                   "it back" % (i + 1, layer, before))
    pushes = np.asarray(model.params["W%d" % (layer + 1)])[:, i] * value
    headline, further = explain.neuron_reading(outputs[layer], i, layer, pushes, into_answers=layer + 1 == last)
    with right:
        st.markdown(headline)
        st.caption("Red: a %s that is on makes it fire; blue: holds it back." % before)
        st.markdown(further)
