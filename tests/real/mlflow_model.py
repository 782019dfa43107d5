"""Train an iris classifier and save it as an MLflow model (run with the MLflow venv's python).

python mlflow_model.py OUT_DIR [--spaced]

--spaced keeps scikit-learn's column names, which have spaces: "sepal length (cm)".
"""

from __future__ import annotations

import sys

import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main() -> None:
    features, labels = load_iris(return_X_y=True, as_frame=True)
    if "--spaced" not in sys.argv:
        features.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    model = LogisticRegression(max_iter=500).fit(features, labels)
    mlflow.sklearn.save_model(
        model,
        sys.argv[1],
        signature=infer_signature(features, model.predict(features)),
        # skops, MLflow 3's default, is one more package to install; the model is our own.
        serialization_format="cloudpickle",
    )


if __name__ == "__main__":
    main()
