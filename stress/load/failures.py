"""failures.jsonl: one JSON line per distinct failing (input, checks) pair, secrets scrubbed.

Pure: it writes a file (or, on a worker, keeps the lines for the next batch to the master).
"""

from __future__ import annotations

import base64
import collections
import json
from pathlib import Path
from typing import Any

from stress.checks.request import Finding
from stress.inputs.corpus import Input
from stress.load.records import Answer
from stress.record import Record
from stress.secrets import Redactor
from stress.targets import HttpRequest

# Header names whose values are secrets; they are redacted in every stored failure.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "openai-api-key"}
)
REDACTED = "<redacted>"
# The same input failing the same checks again is counted in the records, stored once.
# One noisy check (a version header on every answer) must not crowd out the others, so each
# check gets at most this many of the stored lines.
MAX_LINES_PER_CHECK = 200
# At most this many lines in all, per load process.
MAX_LINES = 2000


def redact(headers: dict[str, str], redactor: Redactor | None = None) -> dict[str, str]:
    """Secret headers (by name) as <redacted>; any other value with a secret in it scrubbed."""
    scrub = redactor.scrub if redactor else (lambda value: value)
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS else scrub(value))
        for name, value in headers.items()
    }


def body_fields(body: bytes) -> dict[str, str]:
    """A body for failures.jsonl: UTF-8 text when it is valid UTF-8, else base64."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


class FailureLog:
    """Appends one JSON line per distinct failing (input, checks) pair to failures.jsonl.

    Secrets (the values of the scenario's ${ENV_VAR} references) are scrubbed from every
    line; secret headers are stored as <redacted> and restored at replay.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_lines: int = MAX_LINES,
        max_per_check: int = MAX_LINES_PER_CHECK,
        redactor: Redactor | None = None,
    ) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        self._max_lines = max_lines
        self._max_per_check = max_per_check
        self._per_check: collections.Counter[str] = collections.Counter()
        self._redactor = redactor or Redactor()
        self.lines = 0

    def add(
        self,
        item: Input,
        record: Record,
        request: HttpRequest,
        answer: Answer,
        findings: list[Finding],
    ) -> None:
        key = (item.id, tuple(finding.check for finding in findings))
        if key in self._seen or self.lines >= self._max_lines:
            return
        if all(self._per_check[f.check] >= self._max_per_check for f in findings):
            return
        self._seen.add(key)
        self._per_check.update({f.check for f in findings})
        first = next((f for f in findings if f.severity == "error"), findings[0])
        scrub = self._redactor.scrub
        line = {
            "input_id": item.id,
            "family": item.family,
            "expect": item.expect,
            "phase": record.phase,
            "seq": record.seq,
            "worker": record.worker,
            "sent_at": record.sent_at,
            "check": first.check,
            "message": scrub(first.message),
            "findings": [
                {
                    "check": f.check,
                    "message": scrub(f.message),
                    "severity": f.severity,
                    "expected": None if f.expected is None else scrub(f.expected),
                    "got": None if f.got is None else scrub(f.got),
                }
                for f in findings
            ],
            "request": {
                "method": request.method,
                "path": scrub(request.path),
                "headers": redact(request.headers, self._redactor),
                **body_fields(request.body),
            },
            "response": {
                "status": answer.status,
                "error_kind": answer.error_kind,
                "latency_ms": round(record.latency_ms, 3),
                "body_excerpt": scrub(answer.body[:2048].decode("utf-8", "replace")),
            },
        }
        self._write(line)
        self.lines += 1

    def _write(self, line: dict[str, Any]) -> None:
        self._handle.write(json.dumps(line, ensure_ascii=True) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class ShippedFailureLog(FailureLog):
    """A worker's failures: kept for the next batch to the master instead of written."""

    def __init__(
        self, path: Path, *, max_lines: int = MAX_LINES, redactor: Redactor | None = None
    ) -> None:
        super().__init__(path, max_lines=max_lines, redactor=redactor)
        self.pending: list[dict[str, Any]] = []

    def _write(self, line: dict[str, Any]) -> None:
        self.pending.append(line)
