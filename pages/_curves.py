"""The Train page's charts (not a page): every run of the session overlaid, one colour a run.

They are redrawn every second while a run trains, for every visitor training, so they are
written as Vega-Lite specifications directly: building them through Altair took about 70 ms of
the server's CPU each time, and this takes a few."""

import math

from nn_core.report import COLUMNS
from pages._shared import field

# Ten clearly different colours (Tableau 10); a run keeps its colour when others are hidden.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
SMOOTHED = "training cost, each mini-batch (smoothed)"


def colour(runs, job):
    return PALETTE[runs.index(job) % len(PALETTE)]


def overlay(runs, shown, live=None):
    """Two Vega-Lite charts (cost, accuracy) of the ``shown`` runs (``runs`` fixes their colours):
    solid lines for training, dashed for validation, a thin line for the smoothed mini-batch cost
    of the ``live`` run, and a dotted rule where a run's rate or lamda was changed."""
    color = field("run", "nominal", scale={"domain": [job.label for job in shown], "range": [colour(runs, job) for job in shown]})
    changes = [{"run": job.label, "epoch": float(c["epoch"]), "change": "%s %g → %g" % (c["setting"], c["old"], c["new"])}
               for job in shown for c in job.changes]
    charts = []
    for what, keys in (("cost", ["train_cost", "val_cost"]), ("accuracy", ["train_acc", "val_acc"])):
        names = [COLUMNS[key] for key in keys]
        points = [{"run": job.label, "epoch": int(r.epoch), "curve": COLUMNS[key], what: float(getattr(r, key))}
                  for job in shown for key in keys for r in job.history
                  if getattr(r, key) is not None and math.isfinite(getattr(r, key))]
        layers = [{
            "data": {"values": points},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": field("epoch", axis={"tickMinStep": 1}, scale={"domainMin": 0}),
                "y": field(what, scale={"zero": False}),
                "color": {**color, "legend": {"orient": "bottom", "title": "run"}},
                "strokeDash": field("curve", "nominal", sort=names, legend={"orient": "bottom", "title": None}),
                "tooltip": [field("run", "nominal"), field("curve", "nominal"), field("epoch"), field(what, format=".4f")],
            },
        }]
        if what == "cost" and live is not None and live in shown and live.batch_costs:
            layers.append({
                "data": {"values": [{"run": live.label, "curve": SMOOTHED, "epoch": float(e), "cost": float(c)}
                                    for e, c in live.batch_costs]},
                "mark": {"type": "line", "strokeWidth": 1, "opacity": 0.7},
                "encoding": {"x": field("epoch"), "y": field("cost"), "color": color,
                             "tooltip": [field("run", "nominal"), field("epoch", format=".2f"), field("cost", format=".4f")]},
            })
        if changes:
            layers.append({
                "data": {"values": changes},
                "mark": {"type": "rule", "strokeDash": [2, 3]},
                "encoding": {"x": field("epoch"), "color": color,
                             "tooltip": [field("run", "nominal"), field("change", "nominal"), field("epoch", format=".2f")]},
            })
            layers.append({
                "data": {"values": changes},
                "mark": {"type": "text", "align": "left", "dx": 3, "dy": -4, "baseline": "bottom", "fontSize": 11},
                "encoding": {"x": field("epoch"), "y": {"value": 12}, "text": field("change", "nominal"), "color": color},
            })
        charts.append({"height": 280, "layer": layers})
    return charts
