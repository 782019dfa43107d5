"""KServe and friends: the Open Inference Protocol (v2) and the TF-Serving-style v1 protocol.

kserve-v2 (KServe ModelServer, Triton, MLServer, Seldon): POST /v2/models/{model}/infer with
one input tensor holding the feature rows, flattened row-major, and the input id as the
request id (servers echo it; KServe's ModelServer fails to answer a request without one when
the model sets ``response_id=payload.id``)::

    {"id": "<input id>", "inputs": [{"name": "input-0", "shape": [rows, columns],
                                     "datatype": "FP32", "data": [5.1, 3.5, ...]}]}

and an answer ``{"model_name", "outputs": [{"name", "shape", "datatype", "data"}]}`` whose
tensors are checked: a known datatype, a shape of non-negative integers, as many data items
as the shape says, finite numbers. Readiness: GET /v2/models/{model}/ready.

kserve-v1 (KServe v1, TF-Serving REST): POST /v1/models/{model}:predict with
``{"instances": [[...], ...]}`` (``format: instances``, the default) or with rows as objects
(``format: instances_records``); the answer is ``{"predictions": [...]}``. Readiness:
GET /v1/models/{model}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stress.inputs import protocol_schemas
from stress.inputs.corpus import Input
from stress.scenario import FORMATS, Protocol, Target
from stress.targets.base import (
    BaseAdapter,
    HttpRequest,
    Outcome,
    dumps,
    excerpt,
    mangle,
    mutate,
    parse_json,
)
from stress.targets.mlflow import all_finite

# Every datatype the Open Inference Protocol defines.
OIP_DATATYPES = frozenset(protocol_schemas.OIP_DATATYPES)
TENSOR_FIELDS = ["name", "shape", "datatype", "data"]


class _TabularAdapter(BaseAdapter):
    name = "kserve"

    def body(self, rows: Mapping[str, Any], item: Input) -> dict[str, Any]:
        raise NotImplementedError

    def mutation(self, payload: Mapping[str, Any], item: Input) -> dict[str, Any]:
        raise NotImplementedError

    def request(self, item: Input) -> HttpRequest:
        payload = item.payload
        if item.kind == "rows":
            body = dumps(self.body(payload, item))
        elif item.kind == "mutation":
            body = dumps(self.mutation(payload, item))
        elif item.kind == "raw":
            body = mangle(payload, dumps(self.body(payload["base"], item)))
        else:
            raise ValueError(
                f"{self.name} sends table rows and cannot send a {item.kind!r} input "
                f"({item.id}); use a family made for tabular models"
            )
        return self.http(item, body)

    def values(self, rows: Mapping[str, Any]) -> list[list[Any]]:
        return [[row.get(column) for column in self.columns] for row in rows["rows"]]


class KServeV2Adapter(_TabularAdapter):
    """Open Inference Protocol REST: POST /v2/models/{model}/infer."""

    default_path = "/v2/models/{model}/infer"
    health_path: str | None = "/v2/health/ready"
    name = "kserve-v2"

    def body(self, rows: Mapping[str, Any], item: Input) -> dict[str, Any]:
        values = self.values(rows)
        flat = [value for row in values for value in row]
        if self.target.datatype.startswith(("INT", "UINT")):
            flat = [_integer(value) for value in flat]
        tensor = {
            "name": self.target.input_name,
            "shape": [len(values), len(self.columns)],
            "datatype": self.target.datatype,
            "data": flat,
        }
        return {"id": item.id, "inputs": [tensor]}

    def mutation(self, payload: Mapping[str, Any], item: Input) -> dict[str, Any]:
        valid = self.body(payload["base"], item)
        if payload["pick"] % 3 == 0:  # the envelope, a third of the time
            return mutate(valid, payload, required=["inputs"], typed=["inputs"])
        tensor = mutate(valid["inputs"][0], payload, required=TENSOR_FIELDS, typed=TENSOR_FIELDS)
        return {"id": item.id, "inputs": [tensor]}

    def readiness(self) -> HttpRequest | None:
        if self.target.health is not None:
            return self.get(self.target.health)
        return self.get("/v2/models/{model}/ready")

    def judge_readiness(self, status: int, body: bytes) -> tuple[bool | None, str]:
        if self.target.health is not None or 200 <= status < 300:
            return super().judge_readiness(status, body)
        if status in (400, 404):
            return False, (
                f"model {self.target.model!r} is not served there (GET /v2/models/"
                f"{self.target.model}/ready answered HTTP {status}: {excerpt(body)}); check "
                f"target.model"
            )
        if status == 503:
            return False, f"model {self.target.model!r} is not ready yet (HTTP 503)"
        return None, ""

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        if not isinstance(document, dict):
            return Outcome(problem="answer is not a JSON object")
        outputs = document.get("outputs")
        if not isinstance(outputs, list) or not outputs:
            return Outcome(problem="answer has no 'outputs' list")
        predictions: dict[str, Any] = {}
        for index, output in enumerate(outputs):
            problem = _tensor_problem(output, f"outputs[{index}]")
            if problem:
                return Outcome(problem=problem)
            predictions[output["name"]] = output["data"]
        prediction: Any = outputs[0]["data"] if len(outputs) == 1 else predictions
        if not all_finite(prediction):
            return Outcome(problem="outputs contain NaN or Infinity", prediction=prediction)
        return Outcome(prediction=prediction)


class KServeV1Adapter(_TabularAdapter):
    """KServe v1 / TF-Serving REST: POST /v1/models/{model}:predict with instances."""

    default_path = "/v1/models/{model}:predict"
    health_path: str | None = "/v1/models/{model}"
    name = "kserve-v1"

    def __init__(
        self,
        target: Target,
        *,
        columns: list[str],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(target, columns=columns, environ=environ)
        self.format = target.format or FORMATS[Protocol.KSERVE_V1][0]

    def body(self, rows: Mapping[str, Any], item: Input) -> dict[str, Any]:
        if self.format == "instances_records":
            values = self.values(rows)
            return {"instances": [dict(zip(self.columns, row, strict=True)) for row in values]}
        return {"instances": self.values(rows)}

    def mutation(self, payload: Mapping[str, Any], item: Input) -> dict[str, Any]:
        valid = self.body(payload["base"], item)
        return mutate(valid, payload, required=["instances"], typed=["instances"])

    def readiness(self) -> HttpRequest | None:
        if self.target.health is not None:
            return self.get(self.target.health)
        return self.get("/v1/models/{model}")

    def judge_readiness(self, status: int, body: bytes) -> tuple[bool | None, str]:
        if self.target.health is not None:
            return super().judge_readiness(status, body)
        if status == 404:
            return False, (
                f"model {self.target.model!r} is not served there (GET /v1/models/"
                f"{self.target.model} answered HTTP 404: {excerpt(body)}); check target.model"
            )
        if not 200 <= status < 300:
            return None, ""
        document, _ = parse_json(body)
        if isinstance(document, dict) and document.get("ready") is False:  # KServe
            return False, f"model {self.target.model!r} is loaded but not ready"
        states = document.get("model_version_status") if isinstance(document, dict) else None
        if isinstance(states, list) and states and not _available(states):  # TF-Serving
            return False, f"model {self.target.model!r} has no AVAILABLE version yet"
        return True, ""

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        if not isinstance(document, dict) or "predictions" not in document:
            return Outcome(problem="answer has no 'predictions' key")
        predictions = document["predictions"]
        if not isinstance(predictions, list):
            return Outcome(problem="'predictions' is not a list")
        if not all_finite(predictions):
            return Outcome(problem="predictions contain NaN or Infinity", prediction=predictions)
        return Outcome(prediction=predictions)


def _available(states: list[Any]) -> bool:
    return any(isinstance(s, dict) and s.get("state") == "AVAILABLE" for s in states)


def _integer(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return value


def _tensor_problem(output: Any, where: str) -> str | None:
    """What is wrong with one response tensor, or None."""
    if not isinstance(output, dict):
        return f"{where} is not an object"
    missing = [key for key in ("name", "shape", "datatype", "data") if key not in output]
    if missing:
        return f"{where} has no {', '.join(repr(key) for key in missing)}"
    if not isinstance(output["name"], str):
        return f"{where}.name is not a string"
    datatype = output["datatype"]
    if datatype not in OIP_DATATYPES:
        return f"{where}.datatype {datatype!r} is not an Open Inference Protocol datatype"
    shape = output["shape"]
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        return f"{where}.shape is not a list of non-negative integers: {shape!r:.80}"
    data = output["data"]
    if not isinstance(data, list):
        return f"{where}.data is not a list"
    count = len(_flatten(data))
    expected = math.prod(shape)
    if count != expected:
        return f"{where} has {count} data items but its shape {shape} says {expected}"
    return None


def _flatten(data: list[Any]) -> list[Any]:
    flat: list[Any] = []
    stack = [data]
    while stack:
        for item in stack.pop():
            if isinstance(item, list):
                stack.append(item)
            else:
                flat.append(item)
    return flat
