"""Shared fixtures. MNIST is read from ``NN_CORE_DATA_DIR`` (``.ci/run`` sets it); tests that need
it fail with the loader's message when it is missing rather than passing silently."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nn_core import data  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="session")
def shipped_model():
    from nn_core.storage import WEIGHTS_DIR, load_model

    return load_model(WEIGHTS_DIR / "default.npz")


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    """A private weights folder, so tests never touch the project's own models."""
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("NN_CORE_WEIGHTS_DIR", str(folder))
    return folder


def blobs(n=300, seed=0):
    """A small, linearly separable 3-class problem in 4 dimensions (rows, labels)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2, 0, 0, 1], [0, 2, 0, -1], [0, 0, 2, 0]], dtype=np.float32)
    y = rng.integers(0, 3, n)
    X = centres[y] + 0.3 * rng.standard_normal((n, 4)).astype(np.float32)
    return X.astype(np.float32), y
