"""Custom checks: ``module:function`` in a scenario's checks list.

The function receives the corpus input and the parsed answer and says what is wrong::

    def no_apologies(item: Input, outcome: Outcome) -> str | None:
        if outcome.text and "sorry" in outcome.text.lower():
            return "the model apologised"
        return None

It is called for every 2xx answer the protocol could read. It returns None or True (passed),
False (failed), a string (failed, with this message) or a Finding (failed, with its message,
severity and evidence). Its findings are named ``module:function``, so the scenario's
``severity`` map can set their level. A check that raises is reported as a finding (error):
a broken check must not pass silently. Modules are imported from the current directory or
the installed environment.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from stress.checks.exchange import ERROR, Exchange, Finding


class CustomCheckError(ValueError):
    """A custom check cannot be imported or is not a function."""


def resolve(spec: str) -> Callable[..., Any]:
    """The function named by ``module:function``; raises CustomCheckError saying the fix."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise CustomCheckError(
            f"custom check {spec!r}: expected module:function, e.g. mychecks:no_apologies"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        # `stress` started as a console script has its bin/ directory on sys.path, not the
        # directory the user runs it from, where their checks module usually lives.
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a user's module may fail in any way while importing
        raise CustomCheckError(
            f"custom check {spec!r}: cannot import module {module_name!r} "
            f"({type(exc).__name__}: {exc}); run stress from the directory that holds it "
            f"or add it to PYTHONPATH"
        ) from None
    function = getattr(module, attribute, None)
    if function is None:
        public = sorted(
            name
            for name, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == module.__name__ and name[0] != "_"
        )
        raise CustomCheckError(
            f"custom check {spec!r}: module {module_name!r} has no {attribute!r} "
            f"(its functions: {', '.join(public[:10]) or 'none'})"
        )
    if not callable(function):
        raise CustomCheckError(f"custom check {spec!r}: {attribute!r} is not a function")
    return function  # type: ignore[no-any-return]


def problem(spec: str) -> str | None:
    """None when ``spec`` names a usable check, else the problem (for scenario validation)."""
    try:
        resolve(spec)
    except CustomCheckError as exc:
        return str(exc)
    return None


def custom_check(spec: str) -> Callable[[Exchange], Finding | None]:
    """A per-request check that calls the user's function on parsed 2xx answers."""
    function = resolve(spec)

    def check(exchange: Exchange) -> Finding | None:
        if exchange.item is None or not exchange.parsed:
            return None
        try:
            result = function(exchange.item, exchange.outcome)
        except Exception as exc:  # the user's code: any exception is a finding, not a crash
            return Finding(
                spec,
                f"the custom check raised {type(exc).__name__}: {exc}; fix the check",
                ERROR,
            )
        if result is None or result is True:
            return None
        if isinstance(result, Finding):
            return Finding(spec, result.message, result.severity, result.expected, result.got)
        if result is False:
            return Finding(spec, f"{spec} returned False", ERROR)
        return Finding(spec, str(result), ERROR)

    check.__name__ = spec
    check.__doc__ = f"custom check {spec}"
    return check
