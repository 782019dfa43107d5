"""Post-load findings as failures.jsonl lines and their re-judgement by replay, on made-up
records and observations: slow_generation's slowest answers become at most five lines with
the run's pace; replay finds a re-sent answer slow again only past that pace (factor and
margin); cost_growth is judged from its smallest and largest input replayed together."""

from __future__ import annotations

from typing import Any

import pytest

from stress.checks import growth
from stress.checks.request import GROUP_CHECKS
from stress.inputs.corpus import Input
from stress.repro import postload
from stress.repro.sender import Observation
from stress.targets import adapter_for
from tests.unit.checks.test_growth import generation, scenario


def slow_lines(times: list[float]) -> list[dict[str, Any]]:
    chosen = scenario()
    frame = generation(times, [10] * len(times))
    items = {
        f"f-{i}": Input(f"f-{i}", "f", "accept", "prompt", {"messages": []})
        for i in range(len(times))
    }
    adapter = adapter_for(chosen.target)
    return growth.failure_lines_of(
        frame, chosen, items, adapter, enabled=list(GROUP_CHECKS), severity=lambda _: "error"
    )


def test_the_slowest_answers_become_at_most_five_lines_with_the_runs_pace() -> None:
    # 30 answers at 10 ms a token, 7 far slower: the five slowest are written, slowest first.
    times = [100.0] * 30 + [2_000.0, 3_000.0, 4_000.0, 5_000.0, 6_000.0, 7_000.0, 8_000.0]
    lines = slow_lines(times)
    assert [line["input_id"] for line in lines] == ["f-36", "f-35", "f-34", "f-33", "f-32"]
    first = lines[0]
    assert first["check"] == growth.SLOW_GENERATION
    assert first["findings"][0]["severity"] == "error"
    assert first["post_load"]["pace_ms_per_token"] == pytest.approx(10.0)
    assert first["post_load"]["tokens"] == 10
    assert first["request"]["method"] == "POST"
    assert first["response"]["latency_ms"] == 8_000.0
    assert slow_lines([100.0] * 31) == []


def observed(latency_ms: float, tokens: int | None = 10) -> Observation:
    return Observation(200, None, (), latency_ms, "", tokens)


CASE = {
    "check": growth.SLOW_GENERATION,
    "findings": [{"check": growth.SLOW_GENERATION, "severity": "warning"}],
    "post_load": {
        "check": growth.SLOW_GENERATION,
        "pace_ms_per_token": 10.0,
        "slow_factor": 10.0,
        "slow_min_ms": 1000.0,
        "time_ms": 8000.0,
        "tokens": 10,
    },
}


@pytest.mark.parametrize(
    ("latency", "tokens", "slow"),
    [
        (2_000.0, 10, True),  # 20 x the 100 ms its 10 tokens explain, 1,900 ms beyond
        (1_050.0, 10, False),  # 10.5 x, but only 950 ms beyond: under slow_min_ms
        (2_000.0, 100, False),  # 100 tokens explain 1,000 ms: twice, not ten times
        (9_000.0, None, False),  # no tokens: not re-judged
    ],
)
def test_replay_finds_slow_generation_again_only_past_the_runs_pace(
    latency: float, tokens: int | None, slow: bool
) -> None:
    judged = postload.rejudge(CASE, observed(latency, tokens))
    found = [(f.check, f.severity) for f in judged.findings]
    assert found == ([(growth.SLOW_GENERATION, "warning")] if slow else [])


def growth_case(role: str, size: float) -> dict[str, Any]:
    post = {
        "check": growth.COST_GROWTH,
        "family": "(all)",
        "role": role,
        "measure": "bytes",
        "size": size,
        "time_ms": 1.0,
        "exponent": 2.0,
        "max_exponent": 1.5,
        "base_ms": 2.0,
    }
    return {"check": growth.COST_GROWTH, "post_load": post}


@pytest.mark.parametrize(
    ("small_ms", "large_ms", "fails"),
    [
        (6.0, 258.0, True),  # (256 / 4) over a size ratio of 8: exponent 2
        (10.0, 66.0, False),  # (64 / 8) over 8: exponent 1
    ],
)
def test_cost_growth_is_judged_from_its_two_ends_together(
    small_ms: float, large_ms: float, fails: bool
) -> None:
    cases = [growth_case("smallest", 1_000.0), growth_case("largest", 8_000.0)]
    rows: list[dict[str, Any]] = [{"latency_ms": small_ms}, {"latency_ms": large_ms}]
    postload.judge_growth(cases, rows)
    assert [row["still_fails"] for row in rows] == [fails, fails]
    assert rows[0]["exponent_now"] == pytest.approx(2.0 if fails else 1.0)
    # One end alone is reported, not judged.
    alone: list[dict[str, Any]] = [{"latency_ms": large_ms}]
    postload.judge_growth(cases[1:], alone)
    assert alone[0]["still_fails"] is False
    assert "exponent_now" not in alone[0]
    assert postload.sends(cases[0]) == postload.GROWTH_SENDS
    assert postload.sends(CASE) == 1
