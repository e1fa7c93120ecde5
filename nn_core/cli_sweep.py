"""The command line's ``sweep`` and ``find-rate`` (``cli`` registers them and reads the training
options): a sweep trains its runs here one after another, printing a line as each finishes and
the best at the end; the rate finder prints the cost against the rate as it climbs, then the
suggested rate and why. Both take every option of ``train`` for the settings they do not vary.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from . import ratefinder
from .network import predict_proba
from .runspec import DataRecipe, RunSpec, build_training_set
from .sweep import SETTINGS, SweepPlan, check, landscape, max_sweep_runs, parse_axis, show
from .training import TrainConfig, Trainer
from .words import counted

VARY_HELP = (
    "a setting to vary and its values: a range low:high:count (spaced on a log scale for rate, lamda, width, "
    "mini_batch and n_train, evenly for the rest; add :log or :even to choose), or a list a,b,c. "
    "Give --vary once or twice, e.g. --vary rate=1e-4:1e-1:4 --vary width=64,128. Settings: " + ", ".join(SETTINGS)
)


def add_commands(sub: Any, add_train_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``sweep`` and ``find-rate`` to the command line's sub-commands."""
    s = sub.add_parser(
        "sweep",
        help="train the same network with one or two settings varied, and compare the runs",
        description="Train one run per combination of the values given with --vary (at most %d, or "
        "$NN_CORE_MAX_SWEEP_RUNS), one after another; the other settings are train's options. Prints each run's "
        "validation and test accuracy as it finishes, then the best (highest validation accuracy)." % max_sweep_runs(),
    )
    s.add_argument("--vary", action="append", required=True, metavar="SETTING=VALUES", help=VARY_HELP)
    add_train_options(s)
    s.add_argument("--json", action="store_true", help="print the results as one JSON object (the table goes to stderr)")

    f = sub.add_parser(
        "find-rate",
        help="find a good learning rate for a network in one short run",
        description="The learning-rate range test: one short run whose rate grows by the same factor at every "
        "mini-batch, from --start to --end over --steps mini-batches, stopping once the cost blows up. Prints the "
        "cost against the rate and a suggested rate with the reason. The network, optimizer and mini-batch size "
        "are train's options (--epochs and --rate are not used).",
    )
    add_train_options(f)
    f.add_argument("--start", type=float, default=ratefinder.START, help="the first rate (default %(default)g)")
    f.add_argument("--end", type=float, default=ratefinder.END, help="the last rate (default %(default)g)")
    f.add_argument("--steps", type=int, default=ratefinder.STEPS, help="mini-batches from start to end (default %(default)s)")
    f.add_argument("--json", action="store_true", help="print the rates, costs and suggestion as JSON (the table goes to stderr)")


def _say(args: argparse.Namespace) -> TextIO:
    """Where the table goes: stdout, or stderr when stdout is for JSON."""
    return sys.stderr if args.json else sys.stdout


def _percent(x: float | None) -> str:
    return "-" if x is None else "%.2f%%" % (100 * x)


