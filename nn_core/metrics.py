"""Measures of a classifier on labelled data: accuracy, per-class accuracy, confusion matrix."""

from typing import TYPE_CHECKING, Any

import numpy as np

from .network import N_CLASSES, acc

if TYPE_CHECKING:
    from .model import Model


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int = N_CLASSES) -> np.ndarray:
    """``C[i, j]`` counts the samples of true class ``i`` predicted as class ``j``."""
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return C


def evaluate(model: "Model", images: np.ndarray, labels: Any) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion matrix of ``model`` on ``images``/``labels``."""
    labels = np.asarray(labels)
    P = model.predict_proba(images)
    C = confusion_matrix(labels, P.argmax(axis=1), model.layer_data["Dim"][-1])
    per_class = np.diag(C) / np.maximum(C.sum(axis=1), 1)
    return {
        "accuracy": acc(P.T, labels),
        "n": int(labels.size),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": C.tolist(),
    }
