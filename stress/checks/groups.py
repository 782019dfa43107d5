"""Group checks after the load: degradation, invariance, flakiness, concurrency_interference.

``judge`` runs once per run, in the parent process, while the target is still up: it
re-sends (alone, one request at a time) the inputs whose answer changed under load and the
inputs that failed, writes every re-send to resends.jsonl, and appends the group findings
(confirmed degradations, invariance flips, pairs cut or changed in flight together:
stress.checks.interference) to failures.jsonl with their evidence.
``summarise`` computes the same results again from the run directory for summary.json, so
``stress report`` can rebuild them at any time.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from stress.checks import degradation, flakiness, growth, interference, invariance
from stress.checks.compare import Answer, Comparer
from stress.checks.request import CheckSuite, group_checks, severity_of
from stress.checks.resend import Resend, resend
from stress.inputs import corpus as corpus_io
from stress.inputs.corpus import Input
from stress.rundir import layout
from stress.rundir.read import load_records
from stress.scenario import Scenario
from stress.secrets import Redactor
from stress.sender import Sender
from stress.targets import adapter_for

COLUMNS = tuple(dict.fromkeys((*degradation.COLUMNS, *flakiness.COLUMNS, *interference.COLUMNS)))
# Group findings stored per check in failures.jsonl; the summary counts them all.
MAX_FINDINGS_PER_CHECK = 200
# Verification of changed answers stops early once this many in a row changed again when
# re-sent alone: the endpoint is nondeterministic and more re-sends would prove nothing new.
_UNSTABLE_STREAK = 5


@dataclass
class Groups:
    """The group checks' results for one run."""

    degradation: degradation.Result
    invariance: invariance.Result
    flakiness: dict[str, Any]
    enabled: list[str]
    interference: interference.Result = dataclasses.field(
        default_factory=lambda: interference.Result(False, "not judged")
    )


def judge(
    run_dir: Path,
    scenario: Scenario,
    url: str,
    *,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
) -> Groups:
    """Re-send, write resends.jsonl, append group findings to failures.jsonl; see module doc."""
    enabled = group_checks(scenario.checks)
    corpus = corpus_io.read(layout.corpus(run_dir))
    items = {item.id: item for item in corpus}
    records = load_records(run_dir, COLUMNS, arrow_lists=True)
    suite = CheckSuite.from_scenario(scenario)
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    first = degradation.evaluate(records, scenario) if degradation.DEGRADATION in enabled else None
    candidates = [] if first is None else first.candidates[: scenario.degradation.max_resends]
    failing = _failing(records, scenario) if flakiness.FLAKINESS in enabled else []
    retries = scenario.flakiness.retries
    planned = len(candidates) + retries * len(failing)
    resends: list[Resend] = []
    # Answers are scrubbed of the scenario's secrets as the load process scrubs the records',
    # so the two compare alike and resends.jsonl never holds a secret an endpoint echoed.
    redactor = Redactor(scenario.target.secrets())
    if planned:
        on_event({"event": "resend", "requests": planned})
        deadline = time.monotonic() + scenario.flakiness.max_duration
        with (
            Sender(
                url,
                timeout=scenario.target.timeout,
                max_bytes=scenario.target.max_body_bytes,
                stall=scenario.target.stall_timeout,
            ) as sender,
            layout.resends(run_dir).open("w", encoding="utf-8") as handle,
        ):
            baseline = {pair.input_id: pair.baseline for pair in first.pairs} if first else {}
            comparer = Comparer(scenario.degradation, scenario.target.protocol.value)
            streak = 0
            for job in _jobs(candidates, failing, items, retries):
                if job[0] == degradation.DEGRADATION and streak >= _UNSTABLE_STREAK:
                    continue
                for sent in resend(sender, adapter, suite, [job], deadline=deadline):
                    sent = dataclasses.replace(
                        sent, output_text=redactor.scrub_optional(sent.output_text)
                    )
                    text = json.dumps(sent.to_json(), ensure_ascii=True)
                    handle.write(redactor.scrub(text) + "\n")
                    resends.append(sent)
                    if sent.purpose == degradation.DEGRADATION:
                        streak = _streak(streak, sent, baseline, comparer)
    groups = evaluate(records, corpus, scenario, resends, enabled)
    lines = _finding_lines(groups, items, scenario, adapter)
    # slow_generation and cost_growth (judged from the records) as lines replay re-sends.
    lines += growth.failure_lines(
        run_dir,
        scenario,
        items,
        adapter,
        enabled=enabled,
        severity=lambda name: severity_of(name, scenario),
    )
    if lines:
        with layout.failures(run_dir).open("a", encoding="utf-8") as handle:
            for line in lines:
                handle.write(redactor.scrub(json.dumps(line, ensure_ascii=True)) + "\n")
    on_event(
        {
            "event": "groups",
            "resent": len(resends),
            "degraded": len(groups.degradation.degraded),
            "flips": len(groups.invariance.flips),
        }
    )
    return groups


