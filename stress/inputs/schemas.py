"""Request-body JSON Schemas: the protocols' own, the fields a schema has, valid bodies from one.

The structure and numbers families break a valid body one field at a time. Which fields
exist, which are required, which are numbers and what their bounds are comes from a JSON
Schema: the scenario's ``inputs.schema`` when it gives one, otherwise the protocol's schema
(stress/inputs/protocol_schemas.py, kept in step with the adapters by
tests/unit/inputs/test_families.py).

``generate`` makes a valid document from a schema with a seeded Random and Faker pools. It
covers the keywords request schemas use (type, enum, const, properties, required, items,
min/max bounds and lengths, formats, anyOf/oneOf/allOf, local $ref); ``unsupported`` names
the ones it cannot honour, so a scenario using them fails validation instead of sending
inputs that are not valid after all.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stress.inputs.family import SCHEMA_PROTOCOLS, Context
from stress.inputs.protocol_schemas import chat_schema as chat_schema
from stress.inputs.protocol_schemas import protocol_schema as protocol_schema
from stress.inputs.vocab import vocabulary

# A path element standing for "any item of this array": a family replaces it with an index,
# and applying the damage takes that index modulo the array's length.
ANY = "*"

Path = tuple[str | int, ...]

# Keywords `generate` cannot honour (a value it makes could break them).
UNSUPPORTED = (
    "pattern",
    "patternProperties",
    "propertyNames",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "not",
    "contains",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "prefixItems",
)


def unknown_schema(context: Context) -> str | None:
    """Why schema-driven families cannot work here (None: they can)."""
    if context.schema is None and context.protocol not in SCHEMA_PROTOCOLS:
        return (
            f"stress does not know the request schema of protocol {context.protocol!r}; "
            f"give inputs.body_schema"
        )
    return None


def schema_for(context: Context) -> dict[str, Any]:
    """The request schema families work from: the scenario's, else the protocol's."""
    if context.schema is not None:
        return dict(context.schema)
    return protocol_schema(context.protocol, context.features, context.limits, context.body_format)


@dataclass(frozen=True)
class Field:
    """One field of a request body: where it is, its schema, and whether it must be there."""

    path: Path
    schema: Mapping[str, Any]
    # True when the field and every object above it are required: it is in every valid body.
    required: bool

    @property
    def types(self) -> set[str]:
        return json_types(self.schema)

    @property
    def name(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) or part == ANY else f".{part}"
        return out.lstrip(".") or "(body)"


def json_types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema allows (inferred from enum, const, properties, items if needed)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = schema.get("enum") or ([schema["const"]] if "const" in schema else [])
    if values:
        return {_type_of(value) for value in values}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return set()


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/definitions/x``, ``#/$defs/x``); merge ``allOf``."""
    seen = 0
    while "$ref" in schema and seen < 32:
        target: Any = root
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            if part:
                target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
        seen += 1
    if "allOf" in schema:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for branch in schema["allOf"]:
            piece = _resolve(branch, root)
            merged["properties"] = {**merged.get("properties", {}), **piece.get("properties", {})}
            merged["required"] = [*merged.get("required", []), *piece.get("required", [])]
            merged.update({k: v for k, v in piece.items() if k not in ("properties", "required")})
        schema = merged
    for key in ("anyOf", "oneOf"):
        if schema.get(key):  # fields are read from the first alternative
            first = _resolve(schema[key][0], root)
            schema = {**{k: v for k, v in schema.items() if k != key}, **first}
    return schema


def fields(schema: Mapping[str, Any], *, max_depth: int = 6) -> list[Field]:
    """Every field of ``schema`` below the root, parents before children."""
    return list(_walk(schema, schema, (), True, max_depth))


def _walk(
    schema: Mapping[str, Any], root: Mapping[str, Any], path: Path, required: bool, depth: int
) -> Iterator[Field]:
    if depth < 0:
        return
    schema = _resolve(schema, root)
    if path:
        yield Field(path, schema, required)
    needed = set(schema.get("required", []))
    for name, child in (schema.get("properties") or {}).items():
        yield from _walk(child, root, (*path, name), required and name in needed, depth - 1)
    items = schema.get("items")
    if isinstance(items, list):
        for index, child in enumerate(items):
            inside = required and index < int(schema.get("minItems", 0))
            yield from _walk(child, root, (*path, index), inside, depth - 1)
    elif isinstance(items, dict):
        inside = required and int(schema.get("minItems", 0)) > 0
        yield from _walk(items, root, (*path, ANY), inside, depth - 1)


