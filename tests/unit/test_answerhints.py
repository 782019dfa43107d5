"""What `stress init` writes under answers: from an OpenAPI response schema, from the probe's
answer, and through scaffold.probe (httpx.MockTransport) into a scenario that validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stress import answerhints, scaffold, scaffold_probe
from stress.answerhints import Declared, from_answer, from_schema
from stress.scenario import Protocol, Target
from stress.targets import adapter_for

NUMBER = {"type": "number"}


def bounded(low: float | None = None, high: float | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    return schema


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def said(declared: Declared) -> tuple[Any, Any, Any]:
    return declared.labels, declared.min_value, declared.max_value


@pytest.mark.parametrize(
    ("schema", "path", "expected"),
    [
        # The hull of every number's bounds; a side any number leaves open stays open.
        (obj(a=bounded(0, 10), b=bounded(-5, 3)), None, (None, -5.0, 10.0)),
        (obj(a=bounded(0, 10), b=bounded(1)), None, (None, 0.0, None)),
        (obj(a=bounded(0, 2), b=NUMBER), None, (None, None, None)),
        # A field named as a probability is [0, 1] unless it says otherwise.
        (obj(score=bounded(0, 5), probability=NUMBER), None, (None, 0.0, 5.0)),
        (obj(probs={"type": "array", "items": NUMBER}), None, (None, 0.0, 1.0)),
        # Labels: every string's enum, only when every string has one.
        (
            obj(label={"type": "string", "enum": ["cat", "dog"]}, p=bounded(0, 1)),
            None,
            (["cat", "dog"], 0.0, 1.0),
        ),
        (
            obj(label={"type": "string", "enum": ["cat"]}, id={"type": "string"}),
            None,
            (None, None, None),
        ),
        (obj(kind={"const": "x"}), None, (["x"], None, None)),
        # The prediction path's part only; $defs and nullable anyOf are followed.
        (
            {
                **obj(
                    prediction={"$ref": "#/$defs/P"},
                    model={"type": "string"},
                    latency=NUMBER,
                ),
                "$defs": {"P": {"anyOf": [bounded(0, 100), {"type": "null"}]}},
            },
            "$.prediction",
            (None, 0.0, 100.0),
        ),
    ],
)
def test_ranges_and_labels_from_a_response_schema(
    schema: dict[str, Any], path: str | None, expected: tuple[Any, Any, Any]
) -> None:
    assert said(from_schema(schema, path)) == expected


def outcome_of(protocol: str, answer: Any) -> tuple[Any, bytes]:
    body = json.dumps(answer).encode()
    target = Target.model_validate({"url": "http://x", "protocol": protocol})
    return adapter_for(target, features=["a"]).parse(200, {}, body), body


def test_the_probe_answer_names_its_classes() -> None:
    row = {"label": "b", "score": 2.5, "probabilities": {"a": 0.2, "b": 0.7, "c": 0.1}}
    outcome, body = outcome_of("mlflow", {"predictions": [row]})
    declared = from_answer("mlflow", outcome, body)
    assert said(declared) == (["a", "b", "c"], None, None)
    assert declared.probabilities == ["predictions[*].probabilities.*"]
    # Unnamed, but summing to 1: class names too.
    outcome, body = outcome_of("kserve-v1", {"predictions": [{"x": 0.25, "y": 0.75}]})
    assert from_answer("kserve-v1", outcome, body).labels == ["x", "y"]


def test_labels_the_probe_cannot_vouch_for_are_only_a_comment() -> None:
    # A string that is not a class ("v3") would turn the labels into false alarms.
    row = {"label": "b", "model": "v3", "probabilities": {"a": 0.3, "b": 0.7}}
    outcome, body = outcome_of("mlflow", {"predictions": [row]})
    declared = from_answer("mlflow", outcome, body)
    assert declared.labels is None
    assert declared.seen_labels == ["b", "v3"]
    # One label seen, no class list: a comment to complete by hand.
    outcome, body = outcome_of("mlflow", {"predictions": ["setosa"]})
    declared = from_answer("mlflow", outcome, body)
    assert declared.labels is None
    text = "\n".join(answerhints.lines(declared))
    assert '# labels: ["setosa"]' in text
    assert yaml.safe_load(text) is None  # comments only


def test_the_schema_wins_and_the_probe_fills_in() -> None:
    row = {"label": "b", "probabilities": {"a": 0.3, "b": 0.7}}
    outcome, body = outcome_of("mlflow", {"predictions": [row]})
    schema = obj(label={"type": "string", "enum": ["a", "b", "z"]}, p=bounded(0, 1))
    assert said(answerhints.learn("mlflow", outcome, body, schema)) == (["a", "b", "z"], 0.0, 1.0)
    assert said(answerhints.learn("mlflow", outcome, body, obj(p=bounded(0, 1)))) == (
        ["a", "b"],
        0.0,
        1.0,
    )


def test_the_answers_section_validates(tmp_path: Path) -> None:
    plan = scaffold.Plan(
        url="http://h:1",
        protocol=Protocol.MLFLOW,
        name="n",
        features={"a": (0.0, 1.0)},
    )
    probe = scaffold.Probe("", 200, 10.0, "", "i")
    probe.answers = answerhints.lines(
        Declared(
            labels=["a", "b: c"],
            min_value=0.0,
            max_value=1.0,
            sources=dict.fromkeys(("labels", "min_value", "max_value"), "a test"),
        )
    )
    text = scaffold.render(plan, probe=probe)
    scenario = scaffold.check(text, source=str(tmp_path / "s.yaml"), inputs=False)
    answers = scenario.answers
    assert (answers.labels, answers.min_value, answers.max_value) == (["a", "b: c"], 0.0, 1.0)


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/predict": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text"],
                                "properties": {"text": {"type": "string"}},
                            }
                        }
                    }
                },
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["prediction"],
                                    "properties": {
                                        "prediction": bounded(-1, 250),
                                        "model": {"type": "string"},
                                    },
                                }
                            }
                        },
                    }
                },
            }
        }
    },
}


def test_init_writes_the_openapi_response_range(tmp_path: Path) -> None:
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps(OPENAPI))
    plan = scaffold.Plan(url="http://h:1", protocol=Protocol.HTTP_JSON, name="n", openapi=spec.name)
    scenario = scaffold.check(scaffold.render(plan), source=str(tmp_path / "s.yaml"))

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/predict":
            return httpx.Response(200, json={"prediction": 42.5, "model": "m1"})
        return httpx.Response(404, json={"detail": "Not Found"})

    probe = scaffold.probe(scenario, {}, transport=httpx.MockTransport(handle))
    data = yaml.safe_load(scaffold.render(plan, probe=probe))
    assert data["answers"] == {"min_value": -1, "max_value": 250}
    # A refused probe says nothing about answers.
    refused = scaffold_probe.answers(scenario, probe, 400, b'{"prediction": 1}')
    assert refused == []
