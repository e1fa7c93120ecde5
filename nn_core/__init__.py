"""nn_core: a neural network for handwritten digits, written from scratch in NumPy.

The pieces, one concern per module:

- ``network``: parameters (``params`` with ``W1, b1, ...``), forward and backward propagation,
  cross-entropy cost with L2 regularisation (``lamda``), accuracy.
- ``activations``: sigmoid, relu, leaky relu, tanh, softmax, as one table.
- ``optimizers``: gradient descent, momentum, Adam.
- ``training``: ``TrainConfig`` and ``Trainer``, the one training loop (one record per epoch).
- ``augment``: random distortions of digits for training.
- ``data`` / ``download``: MNIST and Kaggle CSV files, and fetching the data sets.
- ``pendigits``: real people's pen-drawn digits, drawn again as on the canvas.
- ``model``: ``Model`` (a trained network) and ``from_run``, a finished run as a ``Model``.
- ``storage``: model files (``.npz`` without pickle, plus readable metadata).
- ``preprocess``: any picture of a digit -> MNIST-style 28x28.
- ``metrics``: accuracy, per-class accuracy, confusion matrix.
- ``runspec``: a run as a small description (settings, data recipe, owner) and the one function
  that builds its training set.
- ``runner`` / ``runs`` / ``worker``: training runs for the app on Dask workers, recorded in a
  store that any process can read; ``database`` is the plumbing (SQLite or PostgreSQL) shared with
  ``drawings`` and ``models``.
- ``drawings``: the digits people correct on the Draw page.
- ``seed``: weights pickled by the original design, read without running anything.

It is written to be read: clarity comes first, then speed (float32, vectorised over each batch).
"""

from .model import Model
from .network import acc, back_prop, cost, forw_prop, init_params, one_hot, predict_proba
from .storage import ModelFileError, load_model, save_model
from .training import EpochRecord, TrainConfig, Trainer

__all__ = [
    "acc",
    "back_prop",
    "cost",
    "forw_prop",
    "init_params",
    "one_hot",
    "predict_proba",
    "Model",
    "ModelFileError",
    "load_model",
    "save_model",
    "EpochRecord",
    "TrainConfig",
    "Trainer",
]
