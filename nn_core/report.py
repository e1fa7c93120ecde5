"""Training histories and runs as pandas tables, the form charts and tables read."""

import pandas as pd

COLUMNS = {
    "train_cost": "training cost",
    "val_cost": "validation cost",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}
MNIST_TRAIN = 60_000
OPTIMIZER_NAMES = {"gd": "gradient descent", "momentum": "momentum", "adam": "Adam"}


def history_frame(records):
    """One row per epoch: epoch, the four curves (named for people), seconds, rate."""
    frame = pd.DataFrame([vars(r) for r in records], columns=["epoch", *COLUMNS, "seconds", "rate"])
    return frame.rename(columns=COLUMNS).astype({name: float for name in COLUMNS.values()})


def compare_frame(runs, metric):
    """Long table (epoch, run, value) of one curve for several runs, to overlay them."""
    parts = []
    for label, records in runs:
        frame = history_frame(records)
        parts.append(pd.DataFrame({"epoch": frame["epoch"], "run": label, metric: frame[metric]}))
    if not parts:
        return pd.DataFrame(columns=["epoch", "run", metric])
    return pd.concat(parts, ignore_index=True)


def describe(config):
    """The settings of a run as one flat dict (for a table row)."""
    ld = config.layer_data
    n = config.n_train
    return {
        "layers": "-".join(map(str, ld["Dim"])),
        "activation": ld["Activs"][0] if len(ld["Activs"]) > 1 else "-",
        "epochs": config.epochs,
        "mini_batch": "full batch" if config.mini_batch >= (n or MNIST_TRAIN) else str(config.mini_batch),
        "rate": config.rate,
        "lamda": config.lamda,
        "optimizer": OPTIMIZER_NAMES.get(config.optimizer, config.optimizer),
        "schedule": config.schedule,
        "dropout": config.dropout,
        "augment": config.augment,
        "images": "all" if n is None else n,
        "seed": config.seed,
        "init": config.init,
    }


def confusion_frame(matrix):
    """A confusion matrix as a long table (true, predicted, count) for a heat map."""
    return pd.DataFrame(
        [(i, j, int(v)) for i, row in enumerate(matrix) for j, v in enumerate(row)],
        columns=["true digit", "predicted digit", "count"],
    )
