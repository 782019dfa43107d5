"""An iris classifier for the demo server's MLflow-style /invocations endpoint.

Trained at start-up on scikit-learn's bundled iris data (no download). Like an MLflow
sklearn model it predicts class indices, not names; the column names, per-column observed
ranges and class names are exposed so input generators can build valid and invalid rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["COLUMNS", "IrisClassifier"]

#: Feature columns, in the order the model expects them.
COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


@dataclass(frozen=True)
class IrisClassifier:
    """A fitted StandardScaler + LogisticRegression pipeline with its input description.

    `min_values[i]` and `max_values[i]` are the smallest and largest values of `columns[i]`
    seen in training (centimetres); `classes[k]` names prediction `k`.
    """

    columns: tuple[str, ...]
    classes: tuple[str, ...]
    min_values: tuple[float, ...]
    max_values: tuple[float, ...]
    pipeline: Any  # sklearn.pipeline.Pipeline; scikit-learn ships no type hints

    @classmethod
    def train(cls) -> IrisClassifier:
        """Fit on the 150 iris flowers; takes a few milliseconds after the sklearn import."""
        # Imported here so that importing this module (e.g. for COLUMNS) stays cheap.
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        iris = load_iris()
        features = np.asarray(iris.data, dtype=np.float64)
        # lbfgs on standardised iris converges in well under the default 100 iterations;
        # the explicit cap only documents that no ConvergenceWarning is expected.
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        pipeline.fit(features, iris.target)
        return cls(
            columns=COLUMNS,
            classes=tuple(str(name) for name in iris.target_names),
            min_values=tuple(float(v) for v in features.min(axis=0)),
            max_values=tuple(float(v) for v in features.max(axis=0)),
            pipeline=pipeline,
        )

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """Observed (min, max) per column name."""
        return {
            name: (low, high)
            for name, low, high in zip(self.columns, self.min_values, self.max_values, strict=True)
        }

    def predict(self, rows: npt.NDArray[np.float64]) -> list[int]:
        """Class indices for an (n, 4) array whose columns follow `columns`.

        Raises scikit-learn's ValueError for non-finite values; callers decide whether
        that is the client's fault (the demo server's quirks mode lets it become a 500).
        """
        return [int(label) for label in self.pipeline.predict(rows)]
