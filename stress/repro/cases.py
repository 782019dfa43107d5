"""Stored failing cases: where a run keeps them, their exact request, and what "the same
failure" means.

A case is one object in the failures.jsonl format (ARCHITECTURE.md): ``input_id``,
``family``, ``expect``, ``check``, ``message``, ``findings``, ``request`` and ``response``.
A run directory holds them in three places, searched in this order by ``--id``:

    failures.jsonl           what the load found
    shrunk/<id>.json         what `stress shrink` made of one (``--shrunk`` picks it)
    regressions.jsonl        regression cases replayed before the load (see regressions.py)

Secret headers and query parameters are stored as ``<redacted>``. At replay time they take the
value the scenario gives them (``target.headers``, ``target.params``), with every ``${VAR}`` in
it expanded from the environment of the replaying process, so a secret never has to be
written into a run directory or an export.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from stress.errors import RunDirError, UsageError
from stress.inputs import corpus as corpus_io
from stress.inputs.corpus import Input
from stress.invocation import command
from stress.rundir import layout
from stress.rundir.read import check_run_dir, iter_failures, iter_regressions
from stress.scenario import Scenario

REDACTED = "<redacted>"
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Case ids become file names (shrunk/<id>.json): nothing that could leave the folder.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class StoredRequest:
    """Exactly what is re-sent: method, path (with query), headers, body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Signature:
    """What "failing the same way" means: the same check, an answer of the same status class.

    ``status_class`` is the HTTP status // 100, 0 when no answer arrived (timeouts,
    connection errors).
    """

    check: str
    status_class: int

    def describe(self) -> str:
        answer = "no answer" if self.status_class == 0 else f"HTTP {self.status_class}xx"
        return f"{self.check} with {answer}"


def body_of(request: Mapping[str, Any]) -> bytes:
    """The body bytes of a stored request (``body`` as UTF-8 text, or ``body_b64``)."""
    if "body_b64" in request:
        return base64.b64decode(request["body_b64"])
    return str(request.get("body", "")).encode("utf-8", "surrogateescape")


def body_fields(body: bytes) -> dict[str, str]:
    """A body for a stored case: UTF-8 text when it is valid UTF-8, else base64."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


def signature(case: Mapping[str, Any]) -> Signature:
    """The signature of a stored case: its first error check and the status class it got."""
    status = int((case.get("response") or {}).get("status") or 0)
    return Signature(str(case["check"]), status // 100)


def secret_value(name: str, scenario: Scenario) -> str | None:
    """The scenario's value of header ``name`` (any case), ``${VAR}`` references unexpanded."""
    for header, value in scenario.target.headers.items():
        if header.lower() == name.lower():
            return value
    return None


