"""The sweep plan: values spaced evenly or on a log scale, one config per grid point in row-major
order, the checks a student meets in words, and the landscape a chart reads."""

import json

import pytest

from nn_core import sweep
from nn_core.sweep import Axis, SweepPlan, check, landscape, parse_axis, values
from nn_core.training import TrainConfig


def base(**overrides):
    return TrainConfig(**{"epochs": 2, "n_train": 1000, **overrides})


def test_log_and_even_spacing():
    assert values("rate", 1e-4, 0.1, 4) == [1e-4, 1e-3, 1e-2, 0.1]  # rate is log by default
    assert values("rate", 0.1, 0.4, 4, log=False) == [0.1, 0.2, 0.3, 0.4]
    assert values("dropout", 0.0, 0.5, 3) == [0.0, 0.25, 0.5]  # dropout is even by default
    rates = values("rate", 1e-5, 1.0, 6)
    ratios = [b / a for a, b in zip(rates, rates[1:])]
    assert all(abs(r - 10) < 0.05 for r in ratios)


def test_whole_numbers_rounded_and_repeats_dropped():
    assert values("width", 16, 1024, 7) == [16, 32, 64, 128, 256, 512, 1024]
    assert values("layers", 0, 2, 5) == [0, 1, 2]  # 0, 0.5, 1, 1.5, 2 rounded: each once
    assert all(isinstance(v, int) for v in values("mini_batch", 10, 1000, 5))


@pytest.mark.parametrize(
    "args,words",
    [
        (("lamda", 0, 10, 3), "log scale cannot start at 0"),
        (("rate", 0.1, 0.01, 3), "smaller to a larger"),
        (("rate", 1e-3, 100, 3), "rate must be from"),
        (("activation", 0, 1, 2), "chosen from a list"),
        (("size", 1, 2, 2), "a sweep can vary"),
        (("rate", 1e-3, 1e-1, 0), "number of values"),
    ],
)
def test_values_refused_in_words(args, words):
    with pytest.raises(ValueError, match=words):
        values(*args)


def test_points_are_row_major_and_configs_apply_them():
    plan = SweepPlan([Axis("rate", [1e-3, 1e-2, 1e-1]), Axis("width", [64, 128])], base())
    assert len(plan) == 6
    assert plan.points()[:3] == [{"rate": 1e-3, "width": 64}, {"rate": 1e-3, "width": 128}, {"rate": 1e-2, "width": 64}]
    configs = plan.configs()
    assert [c.rate for c in configs] == [1e-3, 1e-3, 1e-2, 1e-2, 1e-1, 1e-1]
    # the base has two hidden layers (512, 256): both take the swept width, the rest stays
    assert [c.layer_data["Dim"] for c in configs[:2]] == [[784, 64, 64, 10], [784, 128, 128, 10]]
    assert all(c.epochs == 2 and c.n_train == 1000 and c.optimizer == "adam" for c in configs)
    assert plan.base.rate == TrainConfig().rate and plan.base.layer_data["Dim"] == [784, 512, 256, 10]
    assert plan.label(3) == "rate 0.01, width 128"


def test_layers_activation_and_the_rest_apply():
    plan = SweepPlan([Axis("layers", [0, 3]), Axis("activation", ["tanh", "sigmoid"])], base())
    dims = [c.layer_data["Dim"] for c in plan.configs()]
    assert dims == [[784, 10], [784, 10], [784, 512, 512, 512, 10], [784, 512, 512, 512, 10]]
    assert plan.configs()[3].layer_data["Activs"] == ["sigmoid"] * 3 + ["softmax"]
    for name, value in [("mini_batch", None), ("optimizer", "gd"), ("dropout", 0.3), ("n_train", 500), ("lamda", 3.0)]:
        (config,) = SweepPlan([Axis(name, [value])], base()).configs()
        assert getattr(config, name) == value
    assert SweepPlan([Axis("mini_batch", [None, 32])], base()).label(0) == "mini_batch full"


def test_plan_round_trips_through_json():
    plan = SweepPlan([Axis("rate", values("rate", 1e-4, 1e-1, 4)), Axis("optimizer", ["gd", "adam"])], base(lamda=1.0))
    again = SweepPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert [c.to_dict() for c in again.configs()] == [c.to_dict() for c in plan.configs()]