def _failing(records: pd.DataFrame, scenario: Scenario) -> list[flakiness.Failing]:
    fail_on = [str(severity) for severity in scenario.fail_on]
    return flakiness.failing_inputs(records, fail_on)[: scenario.flakiness.max_inputs]


def _jobs(
    candidates: Sequence[str],
    failing: Sequence[flakiness.Failing],
    items: dict[str, Input],
    retries: int,
) -> Iterator[tuple[str, Input, int]]:
    for input_id in candidates:
        if input_id in items:
            yield degradation.DEGRADATION, items[input_id], 1
    if retries:
        for entry in failing:
            if entry.input_id in items:
                yield flakiness.FLAKINESS, items[entry.input_id], retries


def _streak(streak: int, sent: Resend, baseline: dict[str, Any], comparer: Comparer) -> int:
    reference = baseline.get(sent.input_id)
    if reference is None or sent.output_text is None:
        return streak
    again = Answer(sent.output_text, sent.output_chars, sent.output_digest)
    return streak + 1 if comparer.differences(reference, again) else 0


def read_resends(run_dir: Path) -> list[Resend]:
    """The re-sends of a run (none when the step did not run); unreadable lines skipped."""
    path = layout.resends(run_dir)
    found: list[Resend] = []
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return found
    with handle:
        for line in handle:
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            parsed = Resend.from_json(data) if isinstance(data, dict) else None
            if parsed is not None:
                found.append(parsed)
    return found


def evaluate(
    records: pd.DataFrame,
    corpus: Sequence[Input],
    scenario: Scenario,
    resends: Sequence[Resend],
    enabled: Sequence[str] | None = None,
) -> Groups:
    """Every group check's result from records (COLUMNS), corpus and re-sends."""
    enabled = list(group_checks(scenario.checks) if enabled is None else enabled)
    baseline = degradation.baseline_phase(scenario)
    if degradation.DEGRADATION in enabled:
        degraded = degradation.evaluate(records, scenario, resends=resends)
    else:
        note = "not judged: degradation is not in the scenario's checks"
        degraded = degradation.Result(False, baseline, [], note)
    if invariance.INVARIANCE in enabled:
        flips = invariance.evaluate(records, corpus, scenario)
    else:
        flips = invariance.Result(False, [], "not judged: invariance is not in the checks")
    flaky: dict[str, Any] = {"counts": {}, "inputs": []}
    if flakiness.FLAKINESS in enabled:
        fail_on = [str(severity) for severity in scenario.fail_on]
        flaky = flakiness.summarise(_failing(records, scenario), resends, fail_on, baseline)
    if interference.INTERFERENCE in enabled and degradation.DEGRADATION in enabled:
        paired = interference.evaluate(records, scenario, degraded)
    else:
        paired = interference.Result(False, "not judged: needs degradation and itself in checks")
    return Groups(degraded, flips, flaky, enabled, paired)


def load(run_dir: Path, scenario: Scenario) -> Groups:
    """The group results of a finished run, from its directory alone."""
    records = load_records(run_dir, COLUMNS, arrow_lists=True)
    try:
        corpus = corpus_io.read(layout.corpus(run_dir))
    except (OSError, ValueError):
        corpus = []
    return evaluate(records, corpus, scenario, read_resends(run_dir))


