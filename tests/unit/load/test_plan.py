"""The plan (what to send next, the degradation re-sends) and record building, without
Locust or sockets: answers are made by hand and handed to ``finish``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from stress import errorkinds
from stress.checks.exchange import Finding
from stress.inputs.corpus import Input
from stress.load.plan import Plan
from stress.load.records import Answer, Sent, record_of
from stress.load.traffic import Ticket
from stress.record import Record
from stress.scenario import Scenario, from_dict
from stress.secrets import Redactor
from stress.targets import HttpRequest, adapter_for
from stress.targets.base import Outcome

CHAT_OK = json.dumps(
    {
        "choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
).encode()


def scenario(**extra: Any) -> Scenario:
    return from_dict(
        {
            "name": "t",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "timeout": "2s"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {
                "phases": [
                    {"name": "base", "users": 1, "duration": "1s"},
                    {"name": "busy", "users": 4, "duration": "1s"},
                ]
            },
            "slo": {"error_rate": "1%"},
            **extra,
        }
    )


def prompt(number: int) -> Input:
    messages = [{"role": "user", "content": f"question {number}"}]
    return Input(f"realistic.chat_prompt-{number:04d}", "realistic.chat_prompt", "accept",
                 "prompt", {"messages": messages})  # fmt: skip


class Writer:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, record: Record) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


def plan_of(tmp_path: Path, spec: Scenario, count: int = 3) -> tuple[Plan, Writer]:
    adapter = adapter_for(spec.target)
    plan = Plan(spec, [prompt(n) for n in range(count)], adapter, tmp_path)
    writer = Writer()
    plan.writer.close()
    plan.writer = writer
    return plan, writer


def ids(plan: Plan, count: int) -> list[str]:
    out = []
    for _ in range(count):
        step = plan.next()
        assert step is not None
        out.append(step[1].id[-4:])
    return out


def test_the_corpus_goes_out_in_order_round_and_round_until_max_requests(
    tmp_path: Path,
) -> None:
    plan, _ = plan_of(tmp_path, scenario())
    plan.max_requests = 5
    assert ids(plan, 5) == ["0000", "0001", "0002", "0000", "0001"]
    assert plan.exhausted
    assert plan.next() is None
    plan.failures.close()


def test_each_phase_after_the_baseline_first_resends_what_the_baseline_sent(
    tmp_path: Path,
) -> None:
    plan, _ = plan_of(tmp_path, scenario(), count=5)
    assert ids(plan, 2) == ["0000", "0001"]
    plan.phase = "busy"
    # The baseline's two, in order, then the corpus from where it was.
    assert ids(plan, 4) == ["0000", "0001", "0002", "0003"]
    plan.failures.close()


def test_no_resends_when_the_degradation_check_is_off(tmp_path: Path) -> None:
    plan, _ = plan_of(tmp_path, scenario(degradation={"enabled": False}), count=5)
    assert ids(plan, 2) == ["0000", "0001"]
    plan.phase = "busy"
    assert ids(plan, 2) == ["0002", "0003"]
    plan.failures.close()


def finish(plan: Plan, answer: Answer, *, ticket: Ticket | None = None) -> None:
    step = plan.next()
    assert step is not None
    seq, item, request = step
    plan.finish(seq, item, request, 1000.0, 0.0, answer, 1, plan.phase, ticket=ticket)


def test_a_good_answer_is_a_good_record_and_no_failure(tmp_path: Path) -> None:
    plan, writer = plan_of(tmp_path, scenario())
    headers = {"content-type": "application/json"}
    finish(plan, Answer(status=200, headers=headers, body=CHAT_OK))
    plan.failures.close()
    (record,) = writer.records
    assert (record.ok, record.status, record.error_kind) == (True, 200, None)
    assert (record.output_tokens, record.finish_reason, record.prompt_tokens) == (1, "stop", 3)
    assert record.response_bytes == len(CHAT_OK)
    assert plan.errors == 0
    assert (tmp_path / "failures.jsonl").read_text() == ""


def test_a_500_is_judged_recorded_as_failed_and_stored_once(tmp_path: Path) -> None:
    plan, writer = plan_of(tmp_path, scenario(), count=1)
    for _ in range(2):
        finish(plan, Answer(status=500, headers={"content-type": "text/plain"}, body=b"boom"))
    plan.failures.close()
    assert [r.error_kind for r in writer.records] == [errorkinds.HTTP_5XX] * 2
    assert not writer.records[0].ok
    assert writer.records[0].failed_checks
    assert plan.errors == 2
    stored = (tmp_path / "failures.jsonl").read_text().splitlines()
    assert len(stored) == 1
    assert json.loads(stored[0])["response"]["error_kind"] == errorkinds.HTTP_5XX


def test_a_timeout_after_the_headers_is_a_hang(tmp_path: Path) -> None:
    plan, writer = plan_of(tmp_path, scenario())
    finish(plan, Answer(status=200, headers={}, error_kind=errorkinds.TIMEOUT))
    plan.failures.close()
    assert writer.records[0].error_kind == errorkinds.HANG


def sent(ticket: Ticket | None = None) -> Sent:
    request = HttpRequest("POST", "/", {}, b"12345")
    return Sent(7, prompt(1), request, "busy", 4, 1000.0, 10.0, 10.25, ticket)


def test_an_open_loop_record_counts_latency_from_when_the_request_was_due() -> None:
    ticket = Ticket("busy", 2, 4, intended=9.75, intended_at=999.5, late=True, offered_rate=8.0)
    record = record_of(sent(ticket), Answer(status=200), Outcome(), None, [], worker=2,
                       keep_text=False, redactor=Redactor())  # fmt: skip
    assert record.latency_ms == pytest.approx(500.0)  # from 9.75 to 10.25
    assert record.service_ms == pytest.approx(250.0)
    assert (record.intended_at, record.late, record.step, record.offered_rate) == (
        999.5,
        True,
        2,
        8.0,
    )
    assert (record.seq, record.worker, record.users, record.request_bytes) == (7, 2, 4, 5)
    closed = record_of(sent(), Answer(), Outcome(), None, [], worker=0, keep_text=False,
                       redactor=Redactor())  # fmt: skip
    assert closed.latency_ms == pytest.approx(250.0)
    assert closed.intended_at == 1000.0


def test_findings_split_by_severity_and_compared_text_is_kept_scrubbed() -> None:
    findings = [
        Finding("a", "x"),
        Finding("b", "y", severity="warning"),
        Finding("c", "z", severity="info"),
    ]
    outcome = Outcome(text="the secret-value-123456 answer")
    redactor = Redactor(["secret-value-123456"])
    record = record_of(sent(), Answer(status=200), outcome, None, findings, worker=0,
                       keep_text=True, redactor=redactor)  # fmt: skip
    assert (record.ok, record.failed_checks, record.warned_checks, record.info_checks) == (
        False,
        ["a"],
        ["b"],
        ["c"],
    )
    assert record.output_text == "the <redacted> answer"
    assert record.output_chars == len(outcome.text or "")
    dropped = record_of(sent(), Answer(status=200), outcome, None, findings[1:], worker=0,
                        keep_text=False, redactor=redactor)  # fmt: skip
    assert dropped.ok
    assert dropped.output_text is None


def test_the_latency_ends_when_the_caller_read_the_answer_not_when_it_is_judged(
    tmp_path: Path,
) -> None:
    # The load user reads the answer, notes the time, lets the answers already waiting be
    # read, then hands it over: the record's latency ends at the time it noted.
    plan, writer = plan_of(tmp_path, scenario())
    step = plan.next()
    assert step is not None
    seq, item, request = step
    answer = Answer(status=200, headers={"content-type": "application/json"}, body=CHAT_OK)
    plan.finish(seq, item, request, 1000.0, 5.0, answer, 1, plan.phase, done=5.0375)
    plan.failures.close()
    (record,) = writer.records
    assert record.latency_ms == pytest.approx(37.5)
    assert record.service_ms == pytest.approx(37.5)


def streaming(**extra: Any) -> Scenario:
    spec = scenario(**extra)
    return spec.model_copy(update={"target": spec.target.model_copy(update={"stream": True})})


def test_a_streaming_target_sends_the_first_resends_twice_in_a_row(tmp_path: Path) -> None:
    plan, _ = plan_of(tmp_path, streaming(), count=5)
    assert ids(plan, 3) == ["0000", "0001", "0002"]
    plan.phase = "busy"
    # Two users take each baseline input back to back: concurrency_interference pairs them.
    assert ids(plan, 7) == ["0000", "0000", "0001", "0001", "0002", "0002", "0003"]
    plan.failures.close()


def test_pairs_are_bounded_and_skip_inputs_meant_to_be_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stress.load.plan.PAIRED_RESENDS", 2)
    plan, _ = plan_of(tmp_path, streaming(), count=5)
    item, request = plan.items[0]
    plan.items[0] = (dataclasses.replace(item, expect="reject"), request)
    assert ids(plan, 4) == ["0000", "0001", "0002", "0003"]
    plan.phase = "busy"
    assert ids(plan, 7) == ["0000", "0001", "0001", "0002", "0002", "0003", "0004"]
    plan.failures.close()


def test_no_pairs_without_the_interference_check(tmp_path: Path) -> None:
    plan, _ = plan_of(tmp_path, streaming(checks=["default"]), count=3)
    assert ids(plan, 2) == ["0000", "0001"]
    plan.phase = "busy"
    assert ids(plan, 3) == ["0000", "0000", "0001"]
    plan.failures.close()
    plan, _ = plan_of(tmp_path, streaming(checks=["degradation"]), count=3)
    assert ids(plan, 2) == ["0000", "0001"]
    plan.phase = "busy"
    assert ids(plan, 3) == ["0000", "0001", "0002"]
    plan.failures.close()
