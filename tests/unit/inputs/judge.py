"""Is a request a valid one? Strict JSON, no duplicate keys, the schema, a JSON content type.

The families' expectations are checked against this independent judge: an "accept" input
must be valid and a "reject" one invalid, whatever the server does with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ints(bits: int, *, signed: bool) -> Callable[[Any], bool]:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    return lambda value: _integer(value) and low <= value < high


# What each Open Inference Protocol datatype holds: a test of one element.
_FITS: dict[str, Callable[[Any], bool]] = {
    "BOOL": lambda value: isinstance(value, bool),
    "FP16": lambda value: _number(value) and abs(value) <= 65504,
    "FP32": lambda value: _number(value) and abs(value) <= 3.4028234663852886e38,
    "FP64": _number,
    "BYTES": lambda value: isinstance(value, str),
    **{f"INT{bits}": _ints(bits, signed=True) for bits in (8, 16, 32, 64)},
    **{f"UINT{bits}": _ints(bits, signed=False) for bits in (8, 16, 32, 64)},
}


def _flat(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [leaf for item in data for leaf in _flat(item)]
    return [data]


def tensor_problem(document: Any) -> str | None:
    """What the Open Inference Protocol forbids that a JSON Schema cannot say: an element
    count other than the shape's product, data that do not fit the datatype."""
    for tensor in document.get("inputs", []) if isinstance(document, dict) else []:
        try:
            shape, datatype, data = tensor["shape"], tensor["datatype"], _flat(tensor["data"])
        except (KeyError, TypeError):
            continue  # the schema reports what is missing
        count = 1
        for size in shape:
            count *= size
        if count != len(data):
            return f"shape {shape} holds {count} elements, data has {len(data)}"
        fits = _FITS.get(datatype)
        if fits is not None and not all(fits(value) for value in data):
            return f"data do not fit datatype {datatype}"
    return None


def is_json_media_type(headers: Mapping[str, str]) -> bool:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return value is not None and value.split(";")[0].strip().lower() == "application/json"


def problem(request: HttpRequest, schema: Mapping[str, Any]) -> str | None:
    """Why ``request`` is not a valid request under ``schema`` (None: it is valid)."""
    if request.method != "POST":  # every protocol's endpoint takes POST alone
        return f"method {request.method}"
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
    if errors:
        return errors[0].message[:200]
    return tensor_problem(document)
