"""The catalog a scenario's names are judged against: the input families (built-in and the
scenario's custom ones), the checks, custom ``module:function`` references, the body schema,
and target.openapi. It is the ``stress.scenario.Catalog`` that loading is given: it lives
here, above the scenario, because it imports the catalog, the checks and the OpenAPI reader.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stress.checks.custom import problem as check_problem
from stress.checks.request import ALL_CHECKS
from stress.inputs.custom import problem as custom_problem
from stress.inputs.families import catalog
from stress.inputs.schemas import problems as schema_problems
from stress.prepare.corpus import family_misfit
from stress.scenario import DEFAULT_CHECKS, Protocol, Scenario, is_glob

Loc = tuple[str | int, ...]


class Catalog:
    """Families (with the protocols each applies to) and checks a scenario may name."""

    def __init__(self) -> None:
        self.families = {name: list(family.protocols) for name, family in catalog().items()}
        self.checks = list(ALL_CHECKS)

    def problems(self, scenario: Scenario) -> list[tuple[str, Loc]]:
        """Unknown or unfit families, globs, excludes, counts, custom families and checks,
        severities of unknown checks, a body schema that cannot generate."""
        return _check_names(scenario, self)

    def expand_openapi(
        self, data: dict[str, Any], scenario: Scenario, folder: Path
    ) -> dict[str, Any]:
        from stress.openapi import expand

        return expand(data, scenario, folder)


def _check_names(scenario: Scenario, known: Catalog) -> list[tuple[str, Loc]]:
    """Problems with names that only make sense against the catalog: (message, key path)."""
    problems = _check_families(scenario, known)
    for family in (name for name in scenario.inputs.families if not is_glob(name)):
        if family not in _available(scenario, known):
            close = difflib.get_close_matches(family, list(known.families), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"inputs.families.{family}: unknown input family{hint} "
                    f"(`stress families` lists them)",
                    ("inputs", "families", family),
                )
            )
        elif scenario.target.protocol.value not in _available(scenario, known)[family]:
            problems.append(
                (
                    f"inputs.families.{family}: this family does not apply to protocol "
                    f"{scenario.target.protocol.value!r}; remove it or pick one for this protocol",
                    ("inputs", "families", family),
                )
            )
    for index, check in enumerate(scenario.checks or []):
        if ":" in check:
            problem = check_problem(check)
            if problem:
                problems.append((f"checks[{index}]: {problem}", ("checks", index)))
        elif check not in known.checks and check != DEFAULT_CHECKS:
            close = difflib.get_close_matches(check, [*known.checks, DEFAULT_CHECKS], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"checks[{index}]: unknown check {check!r}{hint} "
                    f"(`stress checks` lists them; custom checks are module:function)",
                    ("checks", index),
                )
            )
    custom = [check for check in scenario.checks or [] if ":" in check]
    for name in scenario.severity:
        if name not in known.checks and name not in custom:
            close = difflib.get_close_matches(name, [*known.checks, *custom], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"severity.{name}: unknown check{hint} (`stress checks` lists them)",
                    ("severity", name),
                )
            )
    return problems


def _available(scenario: Scenario, known: Catalog) -> dict[str, list[str]]:
    """The known families plus the scenario's custom ones (which apply to every protocol)."""
    every = [protocol.value for protocol in Protocol]
    return {**known.families, **dict.fromkeys(scenario.inputs.custom, every)}


def _unknown(name: str, names: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what}{hint} (`stress families` lists them)"


def _check_families(scenario: Scenario, known: Catalog) -> list[tuple[str, Loc]]:
    """Globs, excludes, counts and custom families: each must name something real."""
    inputs = scenario.inputs
    protocol = scenario.target.protocol.value
    available = _available(scenario, known)
    names = list(available)
    problems: list[tuple[str, Loc]] = []
    where: Loc
    for name, spec in inputs.custom.items():
        where = ("inputs", "custom", name)
        if name in known.families:
            problems.append(
                (f"inputs.custom.{name}: a built-in family has this name; rename it", where)
            )
        else:
            problem = custom_problem(spec.function)
            if problem:
                problems.append((f"inputs.custom.{name}.function: {problem}", (*where, "function")))
    for key in (k for k in inputs.families if is_glob(k)):
        where = ("inputs", "families", key)
        matching = fnmatch.filter(names, key)
        if not matching:
            problems.append((f"inputs.families.{key}: matches no input family", where))
        elif not any(protocol in available[name] for name in matching):
            problems.append(
                (f"inputs.families.{key}: matches no family for protocol {protocol!r}", where)
            )
    for index, pattern in enumerate(inputs.exclude):
        where = ("inputs", "exclude", index)
        if is_glob(pattern) and not fnmatch.filter(names, pattern):
            problems.append(
                (f"inputs.exclude[{index}]: {pattern!r} matches no input family", where)
            )
        elif not is_glob(pattern) and pattern not in available:
            message = _unknown(pattern, names, f"input family {pattern!r}")
            problems.append((f"inputs.exclude[{index}]: {message}", where))
        elif pattern in inputs.families:
            problems.append(
                (
                    f"inputs.exclude[{index}]: {pattern!r} is both selected in inputs.families "
                    f"and excluded; remove one of them",
                    where,
                )
            )
    for name in inputs.counts:
        where = ("inputs", "counts", name)
        if name not in available:
            problems.append(
                (f"inputs.counts.{name}: {_unknown(name, names, 'input family')}", where)
            )
        elif protocol not in available[name]:
            problems.append(
                (
                    f"inputs.counts.{name}: this family does not apply to protocol {protocol!r}",
                    where,
                )
            )
    if not problems and not inputs.weights(available, protocol) and not inputs.counts:
        problems.append(
            (
                "inputs.families: nothing is left to send after inputs.exclude; "
                "select more families or exclude fewer",
                ("inputs", "families"),
            )
        )
    if not problems:
        named = [n for n in inputs.families if not is_glob(n)] + list(inputs.counts)
        for name in named:
            if name in available and protocol in available[name]:
                reason = family_misfit(scenario, name)
                key = "counts" if name in inputs.counts else "families"
                if reason:
                    problems.append(
                        (
                            f"inputs.{key}.{name}: does not fit this target: {reason}; remove it",
                            ("inputs", key, name),
                        )
                    )
    if inputs.body_schema is not None:
        for problem in schema_problems(inputs.body_schema):
            problems.append((f"inputs.body_schema: {problem}", ("inputs", "body_schema")))
    return problems