def test_check_refuses_in_words(monkeypatch):
    monkeypatch.delenv(sweep.MAX_SWEEP_ENV, raising=False)
    assert sweep.max_sweep_runs() == 12
    thirteen = SweepPlan([Axis("rate", values("rate", 1e-5, 1.0, 13))], base())
    with pytest.raises(ValueError, match="13 runs.*at most 12.*NN_CORE_MAX_SWEEP_RUNS"):
        check(thirteen)
    monkeypatch.setenv(sweep.MAX_SWEEP_ENV, "20")
    assert check(thirteen) is thirteen
    monkeypatch.setenv(sweep.MAX_SWEEP_ENV, "4")
    with pytest.raises(ValueError, match="at most 4"):
        check(SweepPlan([Axis("rate", [1e-3, 1e-2]), Axis("width", [8, 16, 32])], base()))
    monkeypatch.delenv(sweep.MAX_SWEEP_ENV)
    cases = [
        ([], "one or two settings"),
        ([Axis("rate", [1e-3]), Axis("width", [8]), Axis("lamda", [0.0])], "one or two settings, not 3"),
        ([Axis("rate", [1e-3]), Axis("rate", [1e-2])], "rate is varied twice"),
        ([Axis("rate", [])], "at least one value"),
        ([Axis("rate", [1e-3, 50.0])], "rate must be from"),
        ([Axis("width", [64, 64])], "width 64 appears twice"),
        ([Axis("width", [1.5])], "whole number"),
        ([Axis("optimizer", ["sgd"])], "optimizer can be gd, momentum, adam"),
        ([Axis("n_train", [1000, 70000])], "n_train must be from"),
    ]
    for axes, words in cases:
        with pytest.raises(ValueError, match=words):
            check(SweepPlan(axes, base()))
    with pytest.raises(ValueError, match="only 5000 training images"):
        check(SweepPlan([Axis("n_train", [1000, 8000])], base()), n_available=5000)


def test_parse_axis_from_the_command_line():
    assert parse_axis("rate=1e-4:1e-1:4:log") == Axis("rate", [1e-4, 1e-3, 1e-2, 0.1])
    assert parse_axis("rate=0.1:0.3:3:even") == Axis("rate", [0.1, 0.2, 0.3])
    assert parse_axis("width=64,128") == Axis("width", [64, 128])
    assert parse_axis("mini-batch=full,32") == Axis("mini_batch", [None, 32])
    assert parse_axis("activation=relu,tanh") == Axis("activation", ["relu", "tanh"])
    for text in ["rate", "rate=1:2", "rate=a:b:3", "width=six", "colour=red", "rate=1e-3:1e-1:3:loud"]:
        with pytest.raises(ValueError):
            parse_axis(text)


def test_landscape_fills_in_and_marks_the_best():
    plan = SweepPlan([Axis("rate", [1e-3, 1e-2, 1e-1]), Axis("width", [64, 128])], base())
    empty = landscape(plan, [None] * 6)
    assert (empty.best, empty.done, empty.total) == (None, 0, 6)
    assert empty.grid == [[None, None]] * 3
    results: list = [None] * 6
    results[1] = {"val_acc": 0.91, "val_cost": 0.3, "test_acc": 0.9, "status": "finished"}
    results[4] = {"val_acc": 0.95, "val_cost": 0.2, "test_acc": 0.94, "status": "finished"}
    results[5] = {"val_acc": None, "val_cost": None, "test_acc": None, "status": "diverged"}
    land = landscape(plan, results)
    assert (land.best, land.done, land.total) == (4, 3, 6)
    assert land.grid == [[None, 0.91], [None, None], [0.95, None]]
    assert land.rows[4] == {
        "rate": 0.1,
        "width": 64,
        "index": 4,
        "label": "rate 0.1, width 64",
        "val_acc": 0.95,
        "val_cost": 0.2,
        "test_acc": 0.94,
        "status": "finished",
    }
    one = landscape(SweepPlan([Axis("rate", [1e-3, 1e-2])], base()), [{"val_acc": 0.5}, {"val_acc": 0.7}])
    assert (one.best, one.grid) == (1, None)
    with pytest.raises(ValueError, match="6 runs but 2 results"):
        landscape(plan, [None, None])
