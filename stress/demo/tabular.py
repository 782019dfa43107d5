"""An iris classifier for the demo server's MLflow-style /invocations endpoint.

Trained at start-up on the 150 iris flowers of Fisher (1936), shipped as iris.csv beside this
module (no download), by a softmax (multinomial logistic) regression on standardised features
written with numpy alone, so the core install needs no scikit-learn. Like an MLflow sklearn
model it predicts class indices, not names; the column names, per-column observed ranges and
class names are exposed so input generators can build valid and invalid rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

__all__ = ["CLASSES", "COLUMNS", "IrisClassifier", "load_iris"]

#: Feature columns, in the order the model expects them.
COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
#: Class names; prediction k names CLASSES[k].
CLASSES = ("setosa", "versicolor", "virginica")
# Full-batch gradient descent on 150 rows: converged (training accuracy 97-98%) well before
# this many steps, in a few milliseconds; the same steps every start, so the same model.
_STEPS = 500
_LEARNING_RATE = 0.5
# L2 penalty per row, as scikit-learn's LogisticRegression(C=1) has.
_L2 = 1.0 / 150


def load_iris() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The 150 flowers: features (150, 4) in COLUMNS order, centimetres; class indices (150,)."""
    text = resources.files(__package__).joinpath("iris.csv").read_text(encoding="utf-8")
    table = np.loadtxt(text.splitlines(), delimiter=",", skiprows=1)
    return table[:, :4].astype(np.float64), table[:, 4].astype(np.int64)


@dataclass(frozen=True)
class IrisClassifier:
    """Standardisation plus a softmax regression, with its input description.

    `min_values[i]` and `max_values[i]` are the smallest and largest values of `columns[i]`
    seen in training (centimetres); `classes[k]` names prediction `k`.
    """

    columns: tuple[str, ...]
    classes: tuple[str, ...]
    min_values: tuple[float, ...]
    max_values: tuple[float, ...]
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]  # (5, 3): four features and the intercept

    @classmethod
    def train(cls) -> IrisClassifier:
        """Fit on the 150 iris flowers (a few milliseconds)."""
        features, target = load_iris()
        mean, scale = features.mean(axis=0), features.std(axis=0)
        x = _with_intercept((features - mean) / scale)
        onehot = np.eye(len(CLASSES))[target]
        weights = np.zeros((x.shape[1], len(CLASSES)))
        for _ in range(_STEPS):
            gradient = x.T @ (_softmax(x @ weights) - onehot) / len(x)
            gradient[:-1] += _L2 * weights[:-1]  # the intercept is not penalised
            weights -= _LEARNING_RATE * gradient
        return cls(
            columns=COLUMNS,
            classes=CLASSES,
            min_values=tuple(float(v) for v in features.min(axis=0)),
            max_values=tuple(float(v) for v in features.max(axis=0)),
            mean=mean,
            scale=scale,
            weights=weights,
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

        Raises ValueError for non-finite values, with the message scikit-learn gives
        ("Input X contains NaN."); callers decide whether that is the client's fault (the
        demo server's quirks mode lets it become a 500, as an unguarded sklearn model does).
        """
        values = np.asarray(rows, dtype=np.float64)
        if np.isnan(values).any():
            raise ValueError("Input X contains NaN.")
        if not np.isfinite(values).all():
            raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
        scores = _with_intercept((values - self.mean) / self.scale) @ self.weights
        return [int(label) for label in scores.argmax(axis=1)]


def _with_intercept(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.hstack([x, np.ones((len(x), 1))])


def _softmax(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: npt.NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
    return result