def sweep(args: argparse.Namespace, config: TrainConfig, recipe: DataRecipe) -> int:
    out = _say(args)
    plan = check(SweepPlan([parse_axis(text) for text in args.vary], config))  # refused before any data is read
    built = build_training_set(RunSpec(config, recipe))
    groups = built.groups
    check(plan, n_available=len(built.labels) if groups is None else int((np.asarray(groups) < 0).sum()))
    names = [a.setting for a in plan.axes]
    print(
        "sweep of %s: %s of %s each, on %s"
        % (" x ".join(names), counted(len(plan), "run"), counted(config.epochs, "epoch"), built.source),
        file=out,
        flush=True,
    )
    widths = [max(len(n), 10) for n in names]
    header = ["run"] + [n.ljust(w) for n, w in zip(names, widths)] + ["val acc ", "val cost", "test acc", "seconds", "status"]
    print("  ".join(header), file=out, flush=True)
    results: list[dict | None] = [None] * len(plan)
    try:
        for i, (point, run_config) in enumerate(zip(plan.points(), plan.configs())):
            start = time.perf_counter()
            trainer = Trainer(run_config, built.images, built.labels, groups=groups)
            records = list(trainer.run())
            last = records[-1] if records else None
            correct = predict_proba(trainer.params, run_config.layer_data, built.test_images).argmax(axis=1) == built.test_labels
            results[i] = {
                "val_acc": None if last is None else last.val_acc,
                "val_cost": None if last is None else last.val_cost,
                "test_acc": float(np.mean(correct)),
                "status": trainer.status,
            }
            cells = [show(n, point[n]).split(" ", 1)[1].ljust(w) for n, w in zip(names, widths)]
            r = results[i] or {}
            print(
                "  ".join(
                    ["%3d" % (i + 1)]
                    + cells
                    + [
                        _percent(r["val_acc"]).rjust(8),
                        ("-" if r["val_cost"] is None else "%.4f" % r["val_cost"]).rjust(8),
                        _percent(r["test_acc"]).rjust(8),
                        "%7.1f" % (time.perf_counter() - start),
                        trainer.status,
                    ]
                ),
                file=out,
                flush=True,
            )
    except KeyboardInterrupt:
        print("stopped: the runs that finished are kept below", file=out)
    land = landscape(plan, results)
    if land.best is None:
        print("no best run: none finished with a validation accuracy (is --val-fraction 0?)", file=out)
    else:
        best = land.rows[land.best]
        print(
            "best: run %d, %s: validation accuracy %s (test %s)"
            % (land.best + 1, best["label"], _percent(best["val_acc"]), _percent(best["test_acc"])),
            file=out,
        )
    if land.grid is not None:
        print(_grid(plan, land.grid, land.best), file=out)
    if args.json:
        print(json.dumps({"plan": plan.to_dict(), "rows": land.rows, "best": land.best, "grid": land.grid}))
    return 0 if land.done == len(plan) else 1


def _grid(plan: SweepPlan, grid: list[list], best: int | None) -> str:
    """Validation accuracy as a table, the first setting down and the second across; the best starred."""
    rows, cols = plan.axes
    label = lambda axis, v: show(axis.setting, v).split(" ", 1)[1]  # noqa: E731
    width = max([10] + [len(label(cols, v)) + 1 for v in cols.values])
    first = max([len(rows.setting) + 4 + len(cols.setting)] + [len(label(rows, v)) for v in rows.values])
    lines = ["validation accuracy (%s down, %s across; * the best)" % (rows.setting, cols.setting)]
    lines.append(
        ("%s \\ %s" % (rows.setting, cols.setting)).ljust(first) + "".join(label(cols, v).rjust(width) for v in cols.values)
    )
    for i, v in enumerate(rows.values):
        cells = []
        for j, acc in enumerate(grid[i]):
            star = "*" if best == i * len(cols.values) + j else " "
            cells.append(("-" if acc is None else "%.2f%%" % (100 * acc)).rjust(width - 1) + star)
        lines.append(label(rows, v).ljust(first) + "".join(cells))
    return "\n".join(lines)


def find_rate(args: argparse.Namespace, config: TrainConfig, recipe: DataRecipe) -> int:
    out = _say(args)
    ratefinder.rates(args.start, args.end, args.steps)  # a ValueError in words before any data is read
    built = build_training_set(RunSpec(config, recipe))
    print(
        "rate finder: %s, %s, mini-batches of %s, on %s; the rate grows from %g to %g over %s"
        % (
            "-".join(map(str, config.layer_data["Dim"])),
            config.optimizer,
            config.mini_batch or "all the images",
            built.source,
            args.start,
            args.end,
            counted(args.steps, "mini-batch", "mini-batches"),
        ),
        file=out,
        flush=True,
    )
    print("mini-batch  rate      cost     smoothed", file=out, flush=True)
    costs: list[float] = []
    every = max(1, args.steps // 20)  # about 20 lines, whatever the number of steps

    def line(rate: float, cost: float) -> None:
        costs.append(cost)
        if len(costs) % every == 0 or len(costs) == 1:
            print("%10d  %-8.2g  %7.4f  %7.4f" % (len(costs), rate, cost, ratefinder.smoothed(costs)[-1]), file=out, flush=True)

    result = ratefinder.find_rate(config, built.images, built.labels, args.start, args.end, args.steps, line, built.groups)
    s = result.suggestion
    print("The finder %s." % result.message, file=out)
    if s.rate is None:
        print("No suggestion: %s." % s.reason, file=out)
    else:
        print("Suggested rate: %g\nWhy: %s." % (s.rate, s.reason), file=out)
        print("Try it: python -m nn_core train --optimizer %s --rate %g ..." % (config.optimizer, s.rate), file=out)
    if args.json:
        print(json.dumps(result.to_dict()))
    return 0 if s.rate is not None else 1
