"""A trained network as one object, and the one place where a finished training run becomes one.

``Model`` bundles the architecture (``layer_data``), the parameters (``params``) and what is known
about them (``meta``: hyperparameters, test accuracy, training time, history, date, versions).
``from_run`` is how the command line and the Train page both turn a ``Trainer`` into a ``Model``,
so a model saved from either carries the same metadata. Files are ``storage``'s business.
"""

import dataclasses
import datetime
import platform
from pathlib import Path

import numpy as np

from .metrics import evaluate
from .network import predict_proba


@dataclasses.dataclass
class Model:
    """A trained network: its architecture, its parameters and what is known about it."""

    layer_data: dict
    params: dict
    meta: dict = dataclasses.field(default_factory=dict)
    path: Path | None = None

    def predict_proba(self, images):
        """Class probabilities, one row per image (see ``network.predict_proba``)."""
        return predict_proba(self.params, self.layer_data, images)


def from_run(trainer, seconds, test_images=None, test_labels=None, command="", data="", started_from=None):
    """The network of a finished (or stopped) ``trainer`` as a ``Model`` with its full metadata,
    measured on the test set when one is given; returns ``(model, result)``, ``result`` being
    ``metrics.evaluate``'s dict or None. ``command`` says how the run was started, ``data`` what
    it trained on, ``started_from`` the name of the model it fine-tuned (None: random weights)."""
    config = trainer.config
    meta = {
        "hyperparameters": {k: v for k, v in config.to_dict().items() if k != "layer_data"},
        "n_train": trainer.n_train,
        "batch_size": trainer.batch_size,
        "history": [vars(r) for r in trainer.history],
        "changes": list(trainer.changes),
        "train_seconds": round(seconds, 1),
        "status": trainer.status,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "data": data,
        "started_from": started_from,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    model = Model(config.layer_data, trainer.params, meta)
    result = None
    if test_images is not None:
        result = evaluate(model, test_images, test_labels)
        meta["test_accuracy"], meta["test_n"] = result["accuracy"], result["n"]
    return model, result
