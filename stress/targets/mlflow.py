"""MLflow scoring servers (POST /invocations) with the dataframe_split request format."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stress.inputs.corpus import Input
from stress.scenario import Target
from stress.targets.base import (
    JSON,
    HttpRequest,
    Outcome,
    dumps,
    mangle,
    mutate,
    parse_json,
    raw_headers,
)

PATH = "/invocations"


class MlflowAdapter:
    health_path: str | None = "/health"

    def __init__(self, target: Target, *, columns: list[str]) -> None:
        self.target = target
        self.columns = columns
        self.headers = {"Content-Type": JSON, "Accept": JSON, **target.headers}

    def _body(self, rows: Mapping[str, Any]) -> dict[str, Any]:
        data = [[row.get(column) for column in self.columns] for row in rows["rows"]]
        return {"dataframe_split": {"columns": self.columns, "data": data}}

    def request(self, item: Input) -> HttpRequest:
        payload = item.payload
        if item.kind == "rows":
            body = dumps(self._body(payload))
        elif item.kind == "mutation":
            valid = self._body(payload["base"])
            fields = ["columns", "data"]
            if payload["pick"] % 3 == 0:  # break the envelope itself, a third of the time
                body = dumps(
                    mutate(valid, payload, required=["dataframe_split"], typed=["dataframe_split"])
                )
            else:
                inner = mutate(valid["dataframe_split"], payload, required=fields, typed=fields)
                body = dumps({"dataframe_split": inner})
        elif item.kind == "raw":
            body = mangle(payload, dumps(self._body(payload["base"])))
            return HttpRequest("POST", PATH, raw_headers(payload, self.headers), body)
        else:
            raise ValueError(f"mlflow cannot send a {item.kind!r} input ({item.id})")
        return HttpRequest("POST", PATH, dict(self.headers), body)

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
        flat = [value for value in predictions if isinstance(value, float)]
        if any(not math.isfinite(value) for value in flat):
            return Outcome(problem="predictions contain NaN or Infinity", prediction=predictions)
        return Outcome(prediction=predictions)
