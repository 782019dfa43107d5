"""An iris classifier served by KServe's ModelServer, speaking both REST protocols.

    python kserve_model.py PORT        (with the KServe venv's python)

v1 (KServe v1 / TF-Serving style): POST /v1/models/iris:predict {"instances": [[...], ...]}
v2 (Open Inference Protocol):      POST /v2/models/iris/infer with one FP32/FP64 tensor
"""

from __future__ import annotations

import sys
from typing import Any

import kserve
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


class Iris(kserve.Model):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("iris")
        features, labels = load_iris(return_X_y=True)
        self.classifier = LogisticRegression(max_iter=500).fit(features, labels)
        self.ready = True

    def predict(self, payload: Any, headers: Any = None) -> Any:
        if isinstance(payload, dict):  # v1
            rows = np.asarray(payload["instances"], dtype=float)
            return {"predictions": self.classifier.predict(rows).tolist()}
        rows = payload.inputs[0].as_numpy()
        labels = self.classifier.predict(rows).tolist()
        output = kserve.InferOutput("output-0", [len(labels)], "INT64", labels)
        return kserve.InferResponse(
            model_name="iris", infer_outputs=[output], response_id=payload.id
        )


if __name__ == "__main__":
    kserve.ModelServer(http_port=int(sys.argv[1]), workers=1).start([Iris()])
