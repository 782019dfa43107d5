"""Custom families from a scenario: ``module:function`` returning a Hypothesis strategy.

What the strategy draws becomes the payload:

=========================================  =======================================
value drawn                                payload
=========================================  =======================================
a string                                   one user message (chat protocols)
a list of {"role", "content"} dicts        the messages (chat)
a dict with "messages" or "rows"           used as it is
a {column: value} dict                     one row (tabular protocols)
a list of {column: value} dicts            the rows (tabular)
=========================================  =======================================

Examples are drawn with Hypothesis from bytes seeded per input, so a custom family is as
deterministic as the built-in ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stress.inputs.family import ALL_PROTOCOLS, Draw, Expect, Family, Kind

if TYPE_CHECKING:  # imported where a scenario names a custom family
    from hypothesis import strategies as st


class CustomFamilyError(ValueError):
    """A custom family's function cannot be used; the message says why and how to fix it."""


def load(reference: str) -> st.SearchStrategy[Any]:
    """Import ``module:function`` and call it; it must return a Hypothesis strategy."""
    module_name, _, function_name = reference.partition(":")
    if not module_name or not function_name:
        raise CustomFamilyError(
            f"expected 'module:function' (e.g. my_package.inputs:greetings), got {reference!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CustomFamilyError(
            f"cannot import {module_name!r} ({exc}); make the module importable "
            f"(install it, or run from the folder that holds it)"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise CustomFamilyError(f"{module_name!r} has no function {function_name!r}")
    from hypothesis import strategies as st

    strategy = function()
    if not isinstance(strategy, st.SearchStrategy):
        raise CustomFamilyError(
            f"{reference} returned {type(strategy).__name__}, not a Hypothesis strategy; "
            f"return e.g. hypothesis.strategies.text()"
        )
    return strategy


def payload_of(value: Any, *, tabular: bool) -> dict[str, Any]:
    """The payload for one drawn value (see the module docstring)."""
    if isinstance(value, dict) and ("messages" in value or "rows" in value):
        return value
    if tabular:
        if isinstance(value, dict):
            return {"rows": [value]}
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return {"rows": value}
    else:
        if isinstance(value, str):
            return {"messages": [{"role": "user", "content": value}]}
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return {"messages": value}
    raise CustomFamilyError(
        f"a custom strategy drew {type(value).__name__} {value!r:.80}, which is not a "
        f"{'row, rows' if tabular else 'string, message list'} or payload dict"
    )


def family(name: str, spec: Mapping[str, Any]) -> Family:
    """The Family a scenario's ``inputs.custom.<name>`` entry describes."""
    strategy = load(str(spec["function"]))

    def generate(draw: Draw) -> dict[str, Any]:
        return payload_of(draw.example(strategy), tabular=draw.context.tabular)

    return Family(
        name,
        str(spec.get("description") or f"custom: {spec['function']}"),
        Expect(spec.get("expect", "accept")),
        Kind.PROMPT,
        ALL_PROTOCOLS,
        generate,
        "defined by the scenario",
        custom=True,
    )


def problem(reference: str) -> str | None:
    """What is wrong with ``reference`` as a custom family's function (None: usable)."""
    try:
        load(reference)
    except CustomFamilyError as exc:
        return str(exc)
    return None