def summary_sections(groups: Groups, scenario: Scenario) -> dict[str, Any]:
    """summary.json's degradation, invariance, flakiness and group_checks sections."""
    return {
        "degradation": [level.to_json() for level in groups.degradation.levels],
        "invariance": [kind.to_json() for kind in groups.invariance.kinds],
        "flakiness": groups.flakiness,
        "group_checks": {
            "degradation": {
                **groups.degradation.totals(),
                "max_rate": scenario.degradation.max_rate,
            },
            "invariance": {
                **groups.invariance.totals(),
                "max_flip_rate": scenario.invariance.max_flip_rate,
            },
            "flakiness": {
                "judged": flakiness.FLAKINESS in groups.enabled,
                "retries": scenario.flakiness.retries,
                "max_inputs": scenario.flakiness.max_inputs,
            },
            interference.INTERFERENCE: groups.interference.totals(),
        },
    }


def check_entries(groups: Groups, scenario: Scenario) -> list[dict[str, Any]]:
    """summary.json "checks" entries (kind "group") for the enabled group checks."""
    fail_on = {str(severity) for severity in scenario.fail_on}
    entries = []
    if degradation.DEGRADATION in groups.enabled:
        result = groups.degradation
        limit = scenario.degradation.max_rate
        over = [lv for lv in result.levels if lv.rate is not None and lv.rate > limit]
        severity = severity_of(degradation.DEGRADATION, scenario)
        found = len(result.degraded)
        if not result.judged:
            message = result.note
        elif over:
            worst = max(over, key=lambda lv: lv.rate or 0.0)
            how = (
                "beyond the endpoint's sampling spread"
                if result.sampling
                else "and not when re-sent alone"
            )
            message = (
                f"{found} answers changed under load {how}; worst: phase "
                f"{worst.phase!r} at {worst.users} users, {worst.degraded} of {worst.compared} "
                f"({(worst.rate or 0) * 100:.3g}%) above the limit of {limit * 100:.3g}%"
            )
        else:
            message = f"within the limit of {limit * 100:.3g}%: {result.note}"
        entries.append(_entry("degradation", severity, found, not over, message, fail_on))
    if invariance.INVARIANCE in groups.enabled:
        flips_result = groups.invariance
        limit = scenario.invariance.max_flip_rate
        kinds = [k for k in flips_result.kinds if k.compared and k.flips / k.compared > limit]
        severity = severity_of(invariance.INVARIANCE, scenario)
        found = len(flips_result.flips)
        if not flips_result.judged:
            message = flips_result.note
        elif kinds:
            shown = ", ".join(f"{k.kind} {k.flips} of {k.compared}" for k in kinds[:4])
            message = f"answers flipped under perturbation ({shown}); limit {limit * 100:.3g}%"
        else:
            message = f"within the limit of {limit * 100:.3g}%: {flips_result.note}"
        entries.append(_entry("invariance", severity, found, not kinds, message, fail_on))
    if interference.INTERFERENCE in groups.enabled:
        paired = groups.interference
        found = len(paired.findings)
        message = paired.note
        if found:
            first = paired.findings[0]
            message = (
                f"{found} of {paired.pairs} pairs of answers to one input in flight together "
                f"were cut or changed; first: {first.input_id} (phase {first.phase!r}, seq "
                f"{first.judged.seq}) {first.reason}"
            )
        severity = severity_of(interference.INTERFERENCE, scenario)
        entries.append(
            _entry(interference.INTERFERENCE, severity, found, not found, message, fail_on)
        )
    if flakiness.FLAKINESS in groups.enabled:
        counts = groups.flakiness.get("counts", {})
        shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "no failing inputs"
        entries.append(
            {
                "name": "flakiness",
                "kind": "group",
                "phase": None,
                "passed": True,
                "errors": 0,
                "warnings": 0,
                "info": 0,
                "severity": "info",
                "message": f"failing inputs re-sent alone: {shown}",
            }
        )
    return entries


def _entry(
    name: str, severity: str, found: int, within: bool, message: str, fail_on: set[str]
) -> dict[str, Any]:
    counts = {"error": 0, "warning": 0, "info": 0}
    counts[severity] = found
    return {
        "name": name,
        "kind": "group",
        "phase": None,
        "passed": within or severity not in fail_on,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "info": counts["info"],
        "severity": severity,
        "message": message,
    }


