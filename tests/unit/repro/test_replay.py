"""Replay's verdict per stored case: still failing or fixed, and the row that says so.

No network: a case is sent through a sender that answers with a given Observation, so the
verdict logic (errors vs warnings, the before/now wording, the row's fields) is what is tested.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stress.checks.exchange import Finding
from stress.errors import RunDirError, UsageError
from stress.inputs.corpus import Input
from stress.repro import replay as replay_module
from stress.repro.cases import StoredRequest, shrunk_path
from stress.repro.replay import read_failures, replay, replay_case, replay_row
from stress.repro.sender import Observation
from stress.scenario import Scenario

SCENARIO = Scenario.model_validate(
    {
        "name": "t",
        "target": {"url": "http://127.0.0.1:1", "protocol": "openai-chat"},
        "inputs": {"families": {"realistic.chat_prompt": 1}},
        "load": {"phases": [{"name": "p", "users": 1, "duration": "1s"}]},
    }
)
REQUEST = StoredRequest("POST", "/v1/chat", {"content-type": "application/json"}, b"abcde")


def case(findings: list[Any] | None, **extra: Any) -> dict[str, Any]:
    return {"input_id": "a-1", "check": "not_a_server_error", "findings": findings, **extra}


def seen(*findings: Finding, status: int = 200) -> Observation:
    return Observation(status, None, tuple(findings), 1.0)


def test_an_error_case_still_fails_only_when_one_of_its_errors_is_an_error_again() -> None:
    stored = [
        {"check": "not_a_server_error", "severity": "error", "message": "HTTP 500"},
        {"check": "slow", "severity": "warning", "message": "slow"},
    ]
    # The same check again, now as a warning: fixed.
    row = replay_row(case(stored), REQUEST, seen(Finding("not_a_server_error", "m", "warning")))
    assert row["still_fails"] is False
    # The warning check as an error: not one of the case's errors, fixed.
    assert not replay_row(case(stored), REQUEST, seen(Finding("slow", "m")))["still_fails"]
    # Another error: fixed as far as this case goes.
    assert not replay_row(case(stored), REQUEST, seen(Finding("other", "m")))["still_fails"]
    assert replay_row(
        case(stored), REQUEST, seen(Finding("other", "m"), Finding("not_a_server_error", "m"))
    )["still_fails"]


def test_a_warning_case_still_fails_when_any_of_its_checks_fires_at_any_severity() -> None:
    stored = [{"check": "slow", "severity": "warning", "message": "slow"}]
    assert replay_row(case(stored), REQUEST, seen(Finding("slow", "m", "info")))["still_fails"]
    assert replay_row(case(stored), REQUEST, seen(Finding("slow", "m")))["still_fails"]
    assert not replay_row(case(stored), REQUEST, seen(Finding("fast", "m")))["still_fails"]
    # No stored findings: the case's own check is the one that must be silent.
    assert replay_row(case(None), REQUEST, seen(Finding("not_a_server_error", "m", "info")))[
        "still_fails"
    ]
    assert not replay_row(case([]), REQUEST, seen(Finding("slow", "m")))["still_fails"]


def test_the_row_names_before_and_now_with_severities_and_sizes() -> None:
    stored = [
        {"check": "not_a_server_error", "severity": "error", "message": "HTTP 500"},
        {"check": "slow", "severity": "warning", "message": "took 3 s"},
        "not a finding",
    ]
    now = seen(
        Finding("not_a_server_error", "HTTP 502"), Finding("big", "10 MB", "info"), status=502
    )
    row = replay_row(case(stored, message="ignored"), REQUEST, now)
    assert row == {
        "input_id": "a-1",
        "check": "not_a_server_error",
        "before": "not_a_server_error: HTTP 500; slow (warning): took 3 s",
        "now": "not_a_server_error: HTTP 502; big (info): 10 MB",
        "still_fails": True,
        "status": 502,
        "latency_ms": 1.0,
        "body_bytes": 5,
        "findings_before": [("not_a_server_error", "error"), ("slow", "warning")],
        "findings_now": [("big", "info"), ("not_a_server_error", "error")],
    }


def test_a_case_without_findings_shows_its_message_and_a_pass_shows_the_status() -> None:
    row = replay_row(case([], message="HTTP 500 on it"), REQUEST, seen(status=204))
    assert (row["before"], row["now"], row["still_fails"]) == (
        "HTTP 500 on it",
        "passes (HTTP 204)",
        False,
    )
    assert replay_row(case([]), REQUEST, seen())["before"] == ""


class AnsweringSender:
    """Answers every request with one Observation and remembers what it was asked."""

    def __init__(self, observation: Observation, inputs: dict[str, Input]) -> None:
        self.observation = observation
        self.inputs = inputs
        self.sent: list[tuple[StoredRequest, str, Input | None]] = []

    def send(self, request: StoredRequest, expect: str, *, item: Input | None) -> Observation:
        self.sent.append((request, expect, item))
        return self.observation


def test_replay_case_sends_the_stored_bytes_with_the_expectation_and_the_corpus_input() -> None:
    item = Input("a-1", "realistic.chat_prompt", "reject", "bad", {"x": 1})
    sender = AnsweringSender(seen(Finding("not_a_server_error", "HTTP 500")), {"a-1": item})
    stored = case(
        [{"check": "not_a_server_error", "severity": "error", "message": "HTTP 500"}],
        expect="reject",
        request={"method": "PUT", "path": "/p?q=1", "headers": {"a": "b"}, "body": "é"},
    )
    row = replay_case(sender, stored, SCENARIO)  # type: ignore[arg-type]
    assert sender.sent == [
        (StoredRequest("PUT", "/p?q=1", {"a": "b"}, "é".encode()), "reject", item)
    ]
    assert (row["still_fails"], row["body_bytes"]) == (True, 2)


def test_read_failures_and_a_run_without_cases(tmp_path: Path) -> None:
    with pytest.raises(RunDirError):
        read_failures(tmp_path / "missing")
    run_dir = tmp_path / "run"
    (run_dir / "records").mkdir(parents=True)
    (run_dir / "scenario.yaml").write_text(SCENARIO.to_yaml())
    assert read_failures(run_dir) == []
    assert replay(run_dir) == []
    line = {"input_id": "a-1", "check": "c", "request": {}}
    (run_dir / "failures.jsonl").write_text(json.dumps(line) + "\n")
    assert read_failures(run_dir) == [line]


def run_dir_with(tmp_path: Path, cases: list[dict[str, Any]]) -> Path:
    run_dir = tmp_path / "run"
    (run_dir / "records").mkdir(parents=True)
    (run_dir / "scenario.yaml").write_text(SCENARIO.to_yaml())
    (run_dir / "failures.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    corpus = Input("a-2", "realistic.chat_prompt", "accept", "prompt", {"q": 2})
    (run_dir / "corpus.jsonl").write_text(json.dumps(corpus.__dict__) + "\n")
    return run_dir


def stored(input_id: str, body: str) -> dict[str, Any]:
    request = {"method": "POST", "path": "/v1", "headers": {}, "body": body}
    finding = {"check": "not_a_server_error", "severity": "error", "message": "HTTP 500"}
    return {**case([finding], request=request, expect="accept"), "input_id": input_id}


def with_secret_header(run_dir: Path) -> None:
    """The run's target sends ``Authorization: Bearer ${API_KEY}``; its one case stored it
    redacted."""
    secret = SCENARIO.model_copy(
        update={
            "target": SCENARIO.target.model_copy(
                update={"headers": {"Authorization": "Bearer ${API_KEY}"}}
            )
        }
    )
    (run_dir / "scenario.yaml").write_text(secret.to_yaml())
    line = stored("a-1", "one")
    line["request"]["headers"] = {"Authorization": "<redacted>"}
    (run_dir / "failures.jsonl").write_text(json.dumps(line) + "\n")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """open_sender replaced: records its arguments, answers every request with a 500."""
    calls: list[tuple[Any, ...]] = []

    @contextlib.contextmanager
    def open_sender(
        run_dir: Path, scenario: Scenario, target: str | None, *, inputs: dict[str, Input]
    ) -> Iterator[AnsweringSender]:
        sender = AnsweringSender(seen(Finding("not_a_server_error", "HTTP 500")), inputs)
        calls.append((run_dir, scenario.name, target, inputs, sender))
        yield sender

    monkeypatch.setattr(replay_module, "open_sender", open_sender)
    return calls


def test_replay_sends_every_stored_case_to_the_chosen_target(
    tmp_path: Path, opened: list[tuple[Any, ...]]
) -> None:
    run_dir = run_dir_with(tmp_path, [stored("a-1", "one"), stored("a-2", "two")])
    rows = replay(run_dir, target="http://127.0.0.1:9")
    assert [(r["input_id"], r["still_fails"], r["body_bytes"]) for r in rows] == [
        ("a-1", True, 3),
        ("a-2", True, 3),
    ]
    ((where, name, target, inputs, sender),) = opened
    assert (where, name, target) == (run_dir, "t", "http://127.0.0.1:9")
    assert list(inputs) == ["a-2"]  # the corpus input of the cases, as the load judged
    assert [(r.body, item) for r, _, item in sender.sent] == [
        (b"one", None),
        (b"two", inputs["a-2"]),
    ]


def test_replay_of_one_id_and_of_its_shrunk_case(
    tmp_path: Path, opened: list[tuple[Any, ...]]
) -> None:
    run_dir = run_dir_with(tmp_path, [stored("a-1", "one"), stored("a-2", "two")])
    assert [r["input_id"] for r in replay(run_dir, input_id="a-2")] == ["a-2"]
    assert opened[-1][2] is None
    shrunk = {**stored("a-2", "2"), "shrink": {"status": "shrunk"}}
    path = shrunk_path(run_dir, "a-2")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(shrunk))
    assert [r["body_bytes"] for r in replay(run_dir, input_id="a-2", shrunk=True)] == [1]
    # --shrunk without an id replays the stored failures.
    assert [r["body_bytes"] for r in replay(run_dir, shrunk=True)] == [3, 3]


def test_a_missing_secret_stops_replay_before_any_sender_starts(
    tmp_path: Path, opened: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_KEY", raising=False)
    run_dir = run_dir_with(tmp_path, [])
    with_secret_header(run_dir)
    with pytest.raises(UsageError, match="API_KEY"):
        replay(run_dir)
    assert opened == []


def test_replay_restores_secret_headers_from_the_scenario(
    tmp_path: Path, opened: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "k-123")
    run_dir = run_dir_with(tmp_path, [])
    with_secret_header(run_dir)
    assert [r["still_fails"] for r in replay(run_dir)] == [True]
    ((*_, sender),) = opened
    assert [r.headers for r, _, _ in sender.sent] == [{"Authorization": "Bearer k-123"}]