def expand_env(value: str, *, header: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with every ``${VAR}`` replaced from the environment; UsageError if unset."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        variable = match.group(1)
        if variable not in env:
            raise UsageError(
                f"target.headers.{header}: environment variable {variable} is not set; the run "
                f"sent this header but stored it redacted, so export {variable}=... (the value "
                f"the run used) and try again"
            )
        return env[variable]

    return ENV_REFERENCE.sub(substitute, value)


def restore_headers(
    headers: Mapping[str, str], scenario: Scenario, *, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Stored headers with redacted secrets restored; the second item names those left out.

    A redacted header the scenario does not set (an adapter added it) cannot be restored; it
    is left out, and its name returned so the caller can say so.
    """
    restored: dict[str, str] = {}
    missing: list[str] = []
    for name, value in headers.items():
        if value == REDACTED:
            configured = secret_value(name, scenario)
            if configured is None:
                missing.append(name)
                continue
            value = expand_env(configured, header=name, environ=environ)
        restored[name] = value
    return restored, missing


def path_parts(path: str, scenario: Scenario) -> tuple[tuple[str, bool], ...]:
    """``path`` as (text, is_env_variable) pieces: each redacted query parameter that
    ``target.params`` sets gets the scenario's value back, its ``${VAR}``s as variables.

    A variable's value goes into the query URL-encoded (``quote_plus``, as the adapters'
    ``urlencode`` wrote it); literal pieces are already encoded.
    """
    base, question, query = path.partition("?")
    if not question or REDACTED not in unquote_plus(query):
        return ((path, False),)
    parts: list[tuple[str, bool]] = [(base + "?", False)]
    for index, segment in enumerate(query.split("&")):
        name, equals, value = segment.partition("=")
        configured = scenario.target.params.get(unquote_plus(name))
        parts.append(("&" if index else "", False))
        if not equals or unquote_plus(value) != REDACTED or configured is None:
            parts.append((segment, False))
            continue
        parts.append((name + "=", False))
        position = 0
        for match in ENV_REFERENCE.finditer(configured):
            parts.append((quote_plus(configured[position : match.start()]), False))
            parts.append((match.group(1), True))
            position = match.end()
        parts.append((quote_plus(configured[position:]), False))
    merged: list[tuple[str, bool]] = []
    for text, is_env in parts:
        if merged and not is_env and not merged[-1][1]:
            merged[-1] = (merged[-1][0] + text, False)
        elif is_env or text:
            merged.append((text, is_env))
    return tuple(merged)


def restore_path(path: str, scenario: Scenario, *, environ: Mapping[str, str] | None = None) -> str:
    """The stored path with its redacted query parameters restored from the environment."""
    env = os.environ if environ is None else environ
    pieces = []
    for text, is_env in path_parts(path, scenario):
        if not is_env:
            pieces.append(text)
            continue
        if text not in env:
            raise UsageError(
                f"target.params: environment variable {text} is not set; the run sent this "
                f"query parameter but stored it redacted, so export {text}=... (the value the "
                f"run used) and try again"
            )
        pieces.append(quote_plus(env[text]))
    return "".join(pieces)


def stored_request(
    case: Mapping[str, Any], scenario: Scenario, *, environ: Mapping[str, str] | None = None
) -> StoredRequest:
    """The exact request of a case, with redacted secrets restored from the scenario."""
    request = case["request"]
    headers, _ = restore_headers(request["headers"], scenario, environ=environ)
    path = restore_path(request["path"], scenario, environ=environ)
    return StoredRequest(request["method"], path, headers, body_of(request))


def check_case_id(input_id: str) -> str:
    if not _SAFE_ID.match(input_id):
        raise UsageError(
            f"--id: {input_id!r} is not a case id; ids look like unicode.control_chars-0004 "
            f"(see failures.jsonl or the report's failure table)"
        )
    return input_id


def iter_cases(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every stored case of a run: failures.jsonl, then still-failing regression cases."""
    yield from iter_failures(run_dir)
    for row in iter_regressions(run_dir):
        if row.get("still_fails") and isinstance(row.get("case"), dict):
            yield row["case"]


def find_cases(run_dir: Path, input_id: str | None) -> list[dict[str, Any]]:
    """The stored cases with ``input_id`` (all when None); UsageError when there are none."""
    check_run_dir(run_dir)
    cases = list(iter_cases(run_dir))
    if input_id is None:
        return cases
    chosen = [case for case in cases if case.get("input_id") == input_id]
    if not chosen:
        known = ", ".join(sorted({str(c.get("input_id")) for c in cases})[:10]) or "none"
        raise UsageError(
            f"--id: no stored failure of {run_dir} has input id {input_id!r} (some: {known}); "
            f"pick one from failures.jsonl or the report's failure table"
        )
    return chosen


def find_case(run_dir: Path, input_id: str, *, shrunk: bool = False) -> dict[str, Any]:
    """One case by id: the first stored failure of that input, or its shrunk version."""
    check_case_id(input_id)
    if not shrunk:
        return find_cases(run_dir, input_id)[0]
    check_run_dir(run_dir)
    path = shrunk_path(run_dir, input_id)
    again = command("shrink", run_dir, "--id", input_id)
    try:
        case = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"--shrunk: {path} does not exist; run `{again}` first, or leave out --shrunk to "
            f"use the stored failure"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path}: unreadable ({exc}); run `{again}` again") from None
    if case.get("shrink", {}).get("status") != "shrunk":
        status = case.get("shrink", {}).get("status")
        raise UsageError(
            f"--shrunk: shrinking {input_id} ended as {status!r}, so there is no minimal case; "
            f"leave out --shrunk to use the stored failure"
        )
    return dict(case)


def shrunk_path(run_dir: Path, input_id: str) -> Path:
    return layout.shrunk_case(run_dir, check_case_id(input_id))


def corpus_inputs(run_dir: Path, ids: Iterable[str]) -> dict[str, Input]:
    """The corpus inputs of ``run_dir`` with the given ids (those it has; none when the run
    directory has no readable corpus.jsonl): replay judges with them as the load did."""
    wanted = set(ids)
    try:
        inputs = corpus_io.read(layout.corpus(run_dir))
    except (OSError, ValueError, TypeError):
        return {}  # judged without the input, as a case from another tool would be
    return {item.id: item for item in inputs if item.id in wanted}


def case_input(case: Mapping[str, Any], inputs: Mapping[str, Input]) -> Input | None:
    """The corpus input a case was made from: stored with it (regression cases keep theirs),
    else the run's corpus, else None."""
    stored = case.get("input")
    if isinstance(stored, dict):
        with contextlib.suppress(TypeError):
            return Input(**stored)
    return inputs.get(str(case.get("input_id")))
