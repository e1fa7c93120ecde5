"""The Train page's charts (not a page): every run of the session overlaid, one colour a run.

They are redrawn every second while a run trains, for every visitor training, so they are
written as Vega-Lite specifications directly: building them through Altair took about 70 ms of
the server's CPU each time, and this takes a few."""

import math

from nn_core.report import COLUMNS
from pages._charts import field

# Ten clearly different colours (Tableau 10); a run keeps its colour when others are hidden.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
# The thin line is the mean cost of the epoch's mini-batches so far: it ends on the epoch's point,
# which is the same mean over all of them, so the two never seem to disagree.
SMOOTHED = "training cost, the epoch's mini-batches so far"
# Labels never cut; in rows of three at most, so that the runs' names stay whole on a phone's
# narrow chart (in one row they ran past its edge: "run 5" was cut to "ru").
LEGEND = {"orient": "bottom", "labelLimit": 0, "columns": 3}
# Which line is which curve is said in words under the charts (``CURVES``): a legend drew the
# solid and the dashed line with the same dot, and beside the runs' legend it was cut off.
LINES = "Solid lines: training; dashed: validation (images held out)."
CURVES = LINES + " The thin line: the training cost of the epoch's mini-batches so far."  # where a run trains live
EDGE = 6  # pixels of room beyond the epoch axis's ends, for the points drawn there
CHART_HEIGHT = 280  # the plot's; given to st.vega_lite_chart with room for the legend, else the legend squeezes the plot


def colour(runs, job):
    return PALETTE[runs.index(job) % len(PALETTE)]


def log_scale_helps(runs):
    """Whether the runs' costs (where each has got to) differ by more than ten times: on a linear
    axis the smaller would be drawn flat."""
    costs = [run.history[-1].train_cost for run in runs if run.history]
    costs = [c for c in costs if c is not None and math.isfinite(c) and c > 0]
    return len(costs) > 1 and max(costs) > 10 * min(costs)


CHANGE_ROWS = 6  # change labels are stacked one per row (then the rows start again at the top)
ROW_HEIGHT = 14  # pixels between two stacked labels


def changes_of(shown):
    """Every change of rate or lamda of the ``shown`` runs, in the order they were made, numbered;
    ``change`` is its label on the chart, which names the run when several are drawn (one run's
    marker beside another run's curves read as a change of that other run)."""
    made = sorted(((float(c["epoch"]), job.label, c) for job in shown for c in job.changes), key=lambda t: t[0])
    several = len(shown) > 1
    return [
        {
            "run": label,
            "epoch": epoch,
            "n": i + 1,
            "row": i % CHANGE_ROWS,
            "what": "%s %g → %g" % (c["setting"], c["old"], c["new"]),
            "change": "%d%s: %s %g → %g" % (i + 1, " (%s)" % label if several else "", c["setting"], c["old"], c["new"]),
        }
        for i, (epoch, label, c) in enumerate(made)
    ]


def change_list(shown):
    """The changes in words, for under the charts (the chart marks them by number): "" if none."""
    made = changes_of(shown)
    if not made:
        return ""
    return "Changes: " + "; ".join("%d: %s at epoch %.2f (%s)" % (c["n"], c["what"], c["epoch"], c["run"]) for c in made) + "."


def epochs_axis(shown, live=None):
    """Where the epoch axis ends: at the epochs a run training or waiting will reach, and at those
    the others did reach (never past them, as a rounded-up axis did), counting the epoch a run
    was stopped in (its mini-batches' line and changes reach into it)."""

    def reached(job):
        into = [float(c["epoch"]) for c in job.changes]
        if job is live:
            into += [float(e) for e, _ in job.batch_costs[-1:]]
        return max([len(job.history), 1] + [math.ceil(e) for e in into])

    return max([job.config.epochs if job.running else reached(job) for job in shown] + [1])


