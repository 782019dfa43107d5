"""failures.jsonl as the load writes it: once per (input, checks), capped, secrets out."""

from __future__ import annotations

import json
from pathlib import Path

from stress.checks.exchange import Finding
from stress.inputs.corpus import Input
from stress.load.failures import FailureLog, ShippedFailureLog, body_fields, redact
from stress.load.records import Answer
from stress.record import Record
from stress.secrets import Redactor
from stress.targets import HttpRequest

SECRET = "sk-very-secret-value-0123"


def item(number: int) -> Input:
    return Input(f"f-{number:04d}", "fam.ily", "accept", "json", {})


def record(seq: int = 1) -> Record:
    return Record(
        seq=seq, worker=0, input_id="x", family="fam.ily", expect="accept", phase="p",
        users=1, sent_at=1.0, latency_ms=12.34567, status=500, request_bytes=0,
        response_bytes=0, ok=False,
    )  # fmt: skip


def request(body: bytes = b'{"a": 1}') -> HttpRequest:
    headers = {"Authorization": f"Bearer {SECRET}", "X-Note": f"key={SECRET}"}
    return HttpRequest("POST", f"/v1?key={SECRET}", headers, body)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_line_per_input_and_checks_with_secrets_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "failures.jsonl"
    log = FailureLog(path, redactor=Redactor([SECRET]))
    warn = Finding("server_header", f"says {SECRET}", severity="warning")
    error = Finding("status_5xx", "HTTP 500", expected="2xx", got="500")
    answer = Answer(status=500, body=f"boom {SECRET}".encode())
    log.add(item(1), record(), request(), answer, [warn, error])
    log.add(item(1), record(2), request(), answer, [warn, error])  # the same pair again
    log.add(item(1), record(3), request(), answer, [warn])  # other checks: a new line
    log.close()
    stored = lines(path)
    assert len(stored) == 2
    assert log.lines == 2
    first = stored[0]
    assert first["check"] == "status_5xx"  # the first error, not the first finding
    assert SECRET not in json.dumps(stored)
    sent = first["request"]
    assert isinstance(sent, dict)
    assert sent["headers"] == {"Authorization": "<redacted>", "X-Note": "key=<redacted>"}
    assert sent["path"] == "/v1?key=<redacted>"
    assert sent["body"] == '{"a": 1}'
    assert first["response"] == {
        "status": 500,
        "error_kind": None,
        "latency_ms": 12.346,
        "body_excerpt": "boom <redacted>",
    }


def test_each_check_gets_at_most_its_share_of_lines(tmp_path: Path) -> None:
    path = tmp_path / "failures.jsonl"
    log = FailureLog(path, max_lines=100, max_per_check=3)
    noisy = Finding("server_header", "version", severity="warning")
    for number in range(10):
        log.add(item(number), record(), request(), Answer(), [noisy])
    log.add(item(99), record(), request(), Answer(), [Finding("status_5xx", "500")])
    log.close()
    assert [line["check"] for line in lines(path)] == ["server_header"] * 3 + ["status_5xx"]


def test_bodies_that_are_not_utf8_are_kept_as_base64() -> None:
    assert body_fields(b"caf\xc3\xa9") == {"body": "café"}
    assert body_fields(b"\xff\xfe") == {"body_b64": "//4="}


def test_secret_header_names_are_redacted_whatever_their_case() -> None:
    assert redact({"X-API-KEY": "k", "Accept": "a"}) == {"X-API-KEY": "<redacted>", "Accept": "a"}


def test_a_worker_keeps_its_lines_for_the_master(tmp_path: Path) -> None:
    path = tmp_path / "failures.jsonl"
    log = ShippedFailureLog(path)
    log.add(item(1), record(), request(), Answer(), [Finding("status_5xx", "500")])
    log.close()
    assert path.read_text() == ""
    assert [line["input_id"] for line in log.pending] == ["f-0001"]
