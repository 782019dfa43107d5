"""The one judgement: which answers are parsed, how (events or body), the error kind, and
that the checks see the exchange (request included) and the verdict carries the outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stress.checks.exchange import Exchange, Finding
from stress.checks.judge import Verdict, judge
from stress.checks.request import CheckSuite
from stress.targets.base import HttpRequest, Outcome
from stress.targets.sse import Event


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str] | None
    body: bytes = b"{}"
    error_kind: str | None = None
    anomaly: str | None = None


@dataclass
class Adapter:
    """Answers parse() and parse_events() with outcomes that say which was called."""

    problem: str | None = None
    calls: list[object] = field(default_factory=list)

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        self.calls.append(("parse", status, dict(headers), body))
        return Outcome(text="from body", problem=self.problem)

    def parse_events(self, events: Sequence[Event]) -> Outcome:
        self.calls.append(("events", list(events)))
        return Outcome(text="from events")


class Spy:
    def __init__(self) -> None:
        self.seen: list[Exchange] = []

    def __call__(self, exchange: Exchange) -> Finding | None:
        self.seen.append(exchange)
        return None


def run(answer: Answer, adapter: Adapter, **extra: object) -> tuple[Verdict, Exchange]:
    spy = Spy()
    verdict = judge(
        adapter,  # type: ignore[arg-type]
        CheckSuite([spy]),
        answer,
        expect="accept",
        latency_ms=5.0,
        **extra,  # type: ignore[arg-type]
    )
    (exchange,) = spy.seen
    return verdict, exchange


def test_an_answer_is_parsed_from_its_body_and_the_checks_see_the_request() -> None:
    adapter = Adapter()
    request = HttpRequest("POST", "/v1", {"a": "b"}, b"sent")
    verdict, exchange = run(Answer(200, {"x": "y"}, b"got"), adapter, request=request)
    assert adapter.calls == [("parse", 200, {"x": "y"}, b"got")]
    assert verdict.outcome == Outcome(text="from body")
    assert exchange.outcome is verdict.outcome
    assert exchange.request is request
    assert (verdict.error_kind, exchange.headers, exchange.body) == (None, {"x": "y"}, b"got")


def test_events_are_parsed_instead_of_the_body_when_the_reader_decoded_them() -> None:
    adapter = Adapter()
    events = [Event("a", 1.0), Event("b", 2.0)]
    verdict, _ = run(Answer(200, {}, b"raw"), adapter, events=events)
    assert adapter.calls == [("events", events)]
    assert verdict.outcome.text == "from events"


def test_a_transport_error_is_not_parsed_even_with_headers() -> None:
    adapter = Adapter()
    verdict, exchange = run(Answer(0, {}, b"", error_kind="connection_reset"), adapter)
    assert adapter.calls == []
    assert (verdict.outcome, verdict.error_kind) == (Outcome(), "connection_reset")
    assert exchange.headers == {}
    # A timeout after the status line is a hang, and it is not parsed either.
    verdict, _ = run(Answer(200, {"x": "y"}, b"par", error_kind="timeout"), adapter)
    assert (adapter.calls, verdict.error_kind) == ([], "hang")
    verdict, _ = run(Answer(0, None, b"", error_kind="timeout"), adapter)
    assert verdict.error_kind == "timeout"


def test_a_stalled_stream_is_parsed_and_keeps_its_kind_and_anomaly() -> None:
    adapter = Adapter()
    answer = Answer(200, {}, b"part", error_kind="stream_stall", anomaly="stalled 2 s")
    verdict, _ = run(answer, adapter)
    assert len(adapter.calls) == 1
    assert (verdict.error_kind, verdict.outcome.anomaly) == ("stream_stall", "stalled 2 s")
    # No headers at all: nothing to parse.
    verdict, _ = run(Answer(0, None, b""), Adapter(problem="x"))
    assert (verdict.outcome, verdict.error_kind) == (Outcome(), None)


def test_the_error_kind_of_a_parsed_answer() -> None:
    assert run(Answer(503, {}), Adapter())[0].error_kind == "http_5xx"
    assert run(Answer(200, {}), Adapter(problem="no choices"))[0].error_kind == ("invalid_response")
    assert run(Answer(200, {}, anomaly="no [DONE]"), Adapter())[0].error_kind == "invalid_stream"


def test_a_verdict_sorts_its_findings_by_severity() -> None:
    findings = (
        Finding("a", "m"),
        Finding("b", "m", "warning"),
        Finding("c", "m", "info"),
        Finding("d", "m"),
    )
    verdict = Verdict(Outcome(), None, findings)
    assert (verdict.failed_checks, verdict.warned_checks, verdict.info_checks) == (
        ["a", "d"],
        ["b"],
        ["c"],
    )
    assert verdict.errors == (findings[0], findings[3])
    assert not verdict.ok
    assert Verdict(Outcome(), None, findings[1:3]).ok
    assert verdict.pairs() == {("a", "error"), ("b", "warning"), ("c", "info"), ("d", "error")}
