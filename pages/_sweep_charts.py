"""A sweep's landscape (not a page): one setting, accuracy and cost against its values; two, a
heatmap of accuracy. Vega-Lite specifications written directly, like pages/_curves.py: the
landscape is drawn again every second while a sweep runs. Also what the rate finder's and the
class's charts share with it: names of settings, values as text, the click.

Each clickable chart has a point selection named ``PICK`` over the field ``index``: Streamlit
gives the page the indexes clicked (``picked``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pages._charts import field

PICK = "pick"
# Each setting a chart or a picker names, in a few words (short enough for a select box on a phone).
NAMES = {
    "rate": "rate (learning rate)",
    "lamda": "lamda (L2 regularisation)",
    "layers": "hidden layers",
    "width": "neurons in the widest hidden layer",
    "mini_batch": "mini_batch (images per step)",
    "activation": "activation",
    "optimizer": "optimizer",
    "dropout": "dropout",
    "n_train": "training images",
    "epochs": "epochs",
    "schedule": "learning-rate schedule",
}
HEIGHT = 320
BEST = "#d62728"  # the best run's mark: a red the heatmap's colours (viridis) never use
SHOWN = "#222222"  # the mark of a run clicked, whose curves are shown: dashed, so that it reads apart from the best's
PENDING = "#cfcfcf"  # a cell or value whose run has not finished


def value_text(value: Any) -> str:
    """A setting's value as a label: "0.001", "128", "relu"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "%g" % value
    return "full batch" if value is None else str(value)


def percent(value: float | None) -> str:
    return "" if value is None else "%.1f%%" % (100 * value)


