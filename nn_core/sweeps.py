"""Sweeps and rate finders as runs on the cluster: what ``Runner.start_sweep`` and
``Runner.find_rate`` do.

A sweep is one person's: its runs (``sweep.SweepPlan.configs``, each checked as a run is) and its
record are written in one transaction, refused while the person has a run or sweep going
(``runs.Busy``), and sent to Dask in one message. Fairness is Dask's priority: run ``k`` of a sweep
gets ``-(seq0 + k * SPACING)`` (``runrecord.place``) where an ordinary run gets ``-seq``, so its first run is placed like
any run asked for at that moment, and each later one waits behind every run asked for after the
sweep started. Idle workers take a sweep's runs side by side; a person who asks for a run while a
sweep is under way takes the next free place, and the sweep goes on with what is left. Two sweeps
take turns run by run.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from . import estimate, sweep
from .runrecord import FIND_RATE, TRAIN, place
from .runspec import RunSpec, planned_images, with_files_named
from .sweephandle import Sweep


def priorities(seq0: int, n: int) -> list[int]:
    """Dask priorities of a sweep's ``n`` runs, the first recorded as run number ``seq0`` (higher
    starts first; an ordinary run asked for as number ``seq`` has ``-seq``): ``-runrecord.place``."""
    return [-place(seq0 + k, seq0) for k in range(n)]


def run_specs(plan: sweep.SweepPlan, spec: RunSpec) -> list[RunSpec]:
    """One ``RunSpec`` per run of ``plan``: ``spec``'s data, owner and start, the plan's settings."""
    return [
        dataclasses.replace(spec, config=config, label=plan.label(i), purpose=TRAIN) for i, config in enumerate(plan.configs())
    ]


def start(runner: Any, plan: sweep.SweepPlan, spec: RunSpec) -> Sweep:
    """Check, record and send a sweep (see the module's description); ``ValueError`` in words for
    a plan or a run the server refuses, ``runs.Busy``, ``RunnerError``."""
    planned = planned_images(dataclasses.replace(spec, config=plan.base))
    sweep.check(plan, n_available=planned["base_total"])
    specs = [with_files_named(s) for s in run_specs(plan, spec)]
    checked = []
    for k, one in enumerate(specs):
        try:
            checked.append(runner.check(one))
        except ValueError as exc:
            raise type(exc)("its run %d of %d (%s): %s" % (k + 1, len(specs), one.label, exc)) from exc
    label = spec.label if spec.label not in ("", "run") else "sweep of " + " and ".join(a.setting for a in plan.axes)
    sweep_id, ids = runner.store.add_sweep(
        plan.to_dict(),
        label,
        [(one.config, one.label, n_train, seconds) for one, (n_train, seconds) in zip(specs, checked)],
        owner=spec.owner,
        data=spec.data.arrays[5] if spec.data.arrays is not None else "",
        started_from=spec.started_from,
        engine=runner.engine,
    )
    runner.dispatch([(run_id, one, p) for (run_id, _), one, p in zip(ids, specs, priorities(ids[0][1], len(ids)))])
    return Sweep(runner, {"id": sweep_id, "owner": spec.owner, "label": label, "plan": plan.to_dict(), "created": time.time()})


def expected(runner: Any, plan: sweep.SweepPlan, n_train: int | list[int]) -> estimate.Expected:
    """How long ``plan`` on ``n_train`` images should take from Start to its last result here:
    after the wait for a first free place, its runs side by side on the free workers, each taking
    about its time alone (``Runner.expected_seconds``): runs this small gain little from a second
    core, and one run's data is built while another trains (``bench/sweep.py``: 12 runs on 2
    workers took 2.6 times less than one after another)."""
    counts = n_train if isinstance(n_train, list) else [n_train] * len(plan)  # (one per run when n_train is varied)
    each = [runner.expected_seconds(config, n) for config, n in zip(plan.configs(), counts)]
    places = max(1, min(runner.workers(), len(each)))
    first = each[0]

    def total(part: str) -> float:
        return first.wait + sum(getattr(e, part) - e.wait for e in each) / places

    return estimate.Expected(total("seconds"), total("low"), total("high"), first.training, first.waiting, first.wait)


def finder_spec(spec: RunSpec) -> RunSpec:
    """The rate finder's run for ``spec``: its network, optimizer and data, the finder's schedule
    (``ratefinder.finder_config``)."""
    from . import ratefinder

    config = ratefinder.finder_config(spec.config, planned_images(spec)["total"])  # it holds out the validation share
    return dataclasses.replace(spec, config=config, purpose=FIND_RATE, label="rate finder")


# -- the rate finder on a worker (``runtask.train_run``) ----------------------------------------------
RATE_EVENT = "rate"  # a finder's event: ``[rate, cost]`` of one mini-batch


def finder(task: Any, purpose: str) -> Any:
    """The callback a run trains with: ``task`` (its ``runtask.RunCallback``) for an ordinary run;
    for a rate finder, a ``ratefinder.RateFinder`` wrapped around it that also writes every
    mini-batch's rate and cost as an event of the run (the chart draws while it runs)."""
    if purpose != FIND_RATE:
        return task
    from . import ratefinder

    found = ratefinder.RateFinder(listener=lambda rate, cost: task.events.append((RATE_EVENT, [rate, cost])))
    wrapped = found.wrap(task)
    wrapped.finder = found
    return wrapped


def finder_end(callback: Any, task: Any, message: str, meta: dict) -> tuple[str, str]:
    """The status and message a run ends with: the trainer's, or for a rate finder that was not
    stopped by its person nor failed, "finished" with what it found kept in ``meta["finder"]``
    (``ratefinder.FinderResult.to_dict``): stopping once the cost blows up is its way of finishing."""
    status = task.trainer.status
    found = getattr(callback, "finder", None)
    if found is None:
        return status, message
    result = found.result(_finder_message(found, status))
    meta["finder"] = result.to_dict()
    if task.stopping or task.ended_early:
        return status, message
    reason = result.suggestion.reason.rstrip(".")
    return "finished", "The rate finder %s. %s." % (result.message, reason[:1].upper() + reason[1:])


def _finder_message(found: Any, status: str) -> str:
    if status == "diverged":
        return "stopped when the cost stopped being a number, after %d mini-batches" % len(found.costs)
    if len(found.costs) < len(found.schedule):
        return "stopped after %d mini-batches: the cost had blown up" % len(found.costs)
    return "ran all %d mini-batches" % len(found.costs)
