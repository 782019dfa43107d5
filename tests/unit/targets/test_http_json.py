"""http-json: request templates filled from inputs, answers read by paths and a JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stress.inputs.corpus import Input
from stress.scenario import Protocol, ResponseMap, Target
from stress.targets import adapter_for

URL = "http://127.0.0.1:9"
PROMPT = {"messages": [{"role": "user", "content": 'say "hi"'}]}
ROWS = {"rows": [{"a": 1.5, "b": 2.0, "extra": 9}, {"a": 3.0, "b": 4.0}]}
JSON_HEADERS = {"content-type": "application/json"}


def target(request: Any, **response: Any) -> Target:
    return Target(
        url=URL,
        protocol=Protocol.HTTP_JSON,
        path="/api/generate",
        model="tiny",
        request=request,
        response=ResponseMap(**response) if response else None,
    )


def item(kind: str = "prompt", payload: dict | None = None) -> Input:
    return Input("fam-0007", "fam", "accept", kind, payload or PROMPT)


def test_whole_placeholders_become_values_and_inner_ones_text() -> None:
    template = {
        "query": "{{prompt}}",
        "history": "{{messages}}",
        "trace": "run-{{input_id}} for {{model}} ({{max_tokens}} tokens)",
        "options": {"n": 1, "tags": ["a", "{{ input_id }}"]},
    }
    request = adapter_for(target(template)).request(item())
    assert (request.method, request.path) == ("POST", "/api/generate")
    assert json.loads(request.body) == {
        "query": 'say "hi"',
        "history": PROMPT["messages"],
        "trace": "run-fam-0007 for tiny (64 tokens)",
        "options": {"n": 1, "tags": ["a", "fam-0007"]},
    }
    assert request.headers["X-Stress-Input-Id"] == "fam-0007"


def test_row_placeholders() -> None:
    template = {"rows": "{{rows}}", "first": "{{row}}", "x": "{{values}}", "cols": "{{columns}}"}
    adapter = adapter_for(target(template), features=["a", "b"])
    body = json.loads(adapter.request(item("rows", ROWS)).body)
    assert body == {
        "rows": [{"a": 1.5, "b": 2.0}, {"a": 3.0, "b": 4.0}],
        "first": {"a": 1.5, "b": 2.0},
        "x": [[1.5, 2.0], [3.0, 4.0]],
        "cols": ["a", "b"],
    }


def test_a_template_takes_prompts_or_rows_and_says_so() -> None:
    with pytest.raises(ValueError, match="takes text"):
        adapter_for(target({"q": "{{prompt}}"})).request(item("rows", ROWS))
    with pytest.raises(ValueError, match="takes table rows"):
        adapter_for(target({"x": "{{values}}"}), features=["a"]).request(item())


@pytest.mark.parametrize("pick", range(8))
def test_mutations_break_only_fields_that_hold_input(pick: int) -> None:
    adapter = adapter_for(target({"query": "{{prompt}}", "id": "{{input_id}}", "fixed": 1}))
    for op in ("missing_field", "wrong_type"):
        payload = {"op": op, "pick": pick, "wrong_value": None, "base": PROMPT}
        body = json.loads(adapter.request(item("mutation", payload)).body)
        assert body["fixed"] == 1
        changed = {
            k for k in ("query", "id") if body.get(k) != json.loads(adapter.request(item()).body)[k]
        }
        assert len(changed) == 1


def test_mutations_need_an_object_template() -> None:
    adapter = adapter_for(target(["{{prompt}}"]))
    payload = {"op": "missing_field", "pick": 0, "wrong_value": None, "base": PROMPT}
    with pytest.raises(ValueError, match="top-level field"):
        adapter.request(item("mutation", payload))


ANSWER = b'{"result": {"text": "hello", "tokens": 3, "stop": "eos"}, "scores": [0.5, 0.25]}'


def test_paths_pick_the_parts_of_the_answer() -> None:
    adapter = adapter_for(
        target(
            {"q": "{{prompt}}"},
            text="$.result.text",
            output_tokens="$.result.tokens",
            finish_reason="$['result']['stop']",
        )
    )
    outcome = adapter.parse(200, JSON_HEADERS, ANSWER)
    assert (outcome.problem, outcome.text, outcome.output_tokens) == (None, "hello", 3)
    assert (outcome.finish_reason, outcome.tokens_estimated) == ("eos", False)


def test_without_a_response_map_the_whole_answer_is_the_prediction() -> None:
    outcome = adapter_for(target({"q": "{{prompt}}"})).parse(200, JSON_HEADERS, ANSWER)
    assert outcome.prediction == json.loads(ANSWER)


@pytest.mark.parametrize(
    ("response", "answer", "problem"),
    [
        ({"text": "$.result.text"}, b'{"result": {}}', "no text at $.result.text"),
        ({"text": "$.result.text"}, b'{"result": {"text": 5}}', "no text at $.result.text"),
        ({"prediction": "$.scores[5]"}, ANSWER, "nothing at $.scores[5]"),
        ({"prediction": "$.scores"}, b'{"scores": [0.5, NaN]}', "NaN or Infinity"),
        ({}, b"plain text", "not valid JSON"),
        (
            {"json_schema": {"type": "object", "required": ["result"]}},
            b'{"other": 1}',
            "does not match target.response.json_schema at $: 'result' is a required property",
        ),
        (
            {
                "json_schema": {
                    "type": "object",
                    "properties": {"scores": {"type": "array", "items": {"maximum": 1}}},
                }
            },
            b'{"scores": [0.5, 7]}',
            "at $.scores[1]: 7 is greater than the maximum of 1",
        ),
    ],
)
def test_answers_that_break_the_map_or_schema(response: dict, answer: bytes, problem: str) -> None:
    adapter = adapter_for(
        target({"q": "{{prompt}}"}, **response) if response else target({"q": "{{prompt}}"})
    )
    outcome = adapter.parse(200, JSON_HEADERS, answer)
    assert outcome.problem is not None
    assert problem in outcome.problem


def test_text_without_a_token_path_is_estimated() -> None:
    adapter = adapter_for(target({"q": "{{prompt}}"}, text="$.result.text"))
    outcome = adapter.parse(200, JSON_HEADERS, ANSWER)
    assert (outcome.output_tokens, outcome.tokens_estimated) == (1, True)


def test_method_and_health_path() -> None:
    custom = target({"q": "{{prompt}}"}).model_copy(update={"method": "PUT", "health": "/healthz"})
    adapter = adapter_for(custom)
    assert adapter.request(item()).method == "PUT"
    probe = adapter.readiness()
    assert probe is not None
    assert (probe.method, probe.path) == ("GET", "/healthz")
    assert adapter.judge_readiness(503, b"") == (False, "/healthz answered HTTP 503")
    assert adapter_for(target({"q": "{{prompt}}"})).readiness() is None
