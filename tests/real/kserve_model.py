"""An iris classifier served by KServe's ModelServer, speaking both REST protocols.

    python kserve_model.py PORT [--v1-only]       (with the KServe venv's python)

v1 (KServe v1 / TF-Serving style): POST /v1/models/iris:predict {"instances": [[...], ...]}
v2 (Open Inference Protocol):      POST /v2/models/iris/infer with one FP32/FP64 tensor

--v1-only: the same ModelServer without its v2 routes (every /v2 path answers 404), as a
v1-only deployment looks to a client. gRPC is off (its fixed port 8081 would keep two servers
from running side by side).
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
    if "--v1-only" in sys.argv:
        from kserve.protocol.rest import server

        # RESTServer registers its routes through this module-level name (kserve 0.14 on).
        if not hasattr(server, "register_v2_endpoints"):
            sys.exit("--v1-only: this kserve has no rest.server.register_v2_endpoints")
        server.register_v2_endpoints = lambda *args, **kwargs: None
    kserve.ModelServer(http_port=int(sys.argv[1]), workers=1, enable_grpc=False).start([Iris()])
