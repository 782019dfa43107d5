"""Degradation's judgement, exactly: what is compared, counted, confirmed and in what order.

Written against mutation testing (`make mutation`): each result is compared whole, so a
changed filter, count, order or note is caught.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pandas as pd

from stress.checks import degradation
from stress.checks.compare import Answer
from stress.checks.resend import Resend
from stress.scenario import from_dict


def scenario(phases: int = 3, **extra: Any) -> Any:
    names = [("baseline", 1), ("load", 8), ("later", 2)][:phases]
    return from_dict(
        {
            "name": "d",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": n, "users": u, "duration": "1s"} for n, u in names]},
            **extra,
        }
    )


def rec(seq: int, input_id: str, phase: str, users: int, text: str, **extra: Any) -> dict:
    return {
        "seq": seq,
        "worker": 0,
        "input_id": input_id,
        "family": input_id.split("-")[0],
        "expect": "accept",
        "phase": phase,
        "users": users,
        "status": 200,
        "output_text": text,
        "output_chars": len(text),
        "output_digest": None,
        **extra,
    }


def resend(input_id: str, text: str, **extra: Any) -> Resend:
    values: dict[str, Any] = {
        "purpose": "degradation",
        "input_id": input_id,
        "attempt": 1,
        "status": 200,
        "error_kind": None,
        "latency_ms": 1.0,
        "output_text": text,
        **extra,
    }
    return Resend(**values)


RECORDS = pd.DataFrame(
    [
        rec(40, "b-1", "later", 2, "beta"),  # listed first; its level comes last
        rec(31, "b-1", "load", 8, "yankee"),
        rec(30, "a-1", "load", 8, "xray"),
        rec(32, "b-1", "load", 8, "quebec", status=300),  # not a 2xx: not compared
        rec(33, "r-1", "load", 8, "romeo two", expect="reject"),  # meant to fail: not compared
        rec(34, "s-1", "load", 8, "sierra two"),  # no baseline answer (a 302): not compared
        rec(21, "a-1", "load", 4, "alpha"),
        rec(22, "c-1", "load", 4, "zulu"),
        rec(20, "a-1", "baseline", 1, "alpha two"),  # a later baseline answer: not the reference
        rec(1, "a-1", "baseline", 1, "alpha"),
        rec(2, "b-1", "baseline", 1, "beta"),
        rec(3, "c-1", "baseline", 1, "charlie"),
        rec(4, "r-1", "baseline", 1, "romeo", expect="reject"),
        rec(5, "s-1", "baseline", 1, "sierra", status=302),
    ]
)
RESENDS = [
    resend("a-1", "xray", purpose="flakiness"),  # another check's re-send: ignored
    resend("b-1", "error page", status=500),  # not an answer: ignored
    resend("a-1", "alpha"),
    resend("b-1", "beta"),
    resend("c-1", "zulu two"),
    resend("a-1", "xray"),  # only the first re-send of an input counts
]


def test_levels_counts_and_pairs_exactly() -> None:
    result = degradation.evaluate(RECORDS, scenario(), resends=RESENDS)
    assert result.judged is True
    assert result.baseline == "baseline"
    assert [level.to_json() for level in result.levels] == [
        {
            "phase": "load",
            "users": 4,
            "compared": 2,
            "degraded": 0,
            "rate": 0.0,
            "by_method": {},
            "unstable": 1,
            "unverified": 0,
        },
        {
            "phase": "load",
            "users": 8,
            "compared": 2,
            "degraded": 2,
            "rate": 1.0,
            "by_method": {"normalized": 2},
            "unstable": 0,
            "unverified": 0,
        },
        {
            "phase": "later",
            "users": 2,
            "compared": 1,
            "degraded": 0,
            "rate": 0.0,
            "by_method": {},
            "unstable": 0,
            "unverified": 0,
        },
    ]
    first, second = result.degraded
    assert (first.input_id, first.family, first.phase, first.users, first.seq) == (
        "a-1",
        "a",
        "load",
        8,
        30,
    )
    assert (first.baseline.text, first.load.text) == ("alpha", "xray")
    assert (second.input_id, second.seq, second.baseline.text) == ("b-1", 31, "beta")
    assert first.verified
    assert first.confirmed
    assert result.candidates == ["c-1", "a-1", "b-1"]  # in send order
    assert result.totals() == {
        "judged": True,
        "baseline": "baseline",
        "methods": result.methods,
        "note": result.note,
        "compared": 5,
        "degraded": 2,
        "rate": 0.4,
        "unstable": 1,
        "unverified": 0,
    }
    assert result.methods == ["normalized", "length"]
    assert result.note.startswith(
        "5 answers under load compared with the baseline 'baseline' by normalized, length"
    )


def not_judged(note: str, methods: list[str]) -> dict[str, Any]:
    return {
        "judged": False,
        "baseline": "baseline",
        "methods": methods,
        "note": note,
        "compared": 0,
        "degraded": 0,
        "rate": None,
        "unstable": 0,
        "unverified": 0,
    }


def test_not_judged_results_exactly() -> None:
    disabled = degradation.evaluate(RECORDS, scenario(degradation={"enabled": False}))
    assert disabled.totals() == not_judged("not judged: degradation.enabled is false", [])
    single = degradation.evaluate(RECORDS, scenario(phases=1))
    assert single.totals() == not_judged(
        "not judged: the scenario has a single phase", ["normalized", "length"]
    )
    empty = degradation.evaluate(RECORDS, scenario(degradation={"methods": []}))
    assert empty.totals() == not_judged("not judged: degradation.methods is empty", [])
    failed = RECORDS.assign(status=500)
    nothing = degradation.evaluate(failed, scenario())
    assert nothing.totals() == not_judged(
        "not judged: the baseline phase 'baseline' recorded no comparable answers",
        ["normalized", "length"],
    )
    for result in (disabled, single, empty, nothing):
        assert result.levels == []
        assert result.pairs == []


def test_answer_of_reads_what_a_record_has() -> None:
    full = SimpleNamespace(output_text="hi", output_chars=2.0, output_digest="d1")
    assert degradation.answer_of(full) == Answer("hi", 2, "d1")
    missing = SimpleNamespace(output_text="hi", output_chars=math.nan, output_digest=math.nan)
    assert degradation.answer_of(missing) == Answer("hi", None, None)
    assert degradation.answer_of(SimpleNamespace()) == Answer("", None, None)
    assert degradation.answer_of(SimpleNamespace(output_chars="3")) == Answer("", None, None)