def overlay(runs, shown, live=None, log=False):
    """Two Vega-Lite charts (cost, accuracy) of the ``shown`` runs (``runs`` fixes their colours):
    solid lines for training, dashed for validation, a thin line for the ``live`` run's cost
    mini-batch by mini-batch, and a dotted rule where a run's rate or lamda was changed. ``log``:
    cost on a logarithmic axis."""
    color = field("run", "nominal", scale={"domain": [job.label for job in shown], "range": [colour(runs, job) for job in shown]})
    changes = changes_of(shown)
    # A few pixels beyond the last epoch: its points were cut in half at the chart's edge.
    x_scale = {"domain": [0, epochs_axis(shown, live)], "nice": False, "padding": EDGE}
    charts = []
    for what, keys in (("cost", ["train_cost", "val_cost"]), ("accuracy", ["train_acc", "val_acc"])):
        names = [COLUMNS[key] for key in keys]
        points = [
            {"run": job.label, "epoch": int(r.epoch), "curve": COLUMNS[key], what: float(getattr(r, key))}
            for job in shown
            for key in keys
            for r in job.history
            if getattr(r, key) is not None and math.isfinite(getattr(r, key))
        ]
        layers = [
            {
                "data": {"values": points},
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": field("epoch", axis={"tickMinStep": 1}, scale=x_scale),
                    "y": field(
                        what,
                        scale={"type": "log"} if log and what == "cost" else {"zero": False},
                        title="cost (log scale)" if log and what == "cost" else what,
                        axis={"format": ".4~g"},  # a lone point's tick read "2.208978"
                    ),
                    "color": {**color, "legend": dict(LEGEND, title="run")},
                    "strokeDash": field("curve", "nominal", sort=names, legend=None),
                    "tooltip": [field("run", "nominal"), field("curve", "nominal"), field("epoch"), field(what, format=".4f")],
                },
            }
        ]
        if what == "cost" and live is not None and live in shown and live.batch_costs:
            layers.append(
                {
                    "data": {
                        "values": [
                            {"run": live.label, "curve": SMOOTHED, "epoch": float(e), "cost": float(c)}
                            for e, c in live.batch_costs
                        ]
                    },
                    "mark": {"type": "line", "strokeWidth": 1, "opacity": 0.7, "clip": True},
                    "encoding": {
                        "x": field("epoch", scale=x_scale),
                        "y": field("cost", scale={"type": "log"} if log else {"zero": False}),
                        "color": color,
                        "tooltip": [field("run", "nominal"), field("epoch", format=".2f"), field("cost", format=".4f")],
                    },
                }
            )
        if changes:
            layers.append(
                {
                    "data": {"values": changes},
                    "mark": {"type": "rule", "strokeDash": [2, 3]},
                    "encoding": {
                        "x": field("epoch", scale=x_scale),
                        "color": color,
                        "tooltip": [field("run", "nominal"), field("change", "nominal"), field("epoch", format=".2f")],
                    },
                }
            )
            # Each label on a row of its own: two changes a few mini-batches apart never print over each other.
            layers.append(
                {
                    "data": {"values": [dict(c, y=12 + ROW_HEIGHT * c["row"]) for c in changes]},
                    "mark": {"type": "text", "align": "left", "dx": 3, "baseline": "middle", "fontSize": 11},
                    "encoding": {
                        "x": field("epoch", scale=x_scale),
                        "y": {"field": "y", "type": "quantitative", "scale": None},
                        "text": field("change", "nominal"),
                        "color": color,
                    },
                }
            )
        charts.append({"height": CHART_HEIGHT, "layer": layers})
    return charts


HEALTH_HEIGHT = 160
# What each measure is; whether a run is in trouble is said by its own verdict (``health.diagnose``).
HEALTH = [
    (
        "grad",
        "gradient size",
        "how strongly each layer's weights are pushed at each step (log scale); the lines side by side "
        "show how the push changes on its way back from the last layer to the first",
    ),
    (
        "update",
        "step / weights",
        "how much one step changes each layer's weights, relative to their size (log scale); "
        "steps of about a thousandth are usual",
    ),
    (
        "stuck",
        "stuck neurons",
        "the share of each layer's neurons that no longer change their output: saturated "
        "(sigmoid, tanh: pinned at their limits) or dead (relu: 0 for every image)",
    ),
]
HEALTH_NOTE = "These charts measure; whether the run has a problem is said under its results when it ends."


def layer_name(number, run):
    """A layer's name in the health charts: "layer 2", and "layer 5 (output)" for the last."""
    return "layer %d%s" % (number, " (output)" if number == len(run.config.layer_data["Dim"]) - 1 else "")


def health_charts(run):
    """Three Vega-Lite charts of ``run``'s health, epoch by epoch, one line per layer (see
    ``nn_core.health``); None before its first epoch."""
    points = []
    for record in run.history:
        for h in record.health or []:
            stuck = h["dead"] if h["dead"] is not None else h["saturated"]
            values = {"grad": h["grad"], "update": h["update"], "stuck": stuck}
            for key, value in values.items():
                if value is not None and math.isfinite(value):
                    points.append({"epoch": record.epoch, "layer": layer_name(h["layer"], run), "what": key, "value": value})
    if not points:
        return None
    layers = sorted({p["layer"] for p in points}, key=lambda name: int(name.split()[1]))
    charts = []
    x_scale = {"domain": [1, max(run.config.epochs if run.running else len(run.history), 1)], "nice": False, "padding": EDGE}
    for key, _title, _ in HEALTH:
        log = key != "stuck"
        charts.append(
            {  # (its title is written above it by the page: a title inside the spec flattened the plot)
                "height": HEALTH_HEIGHT,
                "layer": [
                    {
                        "data": {"values": [p for p in points if p["what"] == key and (not log or p["value"] > 0)]},
                        "mark": {"type": "line", "point": True},
                        "encoding": {
                            "x": field("epoch", axis={"tickMinStep": 1}, scale=x_scale),
                            "y": field(
                                "value",
                                scale={"type": "log"} if log else {"domain": [0, 1]},
                                axis={"format": "%"} if not log else {"format": "~g"},  # 0.04, not 4e-2 (tiny ones still 1e-7)
                                title=None,
                            ),
                            # Every layer in the legend: in one row, a third of the page cut the last ones off (the brightest
                            # lines); in three columns "layer 3" lost its label beside "layer 5 (output)".
                            "color": field(
                                "layer",
                                "nominal",
                                sort=layers,
                                scale={"scheme": "viridis"},
                                legend=dict(LEGEND, title=None, columns=2, symbolLimit=0),
                            ),
                            "tooltip": [
                                field("layer", "nominal"),
                                field("epoch"),
                                field("value", format=".2%" if not log else ".2e"),
                            ],
                        },
                    }
                ],
            }
        )
    return charts
