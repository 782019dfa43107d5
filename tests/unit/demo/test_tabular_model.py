"""The demo's numpy iris model: trained on the shipped data, refuses non-finite rows with the
words scikit-learn uses (what an unguarded MLflow sklearn model answers in its 500)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from stress.demo.tabular import CLASSES, COLUMNS, IrisClassifier, load_iris


def test_the_shipped_data_is_the_150_flowers() -> None:
    features, target = load_iris()
    assert features.shape == (150, len(COLUMNS))
    assert np.bincount(target).tolist() == [50, 50, 50]
    assert features[0].tolist() == [5.1, 3.5, 1.4, 0.2]


def test_the_model_fits_the_flowers() -> None:
    features, target = load_iris()
    model = IrisClassifier.train()
    accuracy = float(np.mean(np.array(model.predict(features)) == target))
    assert accuracy >= 0.95
    assert model.classes == CLASSES
    assert model.ranges["petal_length"] == (1.0, 6.9)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "Input X contains NaN."),
        (float("inf"), "Input X contains infinity or a value too large for dtype('float64')."),
    ],
)
def test_non_finite_rows_are_refused_in_scikit_learns_words(value: float, message: str) -> None:
    model = IrisClassifier.train()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.predict(np.array([[5.1, value, 1.4, 0.2]]))
