"""The shrinker without a server: delta debugging, JSON and byte passes, flakiness, bounds."""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from stress.repro.shrink import Limits, Shrinker, Status, Verdict, ddmin
from stress.repro.validity import violations

RLO = "\u202e"


def chat(*contents: str, **extra: object) -> bytes:
    messages = [{"role": "user", "content": text} for text in contents]
    return json.dumps({"model": "m", "messages": messages, **extra}, ensure_ascii=False).encode()


def same_when(predicate):  # type: ignore[no-untyped-def]
    def attempt(body: bytes, seconds_left: float) -> Verdict:
        return Verdict.SAME if predicate(body) else Verdict.PASS

    return attempt


def keeps_violations(body: bytes):  # type: ignore[no-untyped-def]
    intended = violations("openai-chat", body)
    return lambda candidate: violations("openai-chat", candidate) == intended


@given(st.lists(st.integers(0, 50), min_size=1, max_size=60, unique=True), st.data())
def test_ddmin_result_passes_and_is_one_minimal(items: list[int], data: st.DataObject) -> None:
    needed = set(data.draw(st.lists(st.sampled_from(items), max_size=3)))

    def test(subset: list[int]) -> bool:
        return needed <= set(subset)

    result = ddmin(items, test)
    assert test(result)
    assert set(result) == needed  # removing any one item breaks it
    assert result == [x for x in items if x in result]  # order kept


def test_shrinks_a_chat_request_to_the_bidi_character() -> None:
    body = chat("hello " * 300, f"some text with a {RLO} inside", "bye " * 100, max_tokens=48)
    result = Shrinker(same_when(lambda b: RLO.encode() in b), valid=keeps_violations(body)).run(
        body
    )
    assert result.status is Status.SHRUNK
    assert result.complete
    assert (
        result.body
        == json.dumps({"messages": [{"role": "user", "content": RLO}]}, ensure_ascii=False).encode()
    )


def test_a_valid_input_stays_valid_even_when_an_invalid_one_fails_the_same_way() -> None:
    # This endpoint fails on the NUL *and* on anything malformed: shrinking must not drift
    # from the NUL bug to "an empty body also fails".
    body = chat("abc\x00def", max_tokens=5)

    def fails(candidate: bytes) -> bool:
        return b"\\u0000" in candidate or bool(violations("openai-chat", candidate))

    result = Shrinker(same_when(fails), valid=keeps_violations(body)).run(body)
    assert violations("openai-chat", result.body) == frozenset()
    assert json.loads(result.body) == {"messages": [{"role": "user", "content": "\x00"}]}


def test_a_malformed_input_stays_malformed_the_same_way() -> None:
    body = chat("x" * 200).replace(b'"messages"', b'"msgs"')  # missing:messages
    result = Shrinker(same_when(lambda b: True), valid=keeps_violations(body)).run(body)
    assert violations("openai-chat", result.body) == {"missing:messages"}
    assert result.body == b"{}"


def test_non_json_bodies_shrink_by_bytes_and_keep_their_defect() -> None:
    body = chat("a" * 100).replace(b"aaaa", b"aa\xffaa", 1)
    result = Shrinker(same_when(lambda b: True), valid=keeps_violations(body)).run(body)
    assert result.body == b"\xff"


def test_values_are_simplified() -> None:
    body = json.dumps(
        {
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 4096,
            "stream": True,
            "temperature": 0.75,
        }
    ).encode()
    result = Shrinker(same_when(lambda b: b'"temperature"' in b), valid=keeps_violations(body)).run(
        body
    )
    assert json.loads(result.body) == {
        "messages": [{"role": "user", "content": ""}],
        "temperature": 0,
    }


def test_a_randomly_failing_endpoint_is_reported_flaky_not_shrunk() -> None:
    for seed in range(20):
        rng = random.Random(seed)

        def coin(body: bytes, seconds_left: float, rng: random.Random = rng) -> Verdict:
            return Verdict.SAME if rng.random() < 0.5 else Verdict.PASS

        body = chat("hello " * 100)
        limits = Limits(max_requests=80)
        result = Shrinker(coin, valid=keeps_violations(body), limits=limits).run(body)
        assert result.requests <= 80
        assert result.status in (Status.FLAKY, Status.NOT_REPRODUCED), seed
        assert result.body == body


def test_request_and_time_bounds_stop_shrinking_with_the_best_so_far() -> None:
    body = chat(*(f"message {i} " * 20 for i in range(40)), f"x{RLO}")
    fails = same_when(lambda b: RLO.encode() in b)
    bounded = Shrinker(fails, valid=keeps_violations(body), limits=Limits(max_requests=25))
    result = bounded.run(body)
    assert result.requests == 25
    assert not result.complete
    assert "request bound (25)" in result.notes[0]
    assert RLO.encode() in result.body
    assert len(result.body) < len(body)

    now = [0.0]

    def slow(candidate: bytes, seconds_left: float) -> Verdict:
        now[0] += 1.0  # every request takes a second
        return fails(candidate, seconds_left)

    timed = Shrinker(
        slow, valid=keeps_violations(body), limits=Limits(max_seconds=30), clock=lambda: now[0]
    )
    result = timed.run(body)
    assert not result.complete
    assert result.seconds <= 31
    assert "time bound (30s)" in result.notes[0]


def test_a_failure_that_does_not_reproduce_is_said_so() -> None:
    body = chat("hi")
    result = Shrinker(same_when(lambda b: False), valid=keeps_violations(body)).run(body)
    assert result.status is Status.NOT_REPRODUCED
    assert result.confirmed == (0, 5)
    assert result.requests == 5
