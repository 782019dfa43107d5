"""MLflow scoring servers (``mlflow models serve``): POST /invocations.

``target.format`` picks the request layout MLflow accepts (the first is the default):

    dataframe_split     {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
    dataframe_records   {"dataframe_records": [{column: value, ...}, ...]}
    instances           {"instances": [{column: value, ...}, ...]}   (tensor input, named)
    inputs              {"inputs": {column: [value, ...], ...}}       (tensor input, columnar)

The answer is ``{"predictions": [...]}`` (MLflow 2 and 3); MLflow 1's bare list is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stress.inputs.corpus import Input
from stress.scenario import FORMATS, Protocol, Target
from stress.targets.base import (
    BaseAdapter,
    HttpRequest,
    Outcome,
    dumps,
    mangle,
    mutate,
    parse_json,
)

PATH = "/invocations"


class MlflowAdapter(BaseAdapter):
    default_path = PATH
    health_path: str | None = "/health"

    def __init__(
        self,
        target: Target,
        *,
        columns: list[str],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(target, columns=columns, environ=environ)
        self.format = target.format or FORMATS[Protocol.MLFLOW][0]

    def _body(self, rows: Mapping[str, Any]) -> dict[str, Any]:
        records = [{column: row.get(column) for column in self.columns} for row in rows["rows"]]
        if self.format == "dataframe_records":
            return {"dataframe_records": records}
        if self.format == "instances":
            return {"instances": records}
        if self.format == "inputs":
            return {"inputs": {c: [record[c] for record in records] for c in self.columns}}
        data = [[record[column] for column in self.columns] for record in records]
        return {"dataframe_split": {"columns": self.columns, "data": data}}

    def request(self, item: Input) -> HttpRequest:
        payload = item.payload
        if item.kind == "rows":
            body = dumps(self._body(payload))
        elif item.kind == "mutation":
            body = dumps(self._mutation(payload))
        elif item.kind == "raw":
            body = mangle(payload, dumps(self._body(payload["base"])))
        else:
            raise ValueError(
                f"mlflow sends table rows and cannot send a {item.kind!r} input ({item.id}); "
                f"use a family made for tabular models"
            )
        return self.http(item, body)

    def _mutation(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        valid = self._body(payload["base"])
        (key,) = valid
        inner = valid[key]
        if payload["pick"] % 3 == 0 or not isinstance(inner, dict):
            # Break the envelope itself: a third of the time, and always for the list layouts.
            return mutate(valid, payload, required=[key], typed=[key])
        fields = list(inner)
        return {key: mutate(inner, payload, required=fields, typed=fields)}

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        if isinstance(document, list):  # MLflow 1.x answered with the bare list
            document = {"predictions": document}
        if not isinstance(document, dict) or "predictions" not in document:
            return Outcome(problem="answer has no 'predictions' key")
        predictions = document["predictions"]
        if not isinstance(predictions, list | dict):
            return Outcome(problem="'predictions' is not a list (or a dict of columns)")
        # NaN or Infinity among the predictions is a wrong value, not a wrong shape: the
        # prediction_values check reports it (and strict_json the bare token).
        return Outcome(prediction=predictions)


def all_finite(value: Any) -> bool:
    """Whether every float anywhere in a JSON value is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(all_finite(item) for item in value)
    if isinstance(value, dict):
        return all(all_finite(item) for item in value.values())
    return True
