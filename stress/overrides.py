"""Scenario overrides by key path, for the Python API: ``{"load.phases[0].users": 4}``.

    name                         a top-level key
    load.phases[0].duration      keys with dots, list indexes in brackets (negative from the end)
    load.phases[*].duration      every item of a list
    inputs.families['unicode.null_bytes']   keys holding dots or odd characters, quoted

Paths are parsed by stress.jsonpath (the http-json answer paths, without the leading ``$``).
A missing key is added (the scenario's validation then says if it is unknown, with "did you
mean"); a path through something that is not a mapping or a list is an error naming it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from stress import jsonpath
from stress.errors import ScenarioError

SOURCE = "overrides"
Steps = tuple[tuple[str, jsonpath.Step], ...]


def apply(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with every override set; raises ScenarioError naming each bad
    key path (all of them at once), e.g. ``overrides: load.phases[4]: ...``."""
    result = copy.deepcopy(dict(data))
    problems = []
    for key, value in overrides.items():
        try:
            _set(result, _steps(key), value, key)
        except _BadPath as exc:
            problems.append(f"{SOURCE}: {exc}")
    if problems:
        raise ScenarioError(problems)
    return result


class _BadPath(ValueError):
    pass


def _steps(key: object) -> Steps:
    if not isinstance(key, str) or not key.strip():
        raise _BadPath(
            f"{key!r}: expected a key path such as 'load.phases[0].users' or 'inputs.seed'"
        )
    expression = "$" + ("" if key.startswith("[") else ".") + key
    try:
        steps = jsonpath.parse(expression).steps
    except ValueError:
        raise _BadPath(
            f"{key}: not a key path; use .key, [0], ['key'] or [*], e.g. load.phases[0].users"
        ) from None
    return steps


def _set(node: Any, steps: Steps, value: Any, key: str, done: Steps = ()) -> None:
    """Set ``value`` at ``steps`` under ``node`` (reached by ``done``); mappings missing on
    the way are created."""
    (kind, step), rest = steps[0], steps[1:]
    where = _shown(done)
    if kind in ("all", "index") and not isinstance(node, list):
        raise _BadPath(f"{key}: {where} is {_kind(node)}, not a list; use .name for a key")
    if kind == "all":
        for index in range(len(node)):
            _put(node, index, rest, value, key, (*done, ("index", index)))
        return
    if kind == "index":
        assert isinstance(step, int)
        if not -len(node) <= step < len(node):
            raise _BadPath(
                f"{key}: index {step} is out of range: {where} has {len(node)} item(s); "
                f"use 0 to {len(node) - 1}, or -1 for the last"
            )
        _put(node, step, rest, value, key, (*done, (kind, step)))
        return
    if not isinstance(node, dict):
        raise _BadPath(f"{key}: {where} is {_kind(node)}, not a mapping; it has no key {step!r}")
    if rest and node.get(step) is None:
        node[step] = {} if rest[0][0] == "key" else []
    _put(node, step, rest, value, key, (*done, (kind, step)))


def _put(
    container: Any, slot: jsonpath.Step, rest: Steps, value: Any, key: str, done: Steps
) -> None:
    if rest:
        _set(container[slot], rest, value, key, done)
    else:
        container[slot] = copy.deepcopy(value)


def _shown(steps: Steps) -> str:
    """``steps`` written as a key path, e.g. ``load.phases[0]``."""
    if not steps:
        return "the top level"
    text = ""
    for kind, step in steps:
        if kind == "index":
            text += f"[{step}]"
        elif isinstance(step, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", step):
            text += f".{step}"
        else:
            text += f"[{step!r}]"
    return text.lstrip(".")


def _kind(node: Any) -> str:
    return "null" if node is None else f"a {type(node).__name__}"
