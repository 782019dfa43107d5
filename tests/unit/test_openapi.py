"""OpenAPI import: a small spec (tests/fixtures/openapi/reviews.yaml) drives an http-json target.

The spec's request schema must drive generation both ways: every valid body stress generates
passes the spec, every malformed one breaks it. Two independent judges: jsonschema over the
converted schema, and the hand-written validator of the test server that implements the spec
(tests/integration/openapi_server.py), so a conversion mistake cannot grade itself.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from stress import openapi
from stress.errors import ScenarioError, TargetUnreachable
from stress.inputs.corpus import Input
from stress.runner import build_corpus, load_scenario
from stress.scenario import Scenario, from_dict
from stress.targets import adapter_for
from tests.integration.openapi_server import problem

FIXTURE = Path(__file__).parent.parent / "fixtures" / "openapi" / "reviews.yaml"

SCENARIO = """\
name: reviews
target:
  url: http://127.0.0.1:9
  protocol: http-json
  openapi: {openapi}
{target_extra}inputs:
  seed: 11
  count: {count}
  families: {families}
load:
  phases:
    - {{name: load, users: 1, duration: 2s}}
"""


def write(
    tmp_path: Path,
    *,
    openapi_key: str = "{file: reviews.yaml, operation: POST /score}",
    target_extra: str = "",
    families: str = "{realistic.chat_prompt: 1, realistic.schema_body: 1}",
    count: int = 20,
    spec: str | None = None,
) -> Path:
    if spec is None:
        shutil.copy(FIXTURE, tmp_path / "reviews.yaml")
    else:
        (tmp_path / "reviews.yaml").write_text(spec)
    path = tmp_path / "s.yaml"
    path.write_text(
        SCENARIO.format(
            openapi=openapi_key, target_extra=target_extra, families=families, count=count
        )
    )
    return path


def spec_with(change: dict[str, Any]) -> str:
    """The fixture with ``change`` deep-merged in."""
    document = yaml.safe_load(FIXTURE.read_text())

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(document, change)
    return yaml.safe_dump(document)


def errors(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return str(caught.value)


def test_the_operation_fills_path_method_template_and_both_schemas(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    target = scenario.target
    assert target.openapi is None  # resolved into plain keys
    assert (target.method, target.path) == ("POST", "/api/score")  # servers[0] prefix
    assert target.request["text"] == "{{prompt}}"
    assert target.request["language"] in ("en", "de", "fr")
    assert 0 < target.request["options"]["threshold"] <= 1
    assert target.response is not None
    assert target.response.prediction == "$.label"
    body = scenario.inputs.body_schema
    assert body is not None
    definitions = body["$defs"]
    assert set(definitions) == {"ScoreRequest", "Options", "Weight"}
    request = definitions["ScoreRequest"]
    assert "id" not in request["properties"]  # readOnly: never sent
    assert "example" not in request["properties"]["text"]
    assert request["properties"]["rating_hint"]["type"] == ["integer", "null"]
    threshold = definitions["Options"]["properties"]["threshold"]
    assert threshold == {"type": "number", "maximum": 1, "exclusiveMinimum": 0}
    answer = target.response.json_schema
    assert answer is not None
    assert "password" not in answer["$defs"]["ScoreResponse"]["properties"]  # writeOnly
    assert answer["$defs"]["ScoreResponse"]["properties"]["explanation"]["type"] == [
        "string",
        "null",
    ]


def test_the_resolved_scenario_stands_alone(tmp_path: Path) -> None:
    """A run directory's scenario.yaml needs neither the document nor stress's hooks."""
    scenario = load_scenario(write(tmp_path))
    (tmp_path / "reviews.yaml").unlink()
    again = from_dict(yaml.safe_load(scenario.to_yaml()))
    assert again == scenario


def test_scenario_keys_win_over_the_document(tmp_path: Path) -> None:
    extra = (
        "  path: /v2/score\n"
        '  request: {text: "{{prompt}}", language: en, options: {threshold: 0.5}}\n'
        "  response: {text: $.label}\n"
    )
    scenario = load_scenario(write(tmp_path, target_extra=extra))
    assert scenario.target.path == "/v2/score"
    assert scenario.target.request["language"] == "en"
    assert scenario.target.response is not None
    assert scenario.target.response.text == "$.label"
    assert scenario.target.response.prediction is None
    assert scenario.target.response.json_schema is not None  # still from the document


def corpus(tmp_path: Path, families: str, count: int = 120) -> tuple[Scenario, list[Input]]:
    scenario = load_scenario(write(tmp_path, families=families, count=count))
    return scenario, build_corpus(scenario)


def sent(scenario: Scenario, item: Input) -> bytes:
    return adapter_for(scenario.target).request(item).body


def test_valid_bodies_pass_the_spec_and_malformed_ones_break_it(tmp_path: Path) -> None:
    families = "{realistic.chat_prompt: 1, realistic.schema_body: 2, structure.*: 1, numbers.*: 1}"
    scenario, inputs = corpus(tmp_path, families, count=240)
    assert scenario.inputs.body_schema is not None
    validator = Draft202012Validator(scenario.inputs.body_schema)
    accepted = rejected = 0
    seen = set()
    for item in inputs:
        body = sent(scenario, item)
        seen.add(item.family)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
            assert item.expect == "reject", item.id
        # schema_body may be refused (a field a server does not support) but is valid.
        if item.expect == "accept" or item.family == "realistic.schema_body":
            assert validator.is_valid(document), (item.id, body[:300])
            assert problem(document) is None, (item.id, problem(document), body[:300])
            accepted += 1
        else:
            assert document is None or problem(document) is not None, (item.id, body[:300])
            rejected += 1
    assert accepted >= 40
    assert rejected >= 80
    # The schema's fields were broken, not just the body as a whole.
    assert {"structure.missing_field", "structure.invalid_enum", "numbers.out_of_range"} <= seen


def test_the_template_puts_prompts_where_the_spec_wants_text(tmp_path: Path) -> None:
    scenario, inputs = corpus(tmp_path, "{realistic.chat_prompt: 1}", count=10)
    for item in inputs:
        document = json.loads(sent(scenario, item))
        assert problem(document) is None or "text:" in str(problem(document))
        assert document["text"].strip()


def test_openapi_3_1_type_lists_and_ref_siblings(tmp_path: Path) -> None:
    spec = spec_with(
        {
            "openapi": "3.1.0",
            "components": {
                "schemas": {
                    "ScoreRequest": {
                        "properties": {
                            "rating_hint": {"type": ["integer", "null"], "minimum": 1},
                            "options": {"$ref": "#/components/schemas/Options", "description": "x"},
                        }
                    }
                }
            },
        }
    )
    scenario = load_scenario(write(tmp_path, spec=spec))
    assert scenario.inputs.body_schema is not None
    request = scenario.inputs.body_schema["$defs"]["ScoreRequest"]
    assert request["properties"]["options"] == {"description": "x", "$ref": "#/$defs/Options"}
    assert request["properties"]["rating_hint"]["type"] == ["integer", "null"]


def test_the_only_json_operation_needs_no_name(tmp_path: Path) -> None:
    document = yaml.safe_load(FIXTURE.read_text())
    del document["paths"]["/feedback"]
    path = write(tmp_path, openapi_key="{file: reviews.yaml}", spec=yaml.safe_dump(document))
    assert load_scenario(path).target.path == "/api/score"


@pytest.mark.parametrize(
    ("openapi_key", "spec", "expected"),
    [
        (
            "{file: reviews.yaml}",
            None,
            "target.openapi: "
            + "{tmp}/reviews.yaml has 2 operations with a JSON body; name one in "
            "target.openapi.operation: POST /score (scoreReview); POST /feedback (sendFeedback)",
        ),
        (
            "{file: reviews.yaml, operation: scoreReveiw}",
            None,
            "target.openapi.operation: did you mean 'scoreReview'?",
        ),
        (
            "{file: missing.yaml, operation: POST /score}",
            None,
            "target.openapi.file: cannot read {tmp}/missing.yaml: No such file or directory",
        ),
        (
            "{file: reviews.yaml, url: /openapi.json}",
            None,
            "target.openapi: give exactly one of file",
        ),
        (
            "{file: reviews.yaml, operation: POST /score}",
            "swagger: '2.0'\npaths: {}\n",
            "expected an OpenAPI 3.0 or 3.1 document (openapi: 3.x.y), got swagger 2.0",
        ),
        (
            "{file: reviews.yaml, operation: POST /score}",
            spec_with(
                {
                    "components": {
                        "schemas": {
                            "Weight": {"properties": {"name": {"pattern": "^[a-z]+$"}}},
                        }
                    }
                }
            ),
            "keyword 'pattern' at #/components/schemas/Weight/properties/name/pattern cannot be "
            "generated from",
        ),
        (
            "{file: reviews.yaml, operation: POST /score}",
            spec_with(
                {"paths": {"/score": {"post": {"requestBody": {"$ref": "other.yaml#/Body"}}}}}
            ),
            "points outside the document",
        ),
        (
            "{file: reviews.yaml, operation: POST /score}",
            spec_with({"servers": [{"url": "/models/{id}"}]}),
            "target.openapi.operation: the path /models/{id}/score has parameter(s) {id}; "
            "write target.path",
        ),
        (
            "{url: 'http://example.com/openapi.json', operation: POST /score}",
            None,
            "target.openapi.url: stress fetches the document from the target's own host only "
            "(http://127.0.0.1:9)",
        ),
        (
            "{url: openapi.json}",
            None,
            "target.openapi.url: expected a path on the target (/openapi.json)",
        ),
    ],
)
def test_problems_name_the_key_and_the_fix(
    tmp_path: Path, openapi_key: str, spec: str | None, expected: str
) -> None:
    message = errors(write(tmp_path, openapi_key=openapi_key, spec=spec))
    assert expected.replace("{tmp}", str(tmp_path)) in message
    assert "(line 5)" in message or "(line 4)" in message  # the target.openapi line


def test_a_method_other_than_the_operations_is_an_error(tmp_path: Path) -> None:
    message = errors(write(tmp_path, target_extra="  method: PUT\n"))
    assert "target.method: the operation POST /score is a POST, got 'PUT'" in message


def test_a_document_the_target_does_not_serve_is_exit_3(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write(tmp_path, openapi_key="{url: /openapi.json, operation: POST /score}")
    path.write_text(path.read_text().replace("127.0.0.1:9", f"127.0.0.1:{port}"))
    with pytest.raises(TargetUnreachable, match=r"cannot fetch http://127\.0\.0\.1:\d+/openapi"):
        load_scenario(path)


def test_the_response_field_that_holds_the_answer() -> None:
    def schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": required}

    text = {"type": "string"}
    assert openapi.answer_paths(schema({"answer": text, "id": text}, ["id", "answer"])) == {
        "text": "$.answer"
    }
    nullable = {"type": ["string", "null"]}
    assert openapi.answer_paths(schema({"a": nullable, "b": {"type": "number"}}, ["a", "b"])) == {
        "prediction": "$.b"
    }
    assert openapi.answer_paths(schema({"a": text}, [])) == {}


def test_a_written_body_schema_replaces_one_the_generator_cannot_use(tmp_path: Path) -> None:
    patterned = spec_with(
        {"components": {"schemas": {"Weight": {"properties": {"name": {"pattern": "^[a-z]+$"}}}}}}
    )
    body = "{type: object, required: [text], properties: {text: {type: string}}}"
    path = write(tmp_path, spec=patterned)
    path.write_text(path.read_text().replace("inputs:\n", f"inputs:\n  body_schema: {body}\n"))
    scenario = load_scenario(path)
    assert scenario.inputs.body_schema == yaml.safe_load(body)
    assert scenario.target.response is not None  # the answer schema still comes from the spec
    assert scenario.target.response.json_schema is not None


def test_a_command_that_reads_run_directories_does_not_resolve_documents(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"target.openapi: this command reads resolved"):
        from_dict(yaml.safe_load(write(tmp_path).read_text()), source="s.yaml")


def test_only_http_json_takes_a_document(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("protocol: http-json", "protocol: openai-chat"))
    message = errors(path)
    assert "target.openapi: only protocol http-json takes an OpenAPI document; remove it" in message
