"""Request schemas: the protocols' own agree with the adapters; valid documents from any
supported schema validate; a scenario's body_schema drives the structure and numbers families."""

from __future__ import annotations

import json
import random

import judge
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from stress.inputs import corpus
from stress.inputs.families import Cache, Context, Expect, Limits, catalog
from stress.inputs.schemas import ANY, chat_schema, fields, generate, problems
from stress.scenario import Protocol, Target
from stress.targets import adapter_for

ORDER = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["customer", "items", "priority"],
    "additionalProperties": False,
    "definitions": {
        "item": {
            "type": "object",
            "required": ["sku", "quantity"],
            "additionalProperties": False,
            "properties": {
                "sku": {"type": "string", "minLength": 3, "maxLength": 12},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                "price": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e4},
            },
        }
    },
    "properties": {
        "customer": {
            "type": "object",
            "required": ["email"],
            "properties": {
                "email": {"type": "string", "format": "email"},
                "since": {"type": "string", "format": "date"},
                "id": {"type": "string", "format": "uuid"},
            },
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 5,
            "items": {"$ref": "#/definitions/item"},
        },
        "priority": {"enum": ["low", "normal", "high"]},
        "note": {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]},
        "pack": {"type": "integer", "multipleOf": 6, "minimum": 6, "maximum": 60},
        "point": {
            "type": "array",
            "items": [{"type": "number"}, {"type": "number"}],
            "minItems": 2,
            "maxItems": 2,
        },
    },
}


@settings(max_examples=200)
@given(st.integers(0, 2**64 - 1))
def test_generated_documents_are_valid(seed: int) -> None:
    document = generate(ORDER, random.Random(seed))
    errors = [e.message for e in Draft7Validator(ORDER).iter_errors(document)]
    assert not errors, (document, errors)


def test_fields_know_paths_and_required() -> None:
    found = {f.name: f.required for f in fields(chat_schema(Limits()))}
    assert found["messages"]
    assert found[f"messages[{ANY}]"]
    assert found[f"messages[{ANY}].role"]
    assert found["temperature"] is False
    assert found["model"] is False
    order = {f.name: f.required for f in fields(ORDER)}
    assert order[f"items[{ANY}].quantity"] is True
    assert order[f"items[{ANY}].price"] is False


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "not a valid JSON Schema"),
        ({"type": "array"}, "the request body must be an object"),
        (
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}},
            "keyword 'pattern' at #/properties/a/pattern cannot be generated from",
        ),
    ],
)
def test_schema_problems_name_the_place(schema: dict, message: str) -> None:
    found = problems(schema)
    assert found
    assert message in found[0]


def test_body_schema_drives_valid_and_broken_bodies() -> None:
    target = Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT)
    adapter = adapter_for(target)
    context = Context(protocol="openai-chat", seed=11, schema=ORDER)
    checked: dict[str, int] = {}
    for name, family in catalog().items():
        if family.group not in ("structure", "numbers") and name != "realistic.schema_body":
            continue
        if "openai-chat" not in family.protocols or family.misfit(context):
            continue
        for index in range(15):
            item = corpus.generate(family, context, index, cache=Cache())
            assert "body" in item.payload  # the damaged text is stored whole
            why = judge.problem(adapter.request(item), ORDER)
            if family.expect is Expect.ACCEPT or name == "realistic.schema_body":
                assert why is None, (item.id, why, item.payload["body"][:200])
            elif family.expect is Expect.REJECT:
                assert why is not None, (item.id, item.payload["body"][:200])
        checked[name] = index + 1
    assert "realistic.schema_body" in checked
    assert "structure.missing_field" in checked
    assert "numbers.negative_zero" not in checked  # no number field here allows 0
    assert len(checked) >= 15


def test_schema_body_sets_optional_protocol_fields() -> None:
    target = Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, max_tokens=16)
    family = catalog()["realistic.schema_body"]
    seen: set[str] = set()
    for index in range(30):
        item = corpus.generate(
            family, Context(protocol="openai-chat", seed=2), index, cache=Cache()
        )
        body = json.loads(adapter_for(target).request(item).body)
        assert body["max_tokens"] == 16
        assert body["model"] == "demo-ngram"
        seen |= set(body)
    assert {"temperature", "top_p", "stop", "seed"} <= seen
