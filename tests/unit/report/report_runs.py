"""Hand-built run directories whose every number and verdict is known in advance.

Phases (scenario: baseline 1 user 5 s, load 4 users 10 s; SLO error_rate 5%, p95_ms 100):

- baseline: 20 requests, seq 0-19, latencies 5, 10, ..., 100 ms, all ok.
  p95 = 95 + 0.05 * 5 = 95.25 ms (passes 100); error rate 0.
- load: 40 requests, seq 20-59, latencies 10, 20, ..., 400 ms; even i are
  realistic.chat_prompt (accept, 200), odd i malformed.wrong_type (reject, 400).
  p95 = 380 + 0.05 * 10 = 380.5 ms (fails 100). Two failed requests = exactly 5% (passes):
    seq 20: HTTP 503, not_a_server_error (error)
    seq 21: reject input answered 200, status_expectation (warning; request ok)
    seq 23: reject input answered 200 with a bad shape: response_shape (error) and
            status_expectation (warning, known only from failures.jsonl)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stress.record import Record, RecordWriter

T0 = 1_700_000_000.0

SCENARIO_YAML = """\
name: report-test
target:
  url: http://127.0.0.1:9
  protocol: openai-chat
inputs:
  seed: 1
  count: 10
  families:
    realistic.chat_prompt: 1
load:
  phases:
    - name: baseline
      users: 1
      duration: 5s
    - name: load
      users: 4
      duration: 10s
slo:
  error_rate: 5%
  p95_ms: 100
# The five checks these hand-built records were written for (not every built-in one).
checks: [not_a_server_error, no_timeout, no_connection_error, response_shape, status_expectation]
"""

XSS = "<script>alert(1)</script>"
# NUL, a right-to-left override and a lone surrogate: what a messy input really carries.
MESSY = f"hi {XSS}\x00 \u202etxt.exe \ud800 end"


def record(seq: int, **overrides: Any) -> Record:
    values: dict[str, Any] = {
        "seq": seq,
        "worker": seq % 2,
        "input_id": f"in-{seq:03d}",
        "family": "realistic.chat_prompt",
        "expect": "accept",
        "phase": "baseline",
        "users": 1,
        "sent_at": T0 + seq * 0.25,
        "latency_ms": 10.0,
        "status": 200,
        "request_bytes": 100,
        "response_bytes": 200,
        "ok": True,
    }
    values.update(overrides)
    return Record(**values)


def standard_records() -> list[Record]:
    rows = [record(i, latency_ms=5.0 * (i + 1)) for i in range(20)]
    for i in range(40):
        seq = 20 + i
        reject = i % 2 == 1
        rows.append(
            record(
                seq,
                phase="load",
                users=4,
                latency_ms=10.0 * (i + 1),
                family="malformed.wrong_type" if reject else "realistic.chat_prompt",
                expect="reject" if reject else "accept",
                status=400 if reject else 200,
                error_kind="http_4xx" if reject else None,
            )
        )
    rows[20].status, rows[20].error_kind, rows[20].ok = 503, "http_5xx", False
    rows[20].failed_checks = ["not_a_server_error"]
    rows[21].status, rows[21].error_kind = 200, None
    rows[21].warned_checks = ["status_expectation"]
    rows[23].status, rows[23].error_kind, rows[23].ok = 200, "invalid_response", False
    rows[23].failed_checks = ["response_shape"]
    rows[23].warned_checks = ["status_expectation"]
    return rows


def failure(row: Record, findings: Sequence[tuple[str, str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "input_id": row.input_id,
        "family": row.family,
        "expect": row.expect,
        "phase": row.phase,
        "seq": row.seq,
        "sent_at": row.sent_at,
        "check": findings[0][0],
        "message": findings[0][1],
        "findings": [{"check": c, "message": m, "severity": s} for c, m, s in findings],
        "request": {
            "method": "POST",
            "path": "/v1/chat/completions",
            "headers": {"content-type": "application/json"},
            "body": extra.get("body", '{"messages": []}'),
        },
        "response": {
            "status": row.status,
            "error_kind": row.error_kind,
            "latency_ms": row.latency_ms,
            "body_excerpt": extra.get("excerpt", "oops"),
        },
    }


def standard_failures(rows: Sequence[Record]) -> list[dict[str, Any]]:
    return [
        failure(
            rows[20],
            [("not_a_server_error", "server error: HTTP 503", "error")],
            body=json.dumps({"messages": [{"role": "user", "content": MESSY}]}),
            excerpt=f"<img src=x onerror=alert(1)> {MESSY}",
        ),
        failure(rows[21], [("status_expectation", "accepted invalid input: HTTP 200", "warning")]),
        failure(
            rows[23],
            [
                ("response_shape", "missing choices[0].message", "error"),
                ("status_expectation", "accepted invalid input: HTTP 200", "warning"),
            ],
        ),
    ]


def write_run(
    run_dir: Path,
    rows: Sequence[Record],
    failures: Sequence[dict[str, Any]] = (),
    *,
    scenario: str = SCENARIO_YAML,
    complete: bool = True,
    max_rows: int = 25,
) -> Path:
    """A run directory as `stress run` leaves it (records in several Parquet parts)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "scenario.yaml").write_text(scenario, encoding="utf-8")
    writer = RecordWriter(run_dir / "records", max_rows=max_rows)
    for row in rows:
        writer.add(row)
    writer.close()
    with (run_dir / "failures.jsonl").open("w", encoding="utf-8") as handle:
        for item in failures:
            # ensure_ascii keeps lone surrogates writable, as the run's own writer must.
            handle.write(json.dumps(item) + "\n")
    info = {
        "started_at": "2023-11-14T22:13:19+00:00",
        "finished_at": "2023-11-14T22:13:35+00:00" if complete else None,
        "complete": complete,
        "target": "http://127.0.0.1:9",
        "stress_version": "0.1.0",
    }
    (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return run_dir