def picked(state: Any) -> list[int]:
    """The ``index`` of every point or cell clicked, from a chart's selection state (what
    ``st.vega_lite_chart(..., on_select=...)`` keeps under its key); [] for none."""
    try:
        points = state["selection"][PICK]
    except (KeyError, TypeError):
        return []
    if isinstance(points, dict):  # (a selection given as {field: [values]})
        points = [{"index": i} for i in points.get("index", [])]
    out = []
    for point in points or []:
        try:
            out.append(int(point["index"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def decades(values: list) -> list[float]:
    """Tick marks for a log axis over ``values``: every power of ten from below the smallest to
    above the largest (Vega's own ticks fell on 0.0009 and 0.008)."""
    positive = [v for v in values if finite(v) and v > 0]
    if not positive:
        return []
    low, high = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    return [float("1e%d" % e) for e in range(low, high + 1)]


def selection() -> dict:
    return {"name": PICK, "select": {"type": "point", "fields": ["index"], "on": "click", "clear": "dblclick"}}


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _status_word(row: dict) -> str:
    return row.get("status") or "waiting"


def landscape_1d(rows: list[dict], setting: str, best: int | None, log: bool, numeric: bool, shown: Sequence[int] = ()) -> dict:
    """One setting: validation accuracy (solid, left axis) and validation cost (dashed, right
    axis) against its values, on a log axis when ``log``; the best run ringed in red and labelled,
    the runs ``shown`` (clicked: their curves are below) ringed in a dashed dark grey; a grey dashed
    rule where a run has not finished. ``numeric``: the values are numbers (else choices, one
    column each)."""
    tried = [r[setting] for r in rows if finite(r[setting])]
    x = (
        field(
            setting,
            scale={"type": "log"} if log else {"zero": False},
            axis={"values": tried, "labelExpr": "format(datum.value, '~g')", "grid": False},
        )
        if numeric
        else field("label", "ordinal", sort=[value_text(r[setting]) for r in rows], title=setting, axis={"labelAngle": 0})
    )
    done = [dict(r, label=value_text(r[setting])) for r in rows if finite(r.get("val_acc"))]
    waiting = [dict(r, label=value_text(r[setting]), state=_status_word(r)) for r in rows if not finite(r.get("val_acc"))]
    tooltip = [field("label", "nominal", title=setting), field("val_acc", format=".2%", title="validation accuracy")]
    tooltip += [field("val_cost", format=".4f", title="validation cost"), field("test_acc", format=".2%", title="test accuracy")]
    accuracy = {
        "data": {"values": done},
        "mark": {"type": "line", "point": {"size": 90, "filled": True}, "color": "#4e79a7"},
        "params": [selection()],
        "encoding": {
            "x": x,
            "y": field(
                "val_acc",
                scale={"zero": False, "padding": 24},  # (room above the best run's label)
                axis={"format": "%", "titleColor": "#4e79a7"},
                title="validation accuracy",
            ),
            "tooltip": tooltip,
        },
    }
    cost = {
        "data": {"values": [r for r in done if finite(r.get("val_cost"))]},
        "mark": {
            "type": "line",
            "strokeDash": [5, 4],
            "point": {"shape": "square", "size": 50, "color": "#f28e2b"},
            "color": "#f28e2b",
        },
        "encoding": {
            "x": x,
            "y": field(
                "val_cost",
                scale={"zero": False},
                axis={"orient": "right", "titleColor": "#f28e2b"},
                title="validation cost (dashed)",
            ),
            "tooltip": tooltip,
        },
    }
    # The best run's ring and label share the accuracy's axis (one layer of layers: one y scale).
    on_accuracy: list[dict] = [accuracy]
    best_rows = [dict(r, mark="best: %s" % percent(r["val_acc"])) for r in done if r["index"] == best]
    if best_rows:
        on_accuracy.append(
            {
                "data": {"values": best_rows},
                "mark": {"type": "point", "size": 450, "strokeWidth": 3, "color": BEST},
                "encoding": {"x": x, "y": field("val_acc")},
            }
        )
        on_accuracy.append(
            {
                "data": {"values": best_rows},
                "mark": {"type": "text", "dy": -22, "fontWeight": "bold", "color": BEST, "fontSize": 13},
                "encoding": {"x": x, "y": field("val_acc"), "text": field("mark", "nominal")},
            }
        )
    shown_rows = [r for r in done if r["index"] in shown and r["index"] != best]
    if shown_rows:
        on_accuracy.append(
            {
                "data": {"values": shown_rows},
                "mark": {"type": "point", "size": 450, "strokeWidth": 2.5, "strokeDash": [4, 3], "color": SHOWN},
                "encoding": {"x": x, "y": field("val_acc")},
            }
        )
    layers: list[dict] = [{"layer": on_accuracy}, cost]
    if waiting:
        layers.append(
            {
                "data": {"values": waiting},
                "mark": {"type": "rule", "strokeDash": [3, 3], "color": "#999999"},
                "encoding": {
                    "x": x,
                    "tooltip": [field("label", "nominal", title=setting), field("state", "nominal", title="run")],
                },
            }
        )
    return {"height": HEIGHT, "layer": layers, "resolve": {"scale": {"y": "independent"}}}


def landscape_2d(rows: list[dict], settings: list[str], best: int | None, shown: Sequence[int] = ()) -> dict:
    """Two settings: a heatmap of validation accuracy, the first setting's values as rows and
    the second's as columns, the accuracy written in each cell ("waiting", "training" until its
    run ends), the best cell outlined in red with a star, the cells ``shown`` (clicked: their
    curves are below) dashed dark grey and white."""
    first, second = settings
    finished = [r["val_acc"] for r in rows if finite(r.get("val_acc"))]
    low, high = (min(finished), max(finished)) if finished else (0.0, 1.0)
    if high - low < 1e-6:
        low, high = low - 0.005, high + 0.005
    middle = (low + high) / 2
    cells = []
    for r in rows:
        ok = finite(r.get("val_acc"))
        cells.append(
            {
                "index": r["index"],
                "row": value_text(r[first]),
                "column": value_text(r[second]),
                "val_acc": r["val_acc"] if ok else None,
                "val_cost": r.get("val_cost") if finite(r.get("val_cost")) else None,
                "test_acc": r.get("test_acc") if finite(r.get("test_acc")) else None,
                "text": (percent(r["val_acc"]) + (" ★" if r["index"] == best else "")) if ok else _status_word(r),
                "dark": ok and r["val_acc"] < middle,
                "best": r["index"] == best,
                "shown": r["index"] in shown and r["index"] != best,
            }
        )
    order_rows = list(dict.fromkeys(value_text(r[first]) for r in rows))
    order_columns = list(dict.fromkeys(value_text(r[second]) for r in rows))
    x = field("column", "ordinal", sort=order_columns, title=second, axis={"labelAngle": 0, "orient": "top"})
    y = field("row", "ordinal", sort=order_rows, title=first)
    tooltip = [
        field("row", "nominal", title=first),
        field("column", "nominal", title=second),
        field("val_acc", format=".2%", title="validation accuracy"),
        field("val_cost", format=".4f", title="validation cost"),
        field("test_acc", format=".2%", title="test accuracy"),
    ]
    return {
        "height": max(120, 70 * len(order_rows)),
        "data": {"values": cells},
        "encoding": {"x": x, "y": y},
        "layer": [
            {  # (``invalid``: a cell whose run has not finished is drawn, grey, not left out)
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2, "invalid": None},
                "params": [selection()],
                "encoding": {
                    "color": {
                        "condition": {"test": "datum.val_acc == null", "value": PENDING},
                        **field(
                            "val_acc",
                            scale={"scheme": "viridis", "domain": [low, high]},
                            legend={"format": ".1%", "title": "validation accuracy"},
                        ),
                    },
                    "tooltip": tooltip,
                },
            },
            {
                "transform": [{"filter": "datum.best"}],
                "mark": {"type": "rect", "fill": None, "stroke": BEST, "strokeWidth": 4},
            },
            {  # white under the dashes: dark and white by turns reads on dark cells and light ones
                "transform": [{"filter": "datum.shown"}],
                "mark": {"type": "rect", "fill": None, "stroke": "white", "strokeWidth": 4},
            },
            {
                "transform": [{"filter": "datum.shown"}],
                "mark": {"type": "rect", "fill": None, "stroke": SHOWN, "strokeWidth": 4, "strokeDash": [8, 4]},
            },
            {
                # (no tooltip: a mark without one lets a click through to the cell under it)
                "mark": {"type": "text", "fontSize": 15, "fontWeight": "bold"},
                "encoding": {
                    "text": field("text", "nominal"),
                    "color": {"condition": {"test": "datum.dark", "value": "white"}, "value": "black"},
                },
            },
        ],
    }
