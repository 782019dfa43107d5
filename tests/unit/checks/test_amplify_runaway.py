"""amplification, input_echo and runaway_generation at their boundaries: each fires just past
its limit and stays quiet just inside it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from stress.checks import amplify, runaway
from stress.checks.exchange import Exchange, Settings
from stress.checks.request import CHECKS, DEFAULT_SEVERITY
from stress.targets.base import HttpRequest, Outcome

SETTINGS = Settings(protocol="openai-chat", max_tokens=16)


def request(body: bytes) -> HttpRequest:
    return HttpRequest("POST", "/v1/chat/completions", {}, body)


def exchange(
    *,
    sent: bytes,
    answer: bytes,
    status: int = 200,
    outcome: Outcome | None = None,
    latency_ms: float = 10.0,
    settings: Settings = SETTINGS,
) -> Exchange:
    return Exchange(
        "accept",
        status,
        None if 200 <= status < 300 else "http_4xx",
        outcome if outcome is not None else (Outcome(text="hi") if status == 200 else Outcome()),
        latency_ms,
        body=answer,
        settings=settings,
        request=request(sent),
    )


def chat(max_tokens: Any = 16, **more: Any) -> bytes:
    return json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": max_tokens}
        | more
    ).encode()


# --- amplification -------------------------------------------------------------------------


def test_registered_with_their_severities() -> None:
    assert CHECKS["amplification"] is amplify.amplification
    assert CHECKS["input_echo"] is amplify.input_echo
    assert CHECKS["runaway_generation"] is runaway.runaway_generation
    assert DEFAULT_SEVERITY["amplification"] == "error"
    assert DEFAULT_SEVERITY["input_echo"] == "warning"
    assert DEFAULT_SEVERITY["runaway_generation"] == "error"


def test_an_answer_over_the_floor_and_the_ratio_is_amplification() -> None:
    sent = b"x" * 10_000  # ratio 10: 100,000 bytes allowed; floor 65,536
    assert amplify.amplification(exchange(sent=sent, answer=b"y" * 100_000)) is None
    finding = amplify.amplification(exchange(sent=sent, answer=b"y" * 100_001))
    assert finding is not None
    assert finding.severity == "error"
    assert "100001 bytes" in finding.message


def test_a_tiny_request_with_a_normal_answer_never_fires() -> None:
    # 20 bytes sent, 65,536 answered: 3,000 times larger, but under the floor.
    assert amplify.amplification(exchange(sent=b"x" * 20, answer=b"y" * 65_536)) is None
    assert amplify.amplification(exchange(sent=b"x" * 20, answer=b"y" * 65_537)) is not None


def test_error_pages_have_a_lower_floor() -> None:
    page = b"e" * 16_385
    assert amplify.amplification(exchange(sent=b"{}", answer=page, status=400)) is not None
    assert amplify.amplification(exchange(sent=b"{}", answer=page[:-1], status=400)) is None
    # The same bytes as a 2xx answer are under the 2xx floor.
    assert amplify.amplification(exchange(sent=b"{}", answer=page)) is None


def test_what_the_content_explains_is_not_amplification() -> None:
    # A long streamed answer: 200 tokens explain 102,400 bytes of event-stream framing.
    streamed = Outcome(text="w " * 200, output_tokens=200)
    body = b"d" * 102_400
    assert amplify.amplification(exchange(sent=b"x" * 20, answer=body, outcome=streamed)) is None
    over = amplify.amplification(exchange(sent=b"x" * 20, answer=body + b"d", outcome=streamed))
    assert over is not None
    # An embedding of 2,000 numbers explains 128,000 bytes.
    vector = Outcome(prediction=[[0.1] * 2_000])
    assert amplify.amplification(exchange(sent=b"x", answer=b"v" * 128_000, outcome=vector)) is None
    assert amplify.amplification(exchange(sent=b"x", answer=b"v" * 128_001, outcome=vector))


def test_amplification_settings_are_read() -> None:
    settings = replace(SETTINGS, amplify_min_bytes=1_000, amplify_ratio=2.0)
    sent = b"x" * 600
    assert (
        amplify.amplification(exchange(sent=sent, answer=b"y" * 1_200, settings=settings)) is None
    )
    assert amplify.amplification(exchange(sent=sent, answer=b"y" * 1_201, settings=settings))


def test_no_request_or_no_answer_is_not_judged() -> None:
    no_request = replace(exchange(sent=b"", answer=b"y" * 70_000), request=None)
    assert amplify.amplification(no_request) is None
    assert amplify.amplification(exchange(sent=b"", answer=b"y" * 70_000, status=0)) is None


# --- input_echo ----------------------------------------------------------------------------


def test_an_error_page_quoting_the_body_inside_a_json_string_is_an_echo() -> None:
    sent = chat(content="the quick brown fox jumps over the lazy dog " * 40)
    page = json.dumps({"error": {"message": "bad", "input": sent.decode()}}).encode()
    finding = amplify.input_echo(exchange(sent=sent, answer=page, status=422))
    assert finding is not None
    assert finding.severity == "warning"
    assert "100%" in finding.message


def test_an_echo_of_unicode_text_is_found_through_json_escapes() -> None:
    text = "Grüße aus München, café crème, naïve façade. " * 40
    sent = json.dumps({"messages": [{"role": "user", "content": text}]}, ensure_ascii=False)
    page = json.dumps({"detail": [{"input": json.loads(sent)}]}).encode()  # \\u00fc escapes
    assert amplify.input_echo(exchange(sent=sent.encode(), answer=page, status=422)) is not None


def test_an_error_naming_only_the_start_of_the_input_is_no_echo() -> None:
    sent = chat(content=" ".join(f"word{i}" for i in range(400)))
    page = json.dumps({"error": f"invalid input near {sent[:120].decode()!r}"}).encode()
    assert amplify.input_echo(exchange(sent=sent, answer=page, status=400)) is None


def test_small_bodies_and_parsed_answers_are_not_judged_for_echo() -> None:
    body = b"a1" * 511  # 1,022 bytes: under echo_min_bytes
    assert amplify.input_echo(exchange(sent=body, answer=body, status=400)) is None
    body = b"a1" * 512
    assert amplify.input_echo(exchange(sent=body, answer=body, status=400)) is not None
    # A 2xx the protocol read may quote the prompt: that is the model's content.
    assert amplify.input_echo(exchange(sent=body, answer=body)) is None


# --- runaway_generation --------------------------------------------------------------------


def tokens(n: int, *, counted: bool = False) -> Outcome:
    return Outcome(text="w " * n, output_tokens=n, tokens_estimated=counted)


def test_usage_over_the_requests_max_tokens_is_a_runaway() -> None:
    sent = chat(max_tokens=5)
    # slack 1: 6 tokens pass (a stop token counted), 7 do not.
    assert runaway.runaway_generation(exchange(sent=sent, answer=b"", outcome=tokens(6))) is None
    finding = runaway.runaway_generation(exchange(sent=sent, answer=b"", outcome=tokens(7)))
    assert finding is not None
    assert finding.severity == "error"
    assert "max_tokens 5" in finding.message


def test_the_limit_is_the_requests_not_the_scenarios() -> None:
    # target.max_tokens is 16, the request (a numbers.* family) asked for 3.
    assert runaway.runaway_generation(exchange(sent=chat(3), answer=b"", outcome=tokens(5)))
    assert (
        runaway.runaway_generation(exchange(sent=chat(64), answer=b"", outcome=tokens(20))) is None
    )


def test_n_choices_multiply_the_limit_and_max_completion_tokens_counts() -> None:
    sent = chat(max_tokens=4, n=3)
    assert runaway.runaway_generation(exchange(sent=sent, answer=b"", outcome=tokens(13))) is None
    assert runaway.runaway_generation(exchange(sent=sent, answer=b"", outcome=tokens(14)))
    both = chat(max_tokens=50, max_completion_tokens=4)
    assert runaway.runaway_generation(exchange(sent=both, answer=b"", outcome=tokens(6)))


def test_counted_tokens_get_twice_the_limit() -> None:
    sent = chat(max_tokens=5)
    counted = tokens(11, counted=True)
    assert runaway.runaway_generation(exchange(sent=sent, answer=b"", outcome=counted)) is None
    assert runaway.runaway_generation(
        exchange(sent=sent, answer=b"", outcome=tokens(12, counted=True))
    )


def test_requests_without_a_usable_limit_are_not_judged() -> None:
    for sent in (chat("5"), chat(True), chat(0), b'{"messages": []}', b"not json max_tokens"):
        assert (
            runaway.runaway_generation(exchange(sent=sent, answer=b"", outcome=tokens(99))) is None
        )
    embeddings = replace(SETTINGS, protocol="openai-embeddings")
    assert (
        runaway.runaway_generation(
            exchange(sent=chat(1), answer=b"", outcome=tokens(99), settings=embeddings)
        )
        is None
    )


def test_a_fixed_time_bound_per_token_when_set() -> None:
    settings = replace(SETTINGS, runaway_ms_per_token=100.0, runaway_min_ms=500.0)
    slow = exchange(
        sent=chat(64), answer=b"", outcome=tokens(20), latency_ms=2_001, settings=settings
    )
    assert runaway.runaway_generation(slow) is not None
    inside = replace(slow, latency_ms=2_000)
    assert runaway.runaway_generation(inside) is None
    # Few tokens: the floor (min_ms) bounds it, not tokens x per-token time.
    short = replace(slow, outcome=tokens(1), latency_ms=499)
    assert runaway.runaway_generation(short) is None
    # Off by default.
    assert runaway.runaway_generation(replace(slow, settings=SETTINGS)) is None


def test_tokens_over_max_tokens_are_one_finding_runaway_generation_alone() -> None:
    # One event, one finding: oversize_answer (a warning) leaves tokens to runaway_generation.
    from stress.checks.request import CheckSuite, select

    suite = CheckSuite(select(None), settings=SETTINGS)
    over = exchange(sent=chat(16), answer=b'{"choices": []}', outcome=tokens(500))
    found = [(f.check, f.severity) for f in suite.run(over)]
    tokenish = [pair for pair in found if pair[0] in ("runaway_generation", "oversize_answer")]
    assert tokenish == [("runaway_generation", "error")]
    # Bytes over answers.max_bytes are still oversize_answer's.
    big = replace(SETTINGS, max_bytes=10)
    bulky = exchange(sent=chat(16), answer=b"x" * 11, outcome=tokens(3), settings=big)
    assert "oversize_answer" in {f.check for f in CheckSuite(select(None), settings=big).run(bulky)}
