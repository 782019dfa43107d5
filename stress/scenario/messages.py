"""Messages: a pydantic error → ``file: key.path: what is wrong (line N)``, with "did you
mean" for a misspelt key."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)


class KeyedError(ValueError):
    """A validator's error about a key below the model being validated."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        self.loc = loc
        super().__init__(message)


# What to say instead of pydantic's wording, keyed by pydantic's error type.
_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list (lines starting with '- ')",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
}


def location(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _field_names(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed at ``loc`` (used for "did you mean")."""
    current: Any = model
    keyed = False  # the previous part named a mapping, so this part is one of its keys
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if keyed:
            keyed = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        keyed = "dict[" in str(annotation)
        current = _model_in(annotation)
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    value = error.get("input")
    got = f", got {value!r}" if kind != "missing" else ""
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind == "greater_than" and ctx.get("gt") == 0:
        noun = "integer" if isinstance(value, int) else "number"
        return f"expected a positive {noun}{got}"
    if kind == "greater_than":
        return f"expected a number greater than {ctx.get('gt')}{got}"
    if kind == "greater_than_equal":
        return f"expected a number of at least {ctx.get('ge')}{got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s){got}"
    if kind == "string_pattern_mismatch":
        return f"expected letters, digits, '.', '_' or '-' only{got}"
    if kind in ("enum", "literal_error"):
        return f"expected one of {ctx.get('expected')}{got}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}{got}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", error["msg"]))
        return message
    return f"{error['msg']}{got}"


def problems_of(
    exc: ValidationError,
    source: str,
    lines: Mapping[tuple[str | int, ...], int],
    *,
    model: type[BaseModel],
) -> list[str]:
    """Every error of ``exc`` as ``source: key.path: message (line N)``; ``model`` is the
    top model validated (its keys are offered for a misspelt one)."""
    errors = []
    for error in exc.errors():
        loc: tuple[str | int, ...] = tuple(error["loc"])
        # Drop pydantic's internal tags such as 'function-after[...]' from the path.
        loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedError):
            loc = loc + cause.loc
        errors.append((loc, error))
    # A misspelt key shows up twice: as unknown, and its intended key as missing. Say it once.
    suggested = set()
    for loc, error in errors:
        if error["type"] == "extra_forbidden":
            allowed = _field_names(model, loc[:-1])
            for close in difflib.get_close_matches(str(loc[-1]), allowed, n=1):
                suggested.add((*loc[:-1], close))
    problems = []
    for loc, error in errors:
        if error["type"] == "missing" and loc in suggested:
            continue
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _field_names(model, loc[:-1])
            message = f"unknown key {key!r}"
            matches = difflib.get_close_matches(key, allowed, n=1)
            if matches:
                message += f"; did you mean {matches[0]!r}?"
            elif allowed:
                message += f"; allowed keys: {', '.join(allowed)}"
        else:
            message = _describe(error)
        line = _nearest_line(loc, lines)
        suffix = f" (line {line})" if line else ""
        problems.append(f"{source}: {location(loc)}: {message}{suffix}")
    return problems


def _nearest_line(
    loc: tuple[str | int, ...], lines: Mapping[tuple[str | int, ...], int]
) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def line_map(text: str) -> dict[tuple[str | int, ...], int]:
    """Key path -> 1-based line number, from the YAML node tree."""
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return lines


def with_line(
    problem: str, loc: tuple[str | int, ...], lines: Mapping[tuple[str | int, ...], int]
) -> str:
    line = _nearest_line(loc, lines)
    return f"{problem} (line {line})" if line else problem