def finding_counts(groups: Groups, scenario: Scenario) -> pd.DataFrame:
    """One row per group finding: check, severity, family, phase (for per-family counts)."""
    rows: list[tuple[str, str, str, str | None]] = []
    severity = severity_of(degradation.DEGRADATION, scenario)
    for pair in groups.degradation.degraded:
        rows.append(("degradation", severity, pair.family, pair.phase))
    severity = severity_of(invariance.INVARIANCE, scenario)
    for flip in groups.invariance.flips:
        rows.append(("invariance", severity, flip.family, None))
    severity = severity_of(interference.INTERFERENCE, scenario)
    for paired in groups.interference.findings:
        rows.append((interference.INTERFERENCE, severity, paired.family, paired.phase))
    return pd.DataFrame(rows, columns=["check", "severity", "family", "phase"])


def _finding_lines(
    groups: Groups, items: dict[str, Input], scenario: Scenario, adapter: Any
) -> list[dict[str, Any]]:
    lines = []
    severity = severity_of(degradation.DEGRADATION, scenario)
    for pair in groups.degradation.degraded[:MAX_FINDINGS_PER_CHECK]:
        how = "; ".join(f"{m}: {reason}" for m, reason in pair.confirmed.items())
        message = (
            f"answer under load (phase {pair.phase!r}, {pair.users} users) differs from the "
            f"baseline's and matched it again when re-sent alone ({how})"
        )
        if degradation.DISTRIBUTION in pair.confirmed:
            message = (
                f"answers under load (phase {pair.phase!r}, {pair.users} users) differ from "
                f"the baseline's beyond the endpoint's sampling spread, and this one shows it "
                f"({how})"
            )
        lines.append(
            _line(
                items.get(pair.input_id),
                pair.input_id,
                pair.family,
                pair.phase,
                pair.seq,
                "degradation",
                message,
                severity,
                pair.baseline.text,
                pair.load.text,
                adapter,
            )
        )
    severity = severity_of(invariance.INVARIANCE, scenario)
    for flip in groups.invariance.flips[:MAX_FINDINGS_PER_CHECK]:
        how = "; ".join(f"{m}: {reason}" for m, reason in flip.differences.items())
        message = f"perturbation {flip.kind!r} of {flip.seed_id} changed the answer ({how})"
        lines.append(
            _line(
                items.get(flip.input_id),
                flip.input_id,
                flip.family,
                None,
                None,
                "invariance",
                message,
                severity,
                flip.seed.text,
                flip.perturbed.text,
                adapter,
            )
        )
    severity = severity_of(interference.INTERFERENCE, scenario)
    for paired in groups.interference.findings[:MAX_FINDINGS_PER_CHECK]:
        message = (
            f"{paired.kind} in flight together with the same input (phase {paired.phase!r}, "
            f"{paired.users} users, seq {paired.judged.seq} and {paired.twin.seq}): "
            f"{paired.reason}"
        )
        line = _line(
            items.get(paired.input_id),
            paired.input_id,
            paired.family,
            paired.phase,
            paired.judged.seq,
            interference.INTERFERENCE,
            message,
            severity,
            _text(paired.twin),
            _text(paired.judged),
            adapter,
        )
        line["response"]["status"] = paired.judged.status
        line["response"]["error_kind"] = paired.judged.error_kind
        lines.append(line)
    return lines


def _text(twin: interference.Twin) -> str:
    ended = f" [{twin.error_kind}]" if twin.error_kind else ""
    return (twin.answer.text if twin.answer is not None else "") + ended


def _line(
    item: Input | None,
    input_id: str,
    family: str,
    phase: str | None,
    seq: int | None,
    check: str,
    message: str,
    severity: str,
    expected: str,
    got: str,
    adapter: Any,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "input_id": input_id,
        "family": family,
        "expect": item.expect if item is not None else None,
        "phase": phase,
        "seq": seq,
        "sent_at": None,
        "check": check,
        "message": message,
        "findings": [
            {
                "check": check,
                "message": message,
                "severity": severity,
                "expected": expected[:2000],
                "got": got[:2000],
            }
        ],
        "response": {"status": 200, "error_kind": None, "body_excerpt": got[:2048]},
    }
    if item is not None:
        line["request"] = growth.stored_request(adapter.request(item))
    return line
