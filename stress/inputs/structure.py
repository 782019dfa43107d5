"""Structurally broken bodies, one field at a time, driven by the request schema.

Each family picks a field of the schema (the scenario's ``inputs.schema``, else the
protocol's) and says what to do to it; the payload records the field, so a report reads
``structure.null_field`` on ``messages[0].role``. With the protocol's schema the damage is
applied by the adapter to its own valid body (a raw payload with ``op``); with a scenario
schema, the valid body is generated from that schema here and the damaged text is stored
whole (``body``), since no adapter knows that schema.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from stress.inputs import schemas
from stress.inputs.damage import apply, encode
from stress.inputs.family import ALL_PROTOCOLS, Context, Draw, Expect, Family, Kind
from stress.inputs.realistic import valid
from stress.inputs.schemas import ANY, Field

# Values of each JSON type, to replace a field with one of another type.
SAMPLES: dict[str, tuple[Any, ...]] = {
    "string": ("not-the-right-type", "", "0"),
    "integer": (123456789, 0, -1),
    "number": (3.25, -0.5),
    "boolean": (True, False),
    "array": ([1, 2], [], ["a"]),
    "object": ({"a": 1}, {}),
}
EXTRA_KEYS = ("x_unknown_field", "__proto__", "constructor", "debug", "admin", "$where")


Choose = Callable[[Field, Sequence[Field]], bool]


def schema_of(draw: Draw) -> dict[str, Any]:
    return dict(draw.cache.memo("schema", lambda: schemas.schema_for(draw.context)))


def fields_of(draw: Draw) -> list[Field]:
    return list(draw.cache.memo("fields", lambda: schemas.fields(schema_of(draw))))


def reachable(field: Field, everything: Sequence[Field]) -> bool:
    """True when the field's parent is in every valid body, so the field can be set."""
    parent = field.path[:-1]
    return not parent or any(f.path == parent and f.required for f in everything)


def concrete(draw: Draw, path: Sequence[str | int]) -> list[str | int]:
    """The path with each 'any item' replaced by an index (applied modulo the length)."""
    return [draw.random.randrange(1 << 16) if part == ANY else part for part in path]


def fitting(choose: Choose, need: str) -> Callable[[Context], str | None]:
    """A Family.fits: None when the context's request schema has a field ``choose`` accepts."""

    def fits(context: Context) -> str | None:
        if (unknown := schemas.unknown_schema(context)) is not None:
            return unknown
        everything = schemas.fields(schemas.schema_for(context))
        if any(choose(field, everything) for field in everything):
            return None
        return f"the request schema has no {need}"

    return fits


def targeted(
    draw: Draw,
    choose: Choose,
    damage: Callable[[Draw, Field], dict[str, Any]],
    *,
    prefer: Choose | None = None,
) -> dict[str, Any]:
    """A raw payload damaging one field that ``choose`` (first ``prefer``, if any matches)
    accepts; ``damage`` gives the op and value.

    Raises ValueError when the schema has no such field: the family does not fit this target.
    """
    everything = fields_of(draw)
    candidates = [field for field in everything if prefer and prefer(field, everything)]
    candidates = candidates or [field for field in everything if choose(field, everything)]
    if not candidates:
        raise ValueError(f"{draw.family}: the request schema has no field this family can damage")
    field = draw.random.choice(candidates)
    change = {"path": concrete(draw, field.path), **damage(draw, field)}
    payload: dict[str, Any] = {"field": field.name, **change, "base": valid(draw)}
    if draw.context.schema is not None:
        document = schemas.generate(schema_of(draw), draw.random)
        payload["body"] = encode(apply(document, change)).decode("utf-8")
    return payload


def whole_body(draw: Draw, text: str) -> dict[str, Any]:
    """A raw payload that replaces the body with ``text``."""
    return {"body": text, "base": valid(draw)}


def other_type_value(rng: random.Random, field: Field) -> Any:
    own = field.types
    if own & {"integer", "number"}:  # 1 is a valid number, 1.5 a number of the wrong kind
        own = own | {"integer", "number"}
    options = [value for kind, values in SAMPLES.items() if kind not in own for value in values]
    return rng.choice(options)


