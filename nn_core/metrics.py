"""Measures of a classifier on labelled data: accuracy, per-class accuracy, confusion matrix."""

import numpy as np

from .network import N_CLASSES, acc


def confusion_matrix(y_true, y_pred, n_classes=N_CLASSES):
    """``C[i, j]`` counts the samples of true class ``i`` predicted as class ``j``."""
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return C


def evaluate(model, images, labels):
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
