"""Training histories and runs as pandas tables, the form charts and tables read."""

import pandas as pd

from .network import describe_layers
from .optimizers import OPTIMIZERS

COLUMNS = {
    "train_cost": "training cost",
    "val_cost": "validation cost",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}


def history_frame(records):
    """One row per epoch: epoch, the four curves (named for people), seconds, rate."""
    frame = pd.DataFrame([vars(r) for r in records], columns=["epoch", *COLUMNS, "seconds", "rate"])
    return frame.rename(columns=COLUMNS).astype({name: float for name in COLUMNS.values()})


def describe(config, n_train, batch_size, changes=(), epochs_done=None):
    """The settings of a run as one flat dict (for a table row). ``n_train`` and ``batch_size``
    are what the trainer actually used (``Trainer.n_train``, ``Trainer.batch_size``); ``changes``
    the settings changed during the run (the rate and lamda shown are those it started with, the
    changes in a column of their own); ``epochs_done``, if given, is shown against those planned."""
    ld = config.layer_data
    started = {}
    for change in changes:
        started.setdefault(change["setting"], change["old"])
    return {
        "layers": "-".join(map(str, ld["Dim"])),
        "network": describe_layers(ld),
        "epochs": config.epochs if epochs_done is None else "%d of %d" % (epochs_done, config.epochs),
        "mini_batch": "full batch" if batch_size >= n_train else str(batch_size),
        "rate": started.get("rate", config.rate),
        "lamda": started.get("lamda", config.lamda),
        "changed during the run": "; ".join(
            "%s %g → %g at epoch %.1f" % (c["setting"], c["old"], c["new"], c["epoch"]) for c in changes
        ),
        "optimizer": OPTIMIZERS[config.optimizer].label,
        "schedule": config.schedule,
        "dropout": config.dropout,
        "augment": config.augment,
        "pen_digits": config.pen_digits,
        "training images": n_train,
        "seed": config.seed,
        "init": config.init,
    }


def confusion_frame(matrix):
    """A confusion matrix as a long table (true, predicted, count) for a heat map."""
    return pd.DataFrame(
        [(i, j, int(v)) for i, row in enumerate(matrix) for j, v in enumerate(row)],
        columns=["true digit", "predicted digit", "count"],
    )
