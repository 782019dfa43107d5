"""What an export says, whatever its format (curl, python, pytest): the Reproducer and its
parts, shared by stress.repro.export (curl, the dispatch) and stress.repro.script (python,
pytest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Source width of the body in exports: short enough to read, long enough to stay compact.
LINE_CHARS = 88


class Format(StrEnum):
    CURL = "curl"
    PYTHON = "python"
    PYTEST = "pytest"


@dataclass(frozen=True)
class Header:
    """One header of an export: literal text and environment variables, in order."""

    name: str
    parts: tuple[tuple[str, bool], ...]  # (text, is_env_variable)


@dataclass(frozen=True)
class Judgement:
    """What an exported script judges an answer by: the scenario's built-in per-request
    checks, its severity overrides, its answer settings, the case's stored findings and the
    corpus input (when the run directory has it)."""

    checks: tuple[str, ...]
    severity: dict[str, str]
    failed: tuple[tuple[str, str], ...]
    settings: dict[str, Any]
    secrets: tuple[str, ...]
    secret_headers: tuple[str, ...]
    max_bytes: int
    item: dict[str, Any] | None = None
    unjudged: tuple[str, ...] = ()
    # An http-json target's response map (where the answer's parts are), else None.
    response: dict[str, Any] | None = None
    # A connection_dropped_after_answer case: a second request follows on the kept connection.
    follow: bool = False
    # A finding judged after the load: what replay re-judges it by (failures.jsonl post_load).
    post_load: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reproducer:
    """Everything an export says, independent of its format."""

    case_id: str
    family: str
    expect: str
    check: str
    message: str
    checks: tuple[str, ...]
    protocol: str
    url: str
    method: str
    path: str
    headers: tuple[Header, ...]
    body: bytes
    timeout: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    # ``path`` as (text, is_env_variable) pieces: redacted query parameters read their
    # value from the environment (URL-encoded when put in).
    path_parts: tuple[tuple[str, bool], ...] = ()
    # How a python/pytest export judges the answer (the scenario's checks and settings).
    judgement: Judgement | None = None

    def path_pieces(self) -> tuple[tuple[str, bool], ...]:
        return self.path_parts or ((self.path, False),)


def wrap(pieces: list[str], width: int) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        if current and size + len(piece) > width:
            lines.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current or not lines:
        lines.append("".join(current))
    return lines


# What a healthy endpoint does, as the sentence says it (the expectation's name otherwise).
_VERBS = {"accept_or_refuse": "answer or cleanly refuse"}


def about(repro: Reproducer) -> list[str]:
    return [
        f"Reproduces {repro.case_id} ({repro.family}):",
        f"a healthy endpoint should {_VERBS.get(repro.expect, repro.expect)} this input, but it "
        f"failed",
        f"{repro.check}: {one_line(repro.message)}",
        *repro.notes,
    ]


def one_line(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)