def _required(field: Field, everything: Sequence[Field]) -> bool:
    # One item of an array is not a field: dropping it may leave a valid, shorter array.
    return field.required and field.path[-1] != ANY


def _settable(field: Field, everything: Sequence[Field]) -> bool:
    return field.required or reachable(field, everything)


def _container(field: Field, everything: Sequence[Field]) -> bool:
    return field.required and bool(field.types & {"array", "object"})


def _object(field: Field, everything: Sequence[Field]) -> bool:
    return field.required and "object" in field.types


def _closed(field: Field, everything: Sequence[Field]) -> bool:
    """A required object that allows no other keys (so an extra key makes it invalid)."""
    return _object(field, everything) and field.schema.get("additionalProperties") is False


def _extra_fits(context: Context) -> str | None:
    if (unknown := schemas.unknown_schema(context)) is not None:
        return unknown
    schema = schemas.schema_for(context)
    everything = schemas.fields(schema)
    if schema.get("additionalProperties") is False or any(
        _closed(f, everything) for f in everything
    ):
        return None
    return "object with additionalProperties: false (extra keys are allowed everywhere)"


def _keyed(field: Field, everything: Sequence[Field]) -> bool:
    return field.required and isinstance(field.path[-1], str) and field.path[-1] != ANY


def _enum(field: Field, everything: Sequence[Field]) -> bool:
    return "enum" in field.schema and reachable(field, everything)


