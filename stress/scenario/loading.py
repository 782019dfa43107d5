"""Loading a scenario: a file or a mapping → a validated Scenario, every problem at once.

Loading checks the scenario's own keys. What it refers to outside itself (input families,
checks, custom functions, a body schema, an OpenAPI document) is judged by a ``Catalog``
passed as ``known``: an explicit interface that the preparation (stress.prepare.names)
implements, so nothing here imports the input catalog, the checks or the OpenAPI reader.
Without one (a run directory's resolved scenario.yaml), only the keys are checked.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stress.errors import ScenarioError
from stress.scenario.messages import KeyedError, line_map, location, problems_of, with_line
from stress.scenario.model import Scenario
from stress.scenario.values import format_duration
from stress.secrets import MissingVariable, resolve

Loc = tuple[str | int, ...]


class Catalog(typing.Protocol):
    """What a scenario may name beyond its own keys, and how target.openapi is resolved."""

    def problems(self, scenario: Scenario) -> list[tuple[str, Loc]]:
        """The names of ``scenario`` that are not known or do not fit its target:
        (message naming the key and the fix, the key's path)."""
        ...

    def expand_openapi(
        self, data: dict[str, Any], scenario: Scenario, folder: Path
    ) -> dict[str, Any]:
        """``data`` with target.openapi resolved into plain http-json keys (paths from
        ``folder``); raises ScenarioKeyError (exit 2) or TargetUnreachable (exit 3)."""
        ...


def from_dict(
    data: object, *, source: str = "<scenario>", text: str = "", known: Catalog | None = None
) -> Scenario:
    """Validate a parsed scenario; raises ScenarioError listing every problem."""
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            [
                f"{source}: (top level): expected a mapping with name, target, inputs and load, "
                f"got {kind}"
            ]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_of(exc, source, line_map(text), model=Scenario)) from None
    lines = line_map(text)
    if scenario.target.openapi is not None:
        scenario = _with_openapi(data, scenario, source, lines, known)
    problems = [
        with_line(f"{source}: {problem}", loc, lines) for problem, loc in _named(scenario, known)
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


def _named(scenario: Scenario, known: Catalog | None) -> list[tuple[str, Loc]]:
    """Problems with names, with a catalog to judge them: those the catalog sees, then the
    scenario's own cross-references (SLO families and phases, the baseline, max_duration)."""
    if known is None:
        return []
    return [*known.problems(scenario), *_cross_references(scenario)]


def _cross_references(scenario: Scenario) -> list[tuple[str, Loc]]:
    """Names one section gives another: each must exist in the scenario."""
    problems: list[tuple[str, Loc]] = []
    for family in scenario.slo.families:
        if family not in scenario.inputs.families:
            names = list(scenario.inputs.families)
            close = difflib.get_close_matches(family, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"slo.families.{family}: the scenario sends no input of this family{hint} "
                    f"(families: {', '.join(names)})",
                    ("slo", "families", family),
                )
            )
    phase_names = [phase.name for phase in scenario.load.phases]
    for phase in scenario.slo.phases:
        if phase not in phase_names:
            close = difflib.get_close_matches(phase, phase_names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"slo.phases.{phase}: no load phase has this name{hint} "
                    f"(phases: {', '.join(phase_names)})",
                    ("slo", "phases", phase),
                )
            )
    baseline = scenario.degradation.baseline
    if baseline is not None and baseline not in phase_names:
        close = difflib.get_close_matches(baseline, phase_names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(
            (
                f"degradation.baseline: no load phase is named {baseline!r}{hint} "
                f"(phases: {', '.join(phase_names)})",
                ("degradation", "baseline"),
            )
        )
    if scenario.total_duration > scenario.load.max_duration:
        total = format_duration(scenario.total_duration)
        problems.append(
            (
                f"load.max_duration: the phases last {total}"
                f" but max_duration is {format_duration(scenario.load.max_duration)}; "
                f"raise load.max_duration or shorten the phases",
                ("load", "max_duration"),
            )
        )
    return problems


class ScenarioKeyError(KeyedError):
    """A problem with one key of a scenario, found by a Catalog (its expand_openapi):
    ``loc`` is the key path from the top, the message says what is wrong and the fix."""


def _with_openapi(
    data: dict[str, Any],
    scenario: Scenario,
    source: str,
    lines: Mapping[tuple[str | int, ...], int],
    known: Catalog | None,
) -> Scenario:
    """The scenario with target.openapi resolved into plain http-json keys."""
    where = ("target", "openapi")
    if known is None:
        raise ScenarioError(
            [
                with_line(
                    f"{source}: target.openapi: this command reads resolved scenarios (a run "
                    f"directory's scenario.yaml); load the file with `stress validate` or "
                    f"`stress run`",
                    where,
                    lines,
                )
            ]
        )
    try:
        expanded = known.expand_openapi(data, scenario, Path(source).parent)
    except ScenarioKeyError as exc:
        loc = exc.loc
        raise ScenarioError([with_line(f"{source}: {location(loc)}: {exc}", loc, lines)]) from None
    try:
        return Scenario.model_validate(expanded)
    except ValidationError as exc:
        problems = problems_of(exc, source, lines, model=Scenario)
        raise ScenarioError([f"{p} (from target.openapi)" for p in problems]) from None


def check_environment(
    scenario: Scenario, *, source: str, environ: Mapping[str, str] | None = None
) -> None:
    """Raise ScenarioError naming every ${ENV_VAR} the target refers to that is not set.

    Separate from loading: a run directory's scenario.yaml keeps the references and must stay
    readable (report, compare) where the secrets are not set.
    """
    problems = []
    for section in ("headers", "params"):
        for key, value in getattr(scenario.target, section).items():
            try:
                resolve(value, environ)
            except MissingVariable as exc:
                problems.append(
                    f"{source}: target.{section}.{key}: environment variable {exc.name} is not "
                    f"set; export it before running (export {exc.name}=...) or remove the "
                    f"reference"
                )
    if problems:
        raise ScenarioError(problems)


def from_path(path: str | Path, *, known: Catalog | None = None) -> Scenario:
    """Load and validate a scenario file; raises ScenarioError (never a traceback)."""
    text, data = read(path)
    return from_text(path, text, data, known=known)


def read(path: str | Path) -> tuple[str, object]:
    """A scenario file's text and its parsed YAML; raises ScenarioError (never a traceback)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            [f"{source}: file not found; check the path (scenarios live in scenarios/)"]
        ) from None
    except IsADirectoryError:
        raise ScenarioError([f"{source}: is a directory; pass a scenario .yaml file"]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"]
        ) from None
    except OSError as exc:
        raise ScenarioError(
            [
                f"{source}: cannot read the file ({exc.strerror or exc}); check that it exists "
                f"and that you may read it"
            ]
        ) from None
    try:
        data = parse_yaml(text, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            [f"{source}: not valid YAML{where}: {problem}; fix the syntax"]
        ) from None
    return text, data


# What YAML aliases (*name) may add to a scenario, in nodes beyond those the file writes.
# A scenario shares a headers block or a phase through an alias; nine aliases of nine
# aliases of ... (a "billion laughs") would expand to hundreds of millions.
MAX_ALIAS_NODES = 100_000


def parse_yaml(text: str, source: str) -> object:
    """The YAML document in ``text``, refused (ScenarioError, exit 2) before it is built
    when its aliases expand it by more than MAX_ALIAS_NODES nodes or refer to themselves."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node, source)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_aliases(root: yaml.Node, source: str) -> None:
    """Count the nodes ``root`` expands to, each distinct node once (memoized by identity),
    so the count costs the file's size, not the expansion's."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    written = 0

    def size(node: yaml.Node) -> int:
        nonlocal written
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise ScenarioError(
                [
                    f"{source}: a YAML alias refers to the node it is in (line {line}); "
                    f"a scenario cannot be recursive: write the part out"
                ]
            )
        open_nodes.add(key)
        written += 1
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        open_nodes.discard(key)
        sizes[key] = total
        return total

    expanded = size(root)
    if expanded - written > MAX_ALIAS_NODES:
        raise ScenarioError(
            [
                f"{source}: YAML aliases (*name) expand this file to {expanded:,} nodes, "
                f"{expanded - written:,} more than it writes (at most {MAX_ALIAS_NODES:,}): "
                f"an alias bomb? Write the repeated parts out instead of nesting aliases"
            ]
        )


def from_text(
    path: str | Path, text: str, data: object, *, known: Catalog | None = None
) -> Scenario:
    """The scenario ``read(path)`` gave, validated; inputs.from_log's path made whole."""
    scenario = from_dict(data, source=str(path), text=text, known=known)
    log = scenario.inputs.from_log
    if log is not None and not Path(log.path).is_absolute():
        # The log's path is relative to the scenario file; a run's scenario.yaml keeps it whole.
        whole = str((Path(path).parent / log.path).resolve())
        inputs = scenario.inputs.model_copy(
            update={"from_log": log.model_copy(update={"path": whole})}
        )
        scenario = scenario.model_copy(update={"inputs": inputs})
    return scenario
