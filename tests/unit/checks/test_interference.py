"""concurrency_interference on hand-built records: which answers pair, cut and changed pairs,
the sampling verdict, and the finding lines and summary entries groups.py makes of them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from stress.checks import degradation, groups, interference
from stress.scenario import Scenario, from_dict


def scenario(**extra: Any) -> Scenario:
    return from_dict(
        {
            "name": "i",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "stream": True},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {
                "phases": [
                    {"name": "baseline", "users": 1, "duration": "1s"},
                    {"name": "load", "users": 4, "duration": "1s"},
                ]
            },
            **extra,
        }
    )


def row(
    seq: int, start: float, ms: float, text: str | None = "a b c", **extra: Any
) -> dict[str, Any]:
    return {
        "seq": seq,
        "worker": 0,
        "input_id": "p-0001",
        "family": "realistic.chat_prompt",
        "expect": "accept",
        "phase": "load",
        "users": 4,
        "sent_at": start,
        "latency_ms": ms,
        "service_ms": ms,
        "status": 200,
        "error_kind": None,
        "finish_reason": "stop",
        "output_tokens": 3,
        "output_text": text,
        "output_chars": None if text is None else len(text),
        "output_digest": None,
        **extra,
    }


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def verdict(*, judged: bool = True, sampling: bool = False, spread: tuple[int, int] = (0, 0),
            changed: int = 0) -> degradation.Result:  # fmt: skip
    pairs = [None] * changed  # only their number matters to ``deterministic``
    return degradation.Result(judged, "baseline", ["normalized", "length"], "", [], pairs,  # type: ignore[arg-type]
                              sampling, spread)  # fmt: skip


DETERMINISTIC = verdict()
CUT_STREAM = {"error_kind": "invalid_stream", "finish_reason": None, "output_tokens": 1}


def judge(records: pd.DataFrame, result: degradation.Result = DETERMINISTIC) -> interference.Result:
    return interference.evaluate(records, scenario(), result)


def test_an_answer_cut_while_its_twin_in_flight_completed_is_a_cut_finding() -> None:
    found = judge(frame(row(5, 100.0, 200), row(6, 100.05, 200, "a", **CUT_STREAM)))
    assert found.pairs == 1
    [finding] = found.findings
    assert (finding.kind, finding.judged.seq, finding.twin.seq) == ("cut", 6, 5)
    assert "invalid_stream" in finding.reason
    assert "twin completed" in finding.reason


def test_answers_not_in_flight_together_are_no_pair() -> None:
    # The second was sent after the first had ended (100.0 + 0.2 s): no overlap, no pair.
    found = judge(frame(row(5, 100.0, 200), row(6, 100.25, 200, "a", **CUT_STREAM)))
    assert (found.pairs, found.findings) == (0, [])


def test_both_cut_is_charged_only_when_the_input_completed_in_the_baseline() -> None:
    both = [row(5, 100.0, 200, "a", **CUT_STREAM), row(6, 100.05, 200, "a", **CUT_STREAM)]
    assert judge(frame(*both)).findings == []
    alone = row(1, 90.0, 200, phase="baseline", users=1)
    [finding] = judge(frame(alone, *both)).findings
    assert finding.kind == "cut"
    assert "completed in the baseline" in finding.reason


def test_a_length_stop_short_of_its_whole_twin_is_cut() -> None:
    short = row(6, 100.05, 200, "a", finish_reason="length", output_tokens=1)
    [finding] = judge(frame(row(5, 100.0, 200), short)).findings
    assert (finding.kind, finding.judged.seq) == ("cut", 6)
    # Both at the length limit with as many tokens: the limit, not a cut.
    same = row(5, 100.0, 200, "a", finish_reason="length", output_tokens=1)
    assert judge(frame(same, short)).findings == []
    # Its twin stopped on its own no later: the limit was reached, nothing was cut.
    stopped = row(5, 100.0, 200, "a", output_tokens=1)
    assert judge(frame(stopped, short)).findings == []


def test_refusals_and_timeouts_are_load_not_cuts() -> None:
    refused = row(6, 100.05, 200, None, status=503, error_kind="http_5xx", finish_reason=None)
    timed_out = row(7, 100.06, 200, None, status=0, error_kind="timeout", finish_reason=None)
    found = judge(frame(row(5, 100.0, 200), refused, timed_out))
    assert (found.pairs, found.findings) == (0, [])


def test_two_whole_answers_that_differ_are_changed_on_a_deterministic_endpoint() -> None:
    records = frame(row(5, 100.0, 200, "sure here is"), row(6, 100.05, 200, "here sure topic"))
    [finding] = judge(records).findings
    assert (finding.kind, finding.judged.seq) == ("changed", 6)
    assert "normalized" in finding.reason


@pytest.mark.parametrize(
    "result",
    [
        verdict(sampling=True, spread=(3, 4), changed=4),  # the endpoint samples
        verdict(sampling=True),  # sampling by its verdict alone
        verdict(spread=(2, 3), changed=3),  # most changed answers changed again alone
        verdict(changed=2),  # changed answers, none re-sent: not known
        verdict(judged=False),
    ],
)
def test_a_difference_is_not_charged_without_a_deterministic_verdict(
    result: degradation.Result,
) -> None:
    records = frame(row(5, 100.0, 200, "sure here is"), row(6, 100.05, 200, "here sure topic"))
    found = judge(records, result)
    assert (found.pairs, found.findings, found.deterministic) == (1, [], False)
    # A cut is charged all the same.
    cut = frame(row(5, 100.0, 200), row(6, 100.05, 200, "a", **CUT_STREAM))
    assert [f.kind for f in judge(cut, result).findings] == ["cut"]


def test_deterministic_reads_the_degradation_verdict() -> None:
    assert interference.deterministic(verdict())  # nothing changed under load
    assert interference.deterministic(verdict(spread=(1, 3), changed=3))
    assert not interference.deterministic(verdict(spread=(2, 4), changed=4))


def test_each_answer_is_in_one_pair_and_equal_twins_are_no_finding() -> None:
    records = frame(row(5, 100.0, 300), row(6, 100.01, 300), row(7, 100.02, 300))
    found = judge(records)
    assert (found.pairs, found.findings) == (1, [])


def test_pairs_judged_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interference, "MAX_PAIRS", 1)
    records = frame(
        row(5, 100.0, 200, "a", **CUT_STREAM),
        row(6, 100.05, 200),
        row(7, 200.0, 200, "a", **CUT_STREAM),
        row(8, 200.05, 200),
    )
    found = judge(records)
    assert (found.pairs, len(found.findings), found.capped) == (1, 1, True)
    assert "the first 1 pairs judged" in found.note


def test_not_judged_without_the_degradation_check() -> None:
    records = frame(row(5, 100.0, 200), row(6, 100.05, 200, "a", **CUT_STREAM))
    off = scenario(degradation={"enabled": False})
    found = interference.evaluate(records, off, verdict(judged=False))
    assert not found.judged
    assert "degradation" in found.note


def test_groups_turn_findings_into_lines_entries_and_counts() -> None:
    records = frame(
        row(1, 90.0, 200, phase="baseline", users=1),
        row(5, 100.0, 200),
        row(6, 100.05, 200, "a", **CUT_STREAM),
    )
    for name in groups.COLUMNS:
        if name not in records:
            records[name] = None
    spec = scenario()
    result = groups.evaluate(records, [], spec, [])
    assert [f.kind for f in result.interference.findings] == ["cut"]
    [entry] = [
        e for e in groups.check_entries(result, spec) if e["name"] == interference.INTERFERENCE
    ]
    assert (entry["passed"], entry["errors"], entry["severity"]) == (False, 1, "error")
    section = groups.summary_sections(result, spec)["group_checks"][interference.INTERFERENCE]
    assert (section["pairs"], section["cut"], section["changed"]) == (1, 1, 0)
    [line] = [
        line
        for line in groups._finding_lines(result, {}, spec, None)
        if line["check"] == interference.INTERFERENCE
    ]
    assert (line["seq"], line["phase"]) == (6, "load")
    assert line["response"]["error_kind"] == "invalid_stream"
    assert line["findings"][0]["expected"] == "a b c"
    assert line["findings"][0]["got"] == "a [invalid_stream]"
    counts = groups.finding_counts(result, spec)
    assert list(counts["check"]) == [interference.INTERFERENCE]
    # Off in the scenario's checks: not judged, no entry.
    off = scenario(checks=["default"])
    assert interference.INTERFERENCE in groups.evaluate(records, [], off, []).enabled
    quiet = scenario(checks=["degradation"])
    judged = groups.evaluate(records, [], quiet, [])
    assert not judged.interference.judged
    assert not any(
        e["name"] == interference.INTERFERENCE for e in groups.check_entries(judged, quiet)
    )