def _extra(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    closed_root = schema_of(draw).get("additionalProperties") is False
    everything = fields_of(draw)
    targets = [() for _ in range(closed_root)] + [
        f.path for f in everything if _closed(f, everything)
    ]
    where = concrete(draw, rng.choice(targets))
    key = rng.choice(EXTRA_KEYS)
    value = rng.choice(("surprise", 1, True, {"nested": [1, 2]}, None))
    change = {"op": "set", "path": [*where, key], "value": value}
    payload: dict[str, Any] = {"field": key, **change, "base": valid(draw)}
    if draw.context.schema is not None:
        document = schemas.generate(schema_of(draw), rng)
        payload["body"] = encode(apply(document, change)).decode("utf-8")
    return payload


OPENAI = ("openai-chat", "openai-completions", "openai-embeddings")
UNKNOWN_MODELS = ("stress-no-such-model", "gpt-0-nonexistent", "../../etc/passwd", "模型", "")


def _protocol_body(context: Context) -> str | None:
    if context.schema is not None:
        return "inputs.body_schema replaces the protocol's body (and its model field)"
    return None


def _unknown_model(draw: Draw) -> dict[str, Any]:
    name = draw.random.choice(UNKNOWN_MODELS)
    suffix = "" if not name or "/" in name else f"-{draw.random.randrange(10_000):04d}"
    return {"op": "set", "path": ["model"], "value": name + suffix, "base": valid(draw)}


def _non_object(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    base = valid(draw)
    inner = base.get("messages") or base.get("rows")
    choice = rng.randrange(6)
    texts = ('"hello"', "42", "null", "true", "3.5")
    text = json.dumps(inner) if choice == 5 else texts[choice]
    return {"body": text, "base": base}


# Fields the protocol adapters set themselves (from the target), left alone by schema_body.
ADAPTER_FIELDS = frozenset({"model", "max_tokens", "stream", "stream_options"})
# Protocols whose optional fields stress knows (the chat schema's sampling parameters); the
# others get the adapter's own valid body, not chat parameters they never documented.
OPTIONAL_FIELD_PROTOCOLS = frozenset({"openai-chat", "openai-completions"})


def _schema_body(draw: Draw) -> dict[str, Any]:
    """A valid body from the scenario's schema, or the adapter's body with the protocol's
    optional fields (temperature, top_p, stop, ...) set to valid values from its schema."""
    schema = schema_of(draw)
    if draw.context.schema is not None:
        document = schemas.generate(schema, draw.random)
        return {"body": encode(document).decode("utf-8"), "base": valid(draw)}
    needed = set(schema.get("required", []))
    if draw.context.protocol not in OPTIONAL_FIELD_PROTOCOLS:
        return {"op": "merge", "path": [], "value": {}, "base": valid(draw)}
    optional = {
        name: schemas.generate(child, draw.random, root=schema)
        for name, child in (schema.get("properties") or {}).items()
        if name not in needed and name not in ADAPTER_FIELDS and draw.random.random() < 0.5
    }
    return {"op": "merge", "path": [], "value": optional, "base": valid(draw)}


def schema_body() -> Family:
    return Family(
        "realistic.schema_body",
        "a valid body generated from the request JSON Schema (inputs.body_schema or the "
        "protocol's optional fields)",
        Expect.ACCEPT_OR_REFUSE,
        Kind.RAW,
        ALL_PROTOCOLS,
        _schema_body,
        "every field the schema allows, at valid values: what documented clients may send; "
        "a server that does not support one (n: 3 on fewer slots) may answer or refuse cleanly",
    )


def families() -> list[Family]:
    reject = Expect.REJECT

    def family(
        name: str, description: str, generate: Any, why: str, expect: Expect = reject, **extra: Any
    ) -> Family:
        return Family(
            f"structure.{name}",
            description,
            expect,
            Kind.RAW,
            ALL_PROTOCOLS,
            generate,
            why,
            **extra,
        )

    def field_family(
        name: str,
        description: str,
        choose: Choose,
        need: str,
        damage: Any,
        why: str,
        expect: Expect = reject,
    ) -> Family:
        return family(
            name,
            description,
            lambda d: targeted(d, choose, damage),
            why,
            expect,
            fits=fitting(choose, need),
        )

    return [
        schema_body(),
        field_family(
            "missing_field",
            "a valid body with one required field removed (any depth, from the schema)",
            _required,
            "required field",
            lambda d, f: {"op": "delete"},
            "servers that index a missing key answer 500 (KeyError) instead of 400",
        ),
        field_family(
            "null_field",
            "a valid body with one required field set to null",
            _required,
            "required field",
            lambda d, f: {"op": "set", "value": None},
            "null passes 'key present' checks and then fails where the value is used",
        ),
        field_family(
            "wrong_type",
            "a valid body with one field given a value of another JSON type",
            _settable,
            "field",
            lambda d, f: {"op": "set", "value": other_type_value(d.random, f)},
            "type confusion: a string where a number is read, an object where a list is",
        ),
        field_family(
            "array_object_swap",
            "a required array sent as an object ({'0': ...}) or an object as an array",
            _container,
            "required array or object",
            lambda d, f: {"op": "swap"},
            "iterating an object or indexing a list by name fails deep in handlers",
        ),
        family(
            "extra_field",
            "a valid body with an unknown key added (top level or nested, incl. __proto__)",
            _extra,
            "strict APIs refuse unknown keys, lenient ones ignore them: answer or refuse "
            "cleanly, never crash on them",
            Expect.ACCEPT_OR_REFUSE,
            fits=_extra_fits,
        ),
        field_family(
            "duplicate_key",
            "a required key written twice, the second time with a wrong-typed value",
            _keyed,
            "required object key",
            lambda d, f: {"op": "duplicate", "value": other_type_value(d.random, f)},
            "parsers disagree on which copy wins: a proxy and a server may see different requests",
        ),
        field_family(
            "invalid_enum",
            "a field with a fixed set of values (e.g. role) given one outside the set",
            _enum,
            "field with an enum",
            lambda d, f: {"op": "set", "value": d.random.choice(("wizard", "ROOT", "", "0"))},
            "unknown enum values fall through switch statements into undefined behaviour",
        ),
        Family(
            "structure.unknown_model",
            "an OpenAI request naming a model the server does not serve",
            Expect.ACCEPT_OR_REFUSE,
            Kind.RAW,
            OPENAI,
            _unknown_model,
            "a model lookup that raises KeyError is a 500; a one-model server may ignore the "
            "name: answer or refuse cleanly (404), never crash",
            fits=_protocol_body,
        ),
        family(
            "empty_object",
            "the body is {}",
            lambda d: whole_body(d, "{}"),
            "every required field missing at once",
        ),
        family(
            "empty_array",
            "the body is []",
            lambda d: whole_body(d, "[]"),
            "a top-level array where an object is expected",
        ),
        family(
            "non_object_body",
            "the body is a JSON string, number, null, boolean or the bare message/row list",
            _non_object,
            "handlers that call .get() on the body crash on any non-object",
        ),
    ]
