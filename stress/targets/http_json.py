"""Any JSON API: a request template with placeholders, answers read by path expressions.

The scenario's ``target.request`` is the JSON body with ``{{placeholders}}`` where generated
input goes. A string that is exactly one placeholder becomes the value itself (a list stays
a list); a placeholder inside longer text is replaced by the value's text::

    request: {"question": "{{prompt}}", "id": "req-{{input_id}}", "options": {"n": 1}}

    {{prompt}}     the input's text (its messages' contents, one per line)
    {{messages}}   the chat messages, [{"role": ..., "content": ...}, ...]
    {{rows}}       table rows as objects, [{column: value, ...}, ...]
    {{row}}        the first row as an object
    {{values}}     the rows as lists of values in feature order
    {{columns}}    the feature names
    {{input_id}}, {{model}}, {{max_tokens}}

``target.response`` says where the answer is (``text``, ``prediction``, ``output_tokens``,
``finish_reason``: path expressions, see stress.jsonpath) and may hold a ``json_schema`` the
whole answer must match. Without ``response``, the whole answer is the prediction.
Malformed families break the filled body: they drop or retype a top-level field that holds
generated input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from stress import jsonpath
from stress.inputs.corpus import Input
from stress.scenario import PLACEHOLDER_RE, ROW_PLACEHOLDERS, Target
from stress.targets.base import (
    BaseAdapter,
    HttpRequest,
    Outcome,
    dumps,
    mangle,
    mutate,
    parse_json,
)
from stress.targets.mlflow import all_finite
from stress.targets.openai import estimate_tokens, prompt_text


class HttpJsonAdapter(BaseAdapter):
    def __init__(
        self,
        target: Target,
        *,
        columns: list[str],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(target, columns=columns, environ=environ)
        self.method = target.method
        self.takes_rows = bool(target.placeholders() & set(ROW_PLACEHOLDERS))
        response = target.response
        self.paths = {
            key: jsonpath.parse(getattr(response, key))
            for key in ("text", "prediction", "output_tokens", "finish_reason")
            if response is not None and getattr(response, key) is not None
        }
        self.validator = None
        if response is not None and response.json_schema is not None:
            from jsonschema import validators

            schema = response.json_schema
            self.validator = validators.validator_for(schema)(schema)
        # Top-level fields that hold generated input: what malformed families break.
        template = target.request
        self.generated = (
            [key for key, value in template.items() if PLACEHOLDER_RE.search(json.dumps(value))]
            if isinstance(template, dict)
            else []
        )

    def values(self, item: Input, payload: Mapping[str, Any]) -> dict[str, Any]:
        common = {
            "input_id": item.id,
            "model": self.target.model,
            "max_tokens": self.target.max_tokens,
        }
        if self.takes_rows:
            if "rows" not in payload:
                raise ValueError(
                    f"this http-json template takes table rows and cannot send the prompt "
                    f"input {item.id}; use a family made for tabular models"
                )
            rows = [{c: row.get(c) for c in self.columns} for row in payload["rows"]]
            return {
                **common,
                "rows": rows,
                "row": rows[0] if rows else {},
                "values": [[row[c] for c in self.columns] for row in rows],
                "columns": list(self.columns),
            }
        if "messages" not in payload:
            raise ValueError(
                f"this http-json template takes text ({{{{prompt}}}} or {{{{messages}}}}) and "
                f"cannot send the table-row input {item.id}; use a family made for text models"
            )
        return {**common, "prompt": prompt_text(payload), "messages": payload["messages"]}

    def fill(self, item: Input, payload: Mapping[str, Any]) -> Any:
        return _fill(self.target.request, self.values(item, payload))

    def request(self, item: Input) -> HttpRequest:
        payload = item.payload
        if item.kind in ("prompt", "rows"):
            body = dumps(self.fill(item, payload))
        elif item.kind == "mutation":
            valid = self.fill(item, payload["base"])
            if not isinstance(valid, dict) or not self.generated:
                raise ValueError(
                    f"malformed families drop or retype a top-level field of the request, but "
                    f"this template has no top-level field with a placeholder ({item.id}); "
                    f"remove the family or make target.request a JSON object"
                )
            body = dumps(mutate(valid, payload, required=self.generated, typed=self.generated))
        elif item.kind == "raw":
            body = mangle(payload, dumps(self.fill(item, payload["base"])))
        else:
            raise ValueError(f"http-json cannot send a {item.kind!r} input ({item.id})")
        return self.http(item, body, method=self.method)

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        if self.validator is not None and not self.validator.is_valid(document):
            from jsonschema.exceptions import best_match

            error = best_match(self.validator.iter_errors(document))
            where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.path)
            return Outcome(
                problem=f"answer does not match target.response.json_schema at ${where}: "
                f"{error.message[:200]}"
            )
        outcome = Outcome()
        if "text" in self.paths:
            found, text = self.paths["text"].find(document)
            if not found or not isinstance(text, str):
                where = self.paths["text"].expression
                return Outcome(problem=f"answer has no text at {where} (a string)")
            outcome.text = text
        if "prediction" in self.paths:
            found, prediction = self.paths["prediction"].find(document)
            if not found:
                where = self.paths["prediction"].expression
                return Outcome(problem=f"answer has nothing at {where}")
            outcome.prediction = prediction
        elif "text" not in self.paths:
            outcome.prediction = document
        if outcome.prediction is not None and not all_finite(outcome.prediction):
            outcome.problem = "the prediction contains NaN or Infinity"
        if "output_tokens" in self.paths:
            found, tokens = self.paths["output_tokens"].find(document)
            if found and isinstance(tokens, int) and not isinstance(tokens, bool):
                outcome.output_tokens, outcome.tokens_estimated = tokens, False
        if outcome.output_tokens is None and outcome.text is not None:
            outcome.output_tokens = estimate_tokens(outcome.text)
            outcome.tokens_estimated = True
        if "finish_reason" in self.paths:
            found, reason = self.paths["finish_reason"].find(document)
            outcome.finish_reason = reason if found and isinstance(reason, str) else None
        return outcome


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        whole = PLACEHOLDER_RE.fullmatch(template.strip())
        return values[whole.group(1)] if whole else _text(template, values)
    if isinstance(template, dict):
        return {_text(key, values): _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    return template


def _text(template: str, values: Mapping[str, Any]) -> str:
    """Placeholders inside text: strings go in as they are, other values as JSON."""

    def text(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return value if isinstance(value, str) else json.dumps(value, allow_nan=True)

    return PLACEHOLDER_RE.sub(text, str(template))
