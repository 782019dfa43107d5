"""The error kinds: documented where users read them, each failed by a default check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stress import errorkinds
from stress.checks.request import CHECKS, DEFAULT_SEVERITY, CheckSuite, Exchange
from stress.targets.base import Outcome

ROOT = Path(__file__).parent.parent.parent


def test_every_kind_is_documented_and_nothing_else() -> None:
    faults = (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([a-z_0-9]+)` \|", faults, flags=re.MULTILINE))
    assert table == set(errorkinds.ERROR_KINDS)
    row = next(
        line
        for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `error_kind` |")
    )
    assert set(errorkinds.ERROR_KINDS) <= set(re.findall(r"`([a-z_0-9]+)`", row))


@pytest.mark.parametrize(
    ("status", "problem", "anomaly", "kind"),
    [
        (503, False, False, "http_5xx"),
        (404, True, False, "http_4xx"),
        (200, True, False, "invalid_response"),
        (200, False, True, "invalid_stream"),
        (200, False, False, None),
        (302, False, False, None),
    ],
)
def test_of_answer(status: int, problem: bool, anomaly: bool, kind: str | None) -> None:
    assert errorkinds.of_answer(status, problem=problem, anomaly=anomaly) == kind


STATUS = {"http_5xx": 500, "http_4xx": 404}
ANSWERED = {"invalid_response", "invalid_stream", "stream_stall", "hang", "body_too_large"}


@pytest.mark.parametrize("kind", sorted(errorkinds.ERROR_KINDS))
def test_a_default_check_fails_every_kind(kind: str) -> None:
    status = STATUS.get(kind, 200 if kind in ANSWERED else 0)
    outcome = Outcome(
        problem="not JSON" if kind == "invalid_response" else None,
        anomaly="no [DONE]" if kind in ("invalid_stream", "stream_stall") else None,
    )
    exchange = Exchange("accept", status, kind, outcome, 500.0, body=b"x" * 10)
    findings = CheckSuite(list(CHECKS.values())).run(exchange)
    failed = {f.check for f in findings if f.severity == "error"}
    assert failed, kind
    assert all(DEFAULT_SEVERITY[check] == "error" for check in failed)
