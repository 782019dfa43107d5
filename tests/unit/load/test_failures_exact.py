"""failures.jsonl line by line: every field under its name, the caps at their exact edge, the
file ASCII-only, a worker's lines capped and scrubbed as the master's are."""

from __future__ import annotations

import json
from pathlib import Path

from stress.checks.exchange import Finding
from stress.inputs.corpus import Input
from stress.load.failures import FailureLog, ShippedFailureLog
from stress.load.records import Answer
from stress.record import Record
from stress.secrets import Redactor
from stress.targets import HttpRequest

SECRET = "sk-very-secret-value-0123"


def record(seq: int = 7) -> Record:
    return Record(
        seq=seq, worker=3, input_id="x", family="fam.ily", expect="reject", phase="ramp",
        users=1, sent_at=12.5, latency_ms=1.0004, status=502, request_bytes=0,
        response_bytes=0, ok=False,
    )  # fmt: skip


def add(log: FailureLog, number: int, finding: Finding, answer: Answer | None = None) -> None:
    log.add(
        Input(f"f-{number}", "f", "accept", "json", {}),
        record(),
        HttpRequest("GET", "/", {}, b""),
        answer or Answer(),
        [finding],
    )


def test_a_line_holds_every_field_under_its_name(tmp_path: Path) -> None:
    path = tmp_path / "failures.jsonl"
    log = FailureLog(path, redactor=Redactor([SECRET]))
    findings = [
        Finding("server_header", "nginx", "warning"),
        Finding("leak", f"shows {SECRET}", expected=f"not {SECRET}", got=f"{SECRET}!"),
    ]
    body = "é".encode() * 1500 + b"\xff"  # 3001 bytes: the excerpt is the first 2048
    request = HttpRequest("PUT", "/p", {"Accept": "x"}, "né".encode())
    log.add(
        Input("fam.ily-0001", "fam.ily", "reject", "json", {}),
        record(),
        request,
        Answer(status=502, body=body, error_kind="http_5xx"),
        findings,
    )
    log.close()
    raw = path.read_bytes()
    assert raw.isascii()  # non-ASCII text is \u-escaped: one line per failure, whatever the bytes
    assert json.loads(raw) == {
        "input_id": "fam.ily-0001",
        "family": "fam.ily",
        "expect": "reject",
        "phase": "ramp",
        "seq": 7,
        "worker": 3,
        "sent_at": 12.5,
        "check": "leak",
        "message": "shows <redacted>",
        "findings": [
            {
                "check": "server_header",
                "message": "nginx",
                "severity": "warning",
                "expected": None,
                "got": None,
            },
            {
                "check": "leak",
                "message": "shows <redacted>",
                "severity": "error",
                "expected": "not <redacted>",
                "got": "<redacted>!",
            },
        ],
        "request": {"method": "PUT", "path": "/p", "headers": {"Accept": "x"}, "body": "né"},
        "response": {
            "status": 502,
            "error_kind": "http_5xx",
            "latency_ms": 1.0,
            "body_excerpt": "é" * 1024,
        },
    }


def test_a_cut_character_in_the_excerpt_is_replaced_not_fatal(tmp_path: Path) -> None:
    log = ShippedFailureLog(tmp_path / "f.jsonl")
    body = b"a" * 2047 + "é".encode()  # the excerpt cuts é in half
    add(log, 1, Finding("c", "m"), Answer(status=500, body=body))
    log.close()
    assert log.pending[0]["response"]["body_excerpt"] == "a" * 2047 + "\ufffd"


def test_the_caps_stop_at_exactly_their_number(tmp_path: Path) -> None:
    log = FailureLog(tmp_path / "f.jsonl", max_lines=2)
    for number in range(4):
        add(log, number, Finding(f"c{number}", "m"))
    log.close()
    assert log.lines == 2
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == 2


def test_a_worker_log_has_its_cap_and_scrubs_secrets(tmp_path: Path) -> None:
    log = ShippedFailureLog(tmp_path / "f.jsonl", max_lines=1, redactor=Redactor([SECRET]))
    for number in range(3):
        add(log, number, Finding("c", SECRET))
    log.close()
    assert [line["message"] for line in log.pending] == ["<redacted>"]