def unsupported(schema: Any, path: str = "#") -> list[str]:
    """Places where ``schema`` uses a keyword ``generate`` cannot honour."""
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in UNSUPPORTED and key != "properties":
                found.append(f"{path}/{key}")
            if key in ("properties", "definitions", "$defs") and isinstance(value, dict):
                for name, child in value.items():
                    found.extend(unsupported(child, f"{path}/{key}/{name}"))
            elif key not in ("enum", "const", "default", "examples"):
                found.extend(unsupported(value, f"{path}/{key}"))
    elif isinstance(schema, list):
        for index, child in enumerate(schema):
            found.extend(unsupported(child, f"{path}/{index}"))
    return found


def generate(
    schema: Mapping[str, Any],
    rng: random.Random,
    *,
    root: Mapping[str, Any] | None = None,
    optional: float = 0.5,
    depth: int = 8,
) -> Any:
    """A document valid under ``schema``; optional properties appear with probability
    ``optional``. Strings are realistic words where the bounds allow."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return generate(rng.choice(schema[key]), rng, root=root, optional=optional)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    types = sorted(json_types(schema)) or ["string"]
    kind = "null" if depth <= 0 and "null" in types else rng.choice(types)
    if kind == "object":
        return _object(schema, rng, root, optional, depth)
    if kind == "array":
        return _array(schema, rng, root, optional, depth)
    if kind in ("integer", "number"):
        return _number(schema, rng, integer=kind == "integer")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def _object(
    schema: Mapping[str, Any],
    rng: random.Random,
    root: Mapping[str, Any],
    optional: float,
    depth: int,
) -> dict[str, Any]:
    needed = set(schema.get("required", []))
    out = {}
    for name, child in (schema.get("properties") or {}).items():
        if name in needed or (depth > 1 and rng.random() < optional):
            out[name] = generate(child, rng, root=root, optional=optional, depth=depth - 1)
    return out


def _array(
    schema: Mapping[str, Any],
    rng: random.Random,
    root: Mapping[str, Any],
    optional: float,
    depth: int,
) -> list[Any]:
    items = schema.get("items", {})
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", max(low, 3)))
    if isinstance(items, list):
        size = min(max(low, len(items)), high)
        extra = schema.get("additionalItems", {})
        shapes = [items[i] if i < len(items) else extra for i in range(size)]
    else:
        size = rng.randint(low, min(high, low + 3))
        shapes = [items] * size
    out = [generate(s, rng, root=root, optional=optional, depth=depth - 1) for s in shapes]
    if schema.get("uniqueItems"):
        unique: list[Any] = []
        for value in out:
            if value not in unique:
                unique.append(value)
        out = unique
    return out


def bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    """The closed interval a number field allows (exclusive bounds nudged inwards)."""
    step = 1 if integer else 1e-9
    low = float(schema.get("minimum", -1e6 if integer else -1e3))
    high = float(schema.get("maximum", 1e6 if integer else 1e3))
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = max(low, float(schema["exclusiveMinimum"]) + step)
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = min(high, float(schema["exclusiveMaximum"]) - step)
    return low, high


def _number(schema: Mapping[str, Any], rng: random.Random, *, integer: bool) -> int | float:
    low, high = bounds(schema, integer=integer)
    if integer:
        value: int | float = rng.randint(int(-(-low // 1)), int(high // 1))
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            value = value - value % multiple
            if value < low:
                value += multiple
        return value
    return min(high, max(low, round(rng.uniform(low, high), 3)))


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date": lambda rng: (
        f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    ),
    "date-time": lambda rng: (
        f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    ),
    "email": lambda rng: rng.choice(vocabulary("en_US").emails),
    "uri": lambda rng: f"https://example.com/{rng.choice(vocabulary('en_US').words).lower()}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
}


def _string(schema: Mapping[str, Any], rng: random.Random) -> str:
    make = _FORMATS.get(str(schema.get("format")))
    if make:
        return str(make(rng))
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", max(low, 80)))
    words = vocabulary("en_US").words
    text = " ".join(rng.choices(words, k=high // 6 + 2))
    while len(text) < low:
        text += " " + rng.choice(words)
    return text[: rng.randint(max(low, min(high, 1)), min(high, len(text)))]


def problems(schema: dict[str, Any]) -> list[str]:
    """What is wrong with a scenario's body_schema: not a JSON Schema, not an object schema,
    or keywords ``generate`` cannot honour."""
    from jsonschema import exceptions, validators

    try:
        validator: Any = validators.validator_for(schema)
        validator.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        return [f"not a valid JSON Schema at {where}: {exc.message}"]
    found = []
    if "object" not in json_types(_resolve(schema, schema)):
        found.append("the request body must be an object: add 'type: object' and properties")
    found.extend(
        f"keyword {place.rsplit('/', 1)[-1]!r} at {place} cannot be generated from; remove it "
        f"or describe the body with a custom family"
        for place in unsupported(schema)
    )
    return found
