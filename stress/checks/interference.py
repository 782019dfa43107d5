"""Concurrency interference: the same input in flight twice at once, its two answers compared.

In a streaming run, every phase after the baseline starts with the degradation check's
re-sends, and the first ``PAIRED_RESENDS`` of them (inputs not meant to be refused) go out
twice in a row (stress.load.plan): two users take the same input back to back, so both
requests are usually in flight together. Here the answers to the same input in the same
phase whose send intervals overlap (``sent_at`` to ``sent_at`` + ``service_ms``, else
``latency_ms``) are paired, in send order, each answer in one pair at most, among answers
that started (2xx, or cut: refusals are skipped). Any such pair counts, made by the plan or
by chance (a small corpus cycling under many users; non-streamed answers too). A pair is a
finding when:

- **cut**: an answer was cut (error kind in ``CUT_KINDS``: a stream that ended without
  ``[DONE]`` or broke, stalled, hung or was reset; or ``finish_reason`` "length" with fewer
  output tokens than its twin's complete answer) while the same input was answered whole, by
  its twin or in the baseline phase. A refusal (4xx, 5xx) or a timeout before the headers is
  load, not a cut;
- **changed**: both answers complete and different by the degradation methods and tolerance
  (stress.checks.compare), on an endpoint the degradation check found deterministic (judged,
  not sampling, and its quiet re-sends mostly gave the baseline's answer again). A sampling
  endpoint is never charged for a difference, and without the degradation check's verdict
  no difference is.

Both kinds are one check, ``concurrency_interference``, error by default: a cut stream loses a
user's answer, and two answers to one input that differ only when in flight together on a
deterministic endpoint are cross-talk between requests (one user's tokens in another's
stream), as serious as a confirmed degradation.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stress import errorkinds
from stress.checks import degradation
from stress.checks.compare import Answer, Comparer
from stress.scenario import Scenario

INTERFERENCE = "concurrency_interference"
COLUMNS = (
    "seq",
    "worker",
    "input_id",
    "family",
    "phase",
    "users",
    "sent_at",
    "latency_ms",
    "service_ms",
    "status",
    "error_kind",
    "finish_reason",
    "output_tokens",
    "output_text",
    "output_chars",
    "output_digest",
)
# Error kinds of an answer that started and was cut before it was whole.
CUT_KINDS = (
    errorkinds.INVALID_STREAM,
    errorkinds.STREAM_STALL,
    errorkinds.HANG,
    errorkinds.CONNECTION_RESET,
    errorkinds.INVALID_RESPONSE,
)
CUT = "cut"
CHANGED = "changed"
# Findings listed in summary.json (all are counted).
MAX_LISTED = 20
# At most this many pairs are judged (a tiny corpus cycled by many users pairs nearly every
# answer: the first ones, in phase and input order, say all there is to say).
MAX_PAIRS = 20_000


@dataclass(frozen=True)
class Twin:
    """One answer of a pair: when it was in flight and how it ended."""

    seq: int
    worker: int
    start: float
    end: float
    status: int
    error_kind: str | None
    finish_reason: str | None
    output_tokens: int | None
    answer: Answer | None

    @property
    def whole(self) -> bool:
        return 200 <= self.status < 300 and self.error_kind is None

    def cut_beside(self, twin: Twin) -> bool:
        """Cut: broken off (CUT_KINDS), or stopped at "length" short of its whole twin."""
        if self.error_kind in CUT_KINDS:
            return True
        return (
            self.whole
            and twin.whole
            and self.finish_reason == "length"
            and twin.finish_reason != "length"
            and (self.output_tokens or 0) < (twin.output_tokens or 0)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "worker": self.worker,
            "status": self.status,
            "error_kind": self.error_kind,
            "finish_reason": self.finish_reason,
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True)
class Finding:
    """A pair in flight together whose answer was cut or changed."""

    input_id: str
    family: str
    phase: str
    users: int
    kind: str  # CUT or CHANGED
    judged: Twin  # the answer charged: the cut one, or the later one of a changed pair
    twin: Twin
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "input_id": self.input_id,
            "family": self.family,
            "phase": self.phase,
            "users": self.users,
            "kind": self.kind,
            "reason": self.reason,
            "judged": self.judged.to_json(),
            "twin": self.twin.to_json(),
        }


@dataclass
class Result:
    judged: bool
    note: str
    pairs: int = 0  # pairs of answers in flight together, compared
    deterministic: bool = False  # differences were charged (degradation's verdict)
    findings: list[Finding] = field(default_factory=list)
    capped: bool = False  # MAX_PAIRS reached: later pairs not judged

    def totals(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "note": self.note,
            "pairs": self.pairs,
            "deterministic": self.deterministic,
            "cut": sum(f.kind == CUT for f in self.findings),
            "changed": sum(f.kind == CHANGED for f in self.findings),
            "examples": [f.to_json() for f in self.findings[:MAX_LISTED]],
        }


def deterministic(result: degradation.Result) -> bool:
    """The degradation check's verdict that the endpoint answers one input one way: judged,
    not sampling, and of the changed answers re-sent alone fewer than half changed again
    (with none re-sent: no answer changed under load at all)."""
    if not result.judged or result.sampling:
        return False
    unstable, verified = result.spread
    if verified:
        return 2 * unstable < verified
    return not result.pairs


def evaluate(
    records: pd.DataFrame,
    scenario: Scenario,
    degraded: degradation.Result,
    *,
    comparer: Comparer | None = None,
) -> Result:
    """The pairs in ``records`` (COLUMNS) judged; ``degraded``: the degradation check's result."""
    if not scenario.degradation.enabled or not degraded.methods:
        return Result(False, "not judged: needs the degradation check (its re-sends make pairs)")
    if records.empty:
        return Result(False, "not judged: no records")
    comparer = comparer or Comparer(scenario.degradation, scenario.target.protocol.value)
    charged = deterministic(degraded)
    baseline = degradation.baseline_phase(scenario)
    whole_in_baseline = set(
        records.loc[
            (records["phase"] == baseline)
            & (records["status"] >= 200)
            & (records["status"] < 300)
            & records["error_kind"].isna(),
            "input_id",
        ]
    )
    result = Result(True, "", deterministic=charged)
    for (phase, input_id), group in _candidates(records).groupby(["phase", "input_id"]):
        rows = list(group.itertuples(index=False))
        for first_row, second_row in _overlapping(rows):
            if result.pairs >= MAX_PAIRS:
                result.capped = True
                break
            result.pairs += 1
            first, second = twin_of(first_row), twin_of(second_row)
            whole_alone = str(input_id) in whole_in_baseline
            found = _judge(first, second, whole_alone, charged, comparer)
            if found is not None:
                kind, on_first, reason = found
                row, judged, twin = (
                    (first_row, first, second) if on_first else (second_row, second, first)
                )
                result.findings.append(
                    Finding(
                        str(input_id),
                        str(row.family),
                        str(phase),
                        int(row.users),
                        kind,
                        judged,
                        twin,
                        reason,
                    )
                )
    order = {p.name: i for i, p in enumerate(scenario.load.phases)}
    result.findings.sort(key=lambda f: (order.get(f.phase, len(order)), f.judged.seq))
    result.note = _note(result, degraded)
    return result


