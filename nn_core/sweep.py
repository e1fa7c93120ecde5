"""A sweep: the same training run repeated while one or two settings take a list of values.

``SETTINGS`` says which settings a sweep may vary and what values each may take; ``values``
spaces a range evenly or on a log scale; a ``SweepPlan`` (one or two ``Axis``, and the base
``TrainConfig`` every other setting comes from) turns into one ``TrainConfig`` per run, first
axis outer, second inner (row-major: a heatmap's rows are the first axis). ``check`` refuses a
plan in words a student understands, and ``landscape`` lays the finished runs' results out for
a chart. No Dask and no Streamlit here: the run layer and the pages build on this.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from .activations import HIDDEN_ACTIVATIONS
from .network import dense_layers
from .optimizers import OPTIMIZERS
from .training import TrainConfig


@dataclasses.dataclass(frozen=True)
class Setting:
    """What a sweep may do with one setting. ``kind``: "number", "whole" (a whole number) or
    "choice"; ``low``..``high`` the allowed range (numbers), ``choices`` the allowed names;
    ``log``: spaced on a log scale unless said otherwise; ``words``: what it is, for a beginner."""

    kind: str
    words: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple = ()


SETTINGS: dict[str, Setting] = {
    "rate": Setting("number", "learning rate: the size of each step downhill", 1e-6, 10.0, log=True),
    "lamda": Setting("number", "L2 regularisation: a penalty on large weights", 0.0, 1e6, log=True),
    "layers": Setting("whole", "how many hidden layers, each `width` neurons wide", 0, 4),
    "width": Setting("whole", "neurons in each hidden layer", 1, 1024, log=True),
    "mini_batch": Setting("whole", "images per step (weight update)", 1, 60_000, log=True),
    "activation": Setting("choice", "activation of the hidden layers", choices=HIDDEN_ACTIVATIONS),
    "optimizer": Setting("choice", "how gradients turn into steps", choices=tuple(OPTIMIZERS)),
    "dropout": Setting("number", "share of hidden neurons switched off at random at each step", 0.0, 0.9),
    "n_train": Setting("whole", "training images, picked at random", 10, 60_000, log=True),
}

MAX_SWEEP_ENV = "NN_CORE_MAX_SWEEP_RUNS"
DEFAULT_MAX_SWEEP_RUNS = 12
WIDTH_IF_NONE = 128  # the width of hidden layers a sweep over ``layers`` adds to a network that had none


def max_sweep_runs() -> int:
    """How many runs one sweep may hold on this server (``NN_CORE_MAX_SWEEP_RUNS``, default 12)."""
    text = os.environ.get(MAX_SWEEP_ENV, "").strip()
    try:
        return max(1, int(text)) if text else DEFAULT_MAX_SWEEP_RUNS
    except ValueError:
        return DEFAULT_MAX_SWEEP_RUNS


def _setting(name: str) -> Setting:
    if name not in SETTINGS:
        raise ValueError("a sweep can vary %s, not %r" % (", ".join(SETTINGS), name))
    return SETTINGS[name]


def _in_range(name: str, value: Any) -> Any:
    """``value`` as the plain Python type ``name`` takes, or a ``ValueError`` in words."""
    s = _setting(name)
    if hasattr(value, "item"):  # a NumPy scalar: kept as plain Python so the plan stays JSON-safe
        value = value.item()
    if s.kind == "choice":
        if value not in s.choices:
            raise ValueError("%s can be %s, not %r" % (name, ", ".join(s.choices), value))
        return value
    if name == "mini_batch" and value is None:
        return None  # the whole training set in one step (full batch)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("%s must be a number, not %r" % (name, value))
    if s.kind == "whole":
        if value != int(value):
            raise ValueError("%s must be a whole number, not %r" % (name, value))
        value = int(value)
    else:
        value = float(value)
    low_ok = value > s.low if name == "rate" else value >= s.low
    if not (low_ok and value <= s.high):
        raise ValueError("%s must be from %g to %g, not %g" % (name, s.low, s.high, value))
    return value


def values(setting: str, low: float, high: float, count: int, log: bool | None = None) -> list:
    """``count`` values of ``setting`` from ``low`` to ``high`` (both included), evenly spaced,
    or on a log scale (each a constant multiple of the one before; the setting's default when
    ``log`` is None). Numbers are rounded to 3 significant digits; whole numbers are rounded and
    repeats dropped. ``values("rate", 1e-4, 0.1, 4)`` is ``[0.0001, 0.001, 0.01, 0.1]``."""
    s = _setting(setting)
    if s.kind == "choice":
        raise ValueError("%s is chosen from a list (%s), not a range" % (setting, ", ".join(s.choices)))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise ValueError("the number of values must be a whole number from 1 to 100, not %r" % (count,))
    low, high = _in_range(setting, low), _in_range(setting, high)
    if low is None or high is None or low > high:
        raise ValueError("%s: the range must go from a smaller to a larger number, not %r to %r" % (setting, low, high))
    log = s.log if log is None else log
    if log and low <= 0:
        raise ValueError(
            "%s: a log scale cannot start at 0 (it never reaches it); start at a small number such as 0.01" % setting
        )
    if count == 1:
        raw = [low]
    elif log:
        raw = [low * (high / low) ** (i / (count - 1)) for i in range(count)]
    else:
        raw = [low + (high - low) * i / (count - 1) for i in range(count)]
    out: list = []
    for v in raw:
        v = int(round(v)) if s.kind == "whole" else float("%.3g" % v)
        if v not in out:
            out.append(v)
    return out


@dataclasses.dataclass
class Axis:
    """One setting of a sweep and the values it takes, in order."""

    setting: str
    values: list


def parse_axis(text: str) -> Axis:
    """An ``Axis`` from the command line's words: ``rate=1e-4:1e-1:4:log`` (low:high:count, and
    ``log`` or ``even`` if not the setting's usual), or a list ``width=64,128`` / ``activation=relu,tanh``
    (``full`` for a full-batch mini_batch)."""
    name, eq, rest = text.partition("=")
    name = name.strip().replace("-", "_")
    if not eq or not rest.strip():
        raise ValueError("say what to vary as setting=values, e.g. rate=1e-4:1e-1:4:log or width=64,128; got %r" % text)
    s = _setting(name)
    if ":" in rest:
        parts = rest.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "even")):
            raise ValueError("a range is low:high:count, then log or even if you like, e.g. rate=1e-4:1e-1:4:log; got %r" % text)
        try:
            low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError("a range is two numbers and a whole count, e.g. rate=1e-4:1e-1:4; got %r" % text) from None
        log = None if len(parts) == 3 else parts[3] == "log"
        return Axis(name, values(name, low, high, count, log))
    items: list = []
    for word in (w.strip() for w in rest.split(",") if w.strip()):
        if s.kind == "choice":
            items.append(word)
        elif name == "mini_batch" and word.lower() in ("full", "none"):
            items.append(None)
        else:
            try:
                items.append(float(word) if s.kind == "number" else int(word))
            except ValueError:
                raise ValueError(
                    "%s takes %s numbers, not %r" % (name, "whole" if s.kind == "whole" else "plain", word)
                ) from None
    return Axis(name, items)


def show(setting: str, value: Any) -> str:
    """A value in words: ``show("rate", 0.001)`` is "rate 0.001"; a full-batch mini_batch "mini_batch full"."""
    if value is None:
        return "%s full" % setting
    return "%s %s" % (setting, "%g" % value if isinstance(value, float) else value)


def apply(config: TrainConfig, point: dict) -> TrainConfig:
    """A copy of ``config`` with the settings of ``point`` (a ``{setting: value}``) applied.
    ``layers`` and ``width`` rebuild the hidden layers (all of one width: the base's first, or
    ``WIDTH_IF_NONE``); ``activation`` applies to every hidden layer."""
    config = TrainConfig(**config.to_dict())  # a deep copy: the base is never changed
    ld = config.layer_data
    hidden, activs = list(ld["Dim"][1:-1]), ld["Activs"]
    if {"layers", "width", "activation"} & set(point):
        n_layers = point.get("layers", len(hidden))
        width = point.get("width", hidden[0] if hidden else WIDTH_IF_NONE)
        if "width" in point:
            hidden = [width] * len(hidden)
        if "layers" in point:
            hidden = [width] * n_layers
        activation = point.get("activation", activs[0] if len(activs) > 1 else "relu")
        config.layer_data = dense_layers(hidden, activation, activs[-1], n_in=ld["Dim"][0], n_out=ld["Dim"][-1])
    for name in ("rate", "lamda", "mini_batch", "optimizer", "dropout", "n_train"):
        if name in point:
            setattr(config, name, point[name])
    return config


@dataclasses.dataclass
class SweepPlan:
    """One or two axes, and the base settings every run shares; one run per combination."""

    axes: list[Axis]
    base: TrainConfig

    def __len__(self) -> int:
        return math.prod(len(a.values) for a in self.axes) if self.axes else 0

    def points(self) -> list[dict]:
        """``{setting: value}`` for each run: the first axis outer, the second inner."""
        out: list[dict] = [{}]
        for axis in self.axes:
            out = [{**p, axis.setting: v} for p in out for v in axis.values]
        return out if self.axes else []

    def configs(self) -> list[TrainConfig]:
        """The base with each run's point applied, each validated (a ``ValueError`` otherwise)."""
        return [apply(self.base, p).validate() for p in self.points()]

    def label(self, i: int) -> str:
        """Run ``i`` in words: "rate 0.01, width 128"."""
        return ", ".join(show(k, v) for k, v in self.points()[i].items())

    def to_dict(self) -> dict:
        return {"axes": [{"setting": a.setting, "values": list(a.values)} for a in self.axes], "base": self.base.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> SweepPlan:
        return cls([Axis(a["setting"], list(a["values"])) for a in d["axes"]], TrainConfig(**d["base"]))


def check(plan: SweepPlan, n_available: int | None = None) -> SweepPlan:
    """The plan, its values made plain Python, or a ``ValueError`` saying in words what is wrong:
    not one or two settings, one setting twice, a value out of range or repeated, too many runs."""
    if not 1 <= len(plan.axes) <= 2:
        raise ValueError("a sweep varies one or two settings, not %d" % len(plan.axes))
    names = [a.setting for a in plan.axes]
    if len(set(names)) < len(names):
        raise ValueError("%s is varied twice: vary two different settings, or one" % names[0])
    for axis in plan.axes:
        if not axis.values:
            raise ValueError("give %s at least one value" % axis.setting)
        axis.values = [_in_range(axis.setting, v) for v in axis.values]
        repeated = [v for i, v in enumerate(axis.values) if v in axis.values[:i]]
        if repeated:
            raise ValueError("%s: %s appears twice; each value once is enough" % (axis.setting, show(axis.setting, repeated[0])))
        if axis.setting == "n_train" and n_available is not None and max(axis.values) > n_available:
            raise ValueError("n_train: only %d training images are available, not %d" % (n_available, max(axis.values)))
    limit = max_sweep_runs()
    if len(plan) > limit:
        raise ValueError(
            "it would be %d runs, and this server allows at most %d in one sweep (its %s). Use fewer values"
            % (len(plan), limit, MAX_SWEEP_ENV)
        )
    for config in plan.configs():
        config.validate(n_available=n_available)
    return plan


METRICS = ("val_acc", "val_cost", "test_acc", "status")


@dataclasses.dataclass
class Landscape:
    """A sweep's results laid out for charts. ``rows``: one dict per run (its settings, ``index``,
    ``label`` and the metrics, None until it finishes); ``best``: the index with the highest
    validation accuracy (None before any); ``grid``: for two axes, validation accuracy as a
    2-D list (rows: the first axis' values), None elsewhere; ``done`` of ``total`` runs finished."""

    rows: list[dict]
    best: int | None
    grid: list[list] | None
    done: int
    total: int


def landscape(plan: SweepPlan, results: list[dict | None]) -> Landscape:
    """Lay out ``results`` (plan order; None for a run not finished, or a dict with ``val_acc``,
    ``val_cost``, ``test_acc``, ``status``)."""
    if len(results) != len(plan):
        raise ValueError("the sweep has %d runs but %d results were given" % (len(plan), len(results)))
    rows = []
    for i, (point, result) in enumerate(zip(plan.points(), results)):
        metrics = {k: (result or {}).get(k) for k in METRICS}
        rows.append({**point, "index": i, "label": plan.label(i), **metrics})
    scored = [r for r in rows if isinstance(r["val_acc"], (int, float)) and math.isfinite(r["val_acc"])]
    best = max(scored, key=lambda r: r["val_acc"])["index"] if scored else None
    grid = None
    if len(plan.axes) == 2:
        n_inner = len(plan.axes[1].values)
        grid = [[rows[i * n_inner + j]["val_acc"] for j in range(n_inner)] for i in range(len(plan.axes[0].values))]
    return Landscape(rows, best, grid, sum(r is not None for r in results), len(plan))
