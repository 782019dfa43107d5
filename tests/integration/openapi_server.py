"""A small JSON API implementing tests/fixtures/openapi/reviews.yaml, for the OpenAPI import tests.

Run as ``python openapi_server.py PORT``. It serves the document at ``/openapi.json`` and
``POST /api/score``, which validates the body by hand (not with stress's converter: the test
must not grade stress with stress) and answers 422 to anything the spec forbids. One
deliberate bug: a review in French gets the label ``"mixed"``, which the response schema's
enum does not allow, so a run must flag it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SPEC = Path(__file__).parent.parent / "fixtures" / "openapi" / "reviews.yaml"


def problem(body: Any) -> str | None:
    """What makes ``body`` invalid under the ScoreRequest schema (None: valid)."""
    if not isinstance(body, dict):
        return "the body must be an object"
    allowed = {"text", "language", "rating_hint", "options", "tags"}
    if set(body) - allowed:
        return f"unknown keys {sorted(set(body) - allowed)}"
    text = body.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= 2000:
        return "text: a string of 1 to 2000 characters"
    if body.get("language") not in ("en", "de", "fr"):
        return "language: en, de or fr"
    hint = body.get("rating_hint")
    if "rating_hint" in body and hint is not None and not (_integer(hint) and 1 <= hint <= 5):
        return "rating_hint: an integer from 1 to 5, or null"
    tags = body.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 5:
        return "tags: at most 5"
    if any(not isinstance(tag, str) or len(tag) > 20 for tag in tags):
        return "tags: strings of at most 20 characters"
    options = body.get("options")
    if not isinstance(options, dict) or set(options) - {"threshold", "top_k", "weights"}:
        return "options: an object with threshold, top_k, weights"
    threshold = options.get("threshold")
    if not _number(threshold) or not 0 < threshold <= 1:
        return "options.threshold: a number in (0, 1]"
    if "top_k" in options and not (_integer(options["top_k"]) and 1 <= options["top_k"] <= 10):
        return "options.top_k: an integer from 1 to 10"
    if "weights" in options:
        weights = options["weights"]
        if not isinstance(weights, list) or not 1 <= len(weights) <= 3:
            return "options.weights: 1 to 3 items"
        for weight in weights:
            if not isinstance(weight, dict) or set(weight) != {"name", "value"}:
                return "options.weights[]: name and value"
            if weight["name"] not in ("length", "tone"):
                return "options.weights[].name: length or tone"
            if not _number(weight["value"]) or not -1 <= weight["value"] <= 1:
                return "options.weights[].value: a number from -1 to 1"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return _number(value) and float(value).is_integer()


async def score(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"detail": "not JSON"}, status_code=422)
    wrong = problem(body)
    if wrong:
        return JSONResponse({"detail": wrong}, status_code=422)
    label = "mixed" if body["language"] == "fr" else ("positive", "negative")[len(body["text"]) % 2]
    return JSONResponse({"label": label, "score": 0.5, "explanation": None})


async def openapi(request: Request) -> Response:
    return JSONResponse(yaml.safe_load(SPEC.read_text()))


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/openapi.json", openapi),
        Route("/api/health", health),
        Route("/api/score", score, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