def _candidates(records: pd.DataFrame) -> pd.DataFrame:
    """Answers that started (2xx, or cut) and overlap the answer before or after them to the
    same input in the same phase, in send order: a long run's records are cut down to the
    few that can pair before any row is looked at one by one."""
    started = records[
        ((records["status"] >= 200) & (records["status"] < 300))
        | records["error_kind"].isin(CUT_KINDS)
    ].sort_values(["phase", "input_id", "sent_at", "worker", "seq"], kind="stable")
    took = started["service_ms"].where(started["service_ms"].notna(), started["latency_ms"])
    end = started["sent_at"] + took.fillna(0.0).astype(float) / 1000
    same = (started["phase"].shift(-1) == started["phase"]) & (
        started["input_id"].shift(-1) == started["input_id"]
    )
    with_next = same & (started["sent_at"].shift(-1) < end)
    with_previous = with_next.shift(1, fill_value=False).astype(bool)
    return started[with_next | with_previous]


def _overlapping(rows: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Consecutive answers (by send time) in flight at the same time, each in one pair."""
    index = 0
    while index + 1 < len(rows):
        first, second = rows[index], rows[index + 1]
        if _span(second)[0] < _span(first)[1] and _span(first)[0] < _span(second)[1]:
            yield first, second
            index += 2
        else:
            index += 1


def _span(row: Any) -> tuple[float, float]:
    start = float(row.sent_at)
    took = row.service_ms if _number(row.service_ms) else row.latency_ms
    return start, start + float(took if _number(took) else 0.0) / 1000


def _number(value: Any) -> bool:
    """A number and not NaN (numpy's scalars too: numbers.Real covers them; pd.NA is not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def twin_of(row: Any) -> Twin:
    start, end = _span(row)
    text = row.output_text
    tokens = row.output_tokens
    return Twin(
        int(row.seq),
        int(row.worker),
        start,
        end,
        int(row.status),
        row.error_kind if isinstance(row.error_kind, str) else None,
        row.finish_reason if isinstance(row.finish_reason, str) else None,
        int(tokens) if _number(tokens) else None,
        degradation.answer_of(row) if isinstance(text, str) else None,
    )


def _judge(
    first: Twin, second: Twin, whole_alone: bool, charged: bool, comparer: Comparer
) -> tuple[str, bool, str] | None:
    """(kind, whether the first answer is the one charged, why), or None."""
    for judged, twin, on_first in ((first, second, True), (second, first, False)):
        if not judged.cut_beside(twin):
            continue
        how = judged.error_kind or f"finish_reason length at {judged.output_tokens} tokens"
        if twin.whole and not twin.cut_beside(judged):
            return CUT, on_first, f"cut ({how}) while its twin completed"
        if whole_alone:
            return CUT, on_first, f"cut ({how}); the same input completed in the baseline"
        return None
    if not charged or first.answer is None or second.answer is None:
        return None
    if not (first.whole and second.whole):
        return None
    differences = comparer.differences(first.answer, second.answer)
    if not differences:
        return None
    how = "; ".join(f"{method}: {why}" for method, why in differences.items())
    return CHANGED, False, f"the two answers differ ({how})"


def _note(result: Result, degraded: degradation.Result) -> str:
    parts = [f"{result.pairs} pairs of answers to one input in flight together compared"]
    if not result.deterministic:
        why = (
            "the endpoint samples"
            if degraded.sampling
            else "the degradation check did not find the endpoint deterministic"
        )
        parts.append(f"only cuts judged: {why}, so a difference is not charged")
    if result.capped:
        parts.append(f"the first {MAX_PAIRS} pairs judged, later ones not")
    if not result.pairs:
        parts.append(
            "no two answers to one input overlapped (pairs are sent in streaming runs, in "
            "phases with more than one user)"
        )
    return "; ".join(parts)
