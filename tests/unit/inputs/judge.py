"""Is a request a valid one? Strict JSON, no duplicate keys, the schema, a JSON content type.

The families' expectations are checked against this independent judge: an "accept" input
must be valid and a "reject" one invalid, whatever the server does with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft7Validator

from stress.targets.base import HttpRequest


class Invalid(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise Invalid(f"duplicate keys {keys}")
    return dict(pairs)


def _no_constants(token: str) -> Any:
    raise Invalid(f"{token} is not JSON")


def strict_json(body: bytes) -> Any:
    """The body parsed as RFC 8259 JSON in UTF-8; raises Invalid otherwise."""
    try:
        text = body.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Invalid(str(exc)) from None
    except ValueError as exc:  # integers over Python's digit limit
        raise Invalid(str(exc)) from None


def _canonical_columns(document: Any, schema: Mapping[str, Any]) -> Any:
    """MLflow names its columns: a body listing them in another order is the same table."""
    try:
        split = document["dataframe_split"]
        names = schema["properties"]["dataframe_split"]["properties"]["columns"]["items"]["enum"]
        columns = split["columns"]
        if sorted(columns) != sorted(names) or len(set(columns)) != len(columns):
            return document
        order = [columns.index(name) for name in names]
        data = [[row[i] for i in order] for row in split["data"]]
    except (KeyError, TypeError, IndexError, ValueError, AttributeError):
        return document
    return {**document, "dataframe_split": {**split, "columns": list(names), "data": data}}


def _valid_unicode(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_valid_unicode(k) and _valid_unicode(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_valid_unicode(item) for item in value)
    return True


def is_json_media_type(headers: Mapping[str, str]) -> bool:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return value is not None and value.split(";")[0].strip().lower() == "application/json"


def problem(request: HttpRequest, schema: Mapping[str, Any]) -> str | None:
    """Why ``request`` is not a valid request under ``schema`` (None: it is valid)."""
    if not is_json_media_type(request.headers):
        return f"content type {request.headers.get('Content-Type')!r}"
    try:
        document = strict_json(request.body)
    except Invalid as exc:
        return str(exc)
    try:
        if not _valid_unicode(document):
            return "a string holds a lone surrogate (valid JSON, not valid Unicode)"
    except RecursionError:
        return "nested too deep to walk"
    document = _canonical_columns(document, schema)
    errors = sorted(Draft7Validator(schema).iter_errors(document), key=str)
    return errors[0].message[:200] if errors else None
