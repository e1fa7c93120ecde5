"""The Train page's charts (not a page): every run of the session overlaid, one colour a run."""

import altair as alt
import pandas as pd

from nn_core.report import COLUMNS, curves_frame

# Ten clearly different colours (Tableau 10); a run keeps its colour when others are hidden.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
SMOOTHED = "training cost, each mini-batch (smoothed)"


def colour(runs, job):
    return PALETTE[runs.index(job) % len(PALETTE)]


def overlay(runs, shown, live=None):
    """Two charts (cost, accuracy) of the ``shown`` runs (``runs`` fixes their colours): solid
    lines for training, dashed for validation, a thin line for the smoothed mini-batch cost of
    the ``live`` run, and a dotted rule where a run's rate or lamda was changed."""
    frame = curves_frame([(job.label, job.history) for job in shown])
    scale = alt.Scale(domain=[job.label for job in shown], range=[colour(runs, job) for job in shown])
    changes = pd.DataFrame(
        [dict(run=job.label, epoch=c["epoch"], change="%s %g → %g" % (c["setting"], c["old"], c["new"]))
         for job in shown for c in job.changes], columns=["run", "epoch", "change"])
    charts = []
    for what, names in (("cost", [COLUMNS["train_cost"], COLUMNS["val_cost"]]), ("accuracy", [COLUMNS["train_acc"], COLUMNS["val_acc"]])):
        part = frame[frame["curve"].isin(names)].rename(columns={"value": what})
        lines = alt.Chart(part).mark_line(point=True).encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1), scale=alt.Scale(domainMin=0)),
            y=alt.Y("%s:Q" % what, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", scale=scale, legend=alt.Legend(orient="bottom", title="run")),
            strokeDash=alt.StrokeDash("curve:N", sort=names, legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["run:N", "curve:N", "epoch:Q", alt.Tooltip("%s:Q" % what, format=".4f")],
        )
        layers = [lines]
        if what == "cost" and live is not None and live in shown and live.batch_costs:
            batches = pd.DataFrame(live.batch_costs, columns=["epoch", "cost"]).assign(run=live.label, curve=SMOOTHED)
            layers.append(alt.Chart(batches).mark_line(strokeWidth=1, opacity=0.7).encode(
                x="epoch:Q", y="cost:Q", color=alt.Color("run:N", scale=scale),
                tooltip=["run:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("cost:Q", format=".4f")]))
        if len(changes):
            rules = alt.Chart(changes)
            layers.append(rules.mark_rule(strokeDash=[2, 3]).encode(x="epoch:Q", color=alt.Color("run:N", scale=scale),
                                                                  tooltip=["run:N", "change:N", alt.Tooltip("epoch:Q", format=".2f")]))
            layers.append(rules.mark_text(align="left", dx=3, dy=-4, baseline="bottom", fontSize=11).encode(
                x="epoch:Q", y=alt.value(12), text="change:N", color=alt.Color("run:N", scale=scale)))
        charts.append(alt.layer(*layers).properties(height=280))
    return charts
