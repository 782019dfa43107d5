"""Replay: re-send stored failing requests byte-exact and say whether each still fails.

The body bytes, method, path and headers are exactly those stored in failures.jsonl (secret
headers, stored redacted, take their values from the scenario again, ``${VAR}`` expanded from
the environment). The answer is judged by the run's one judgement (stress.checks.judge):
the scenario's checks with their severities, custom checks and answer settings, and the
corpus input the run sent (from the run directory's corpus.jsonl, or stored with a regression
case) so input-dependent checks judge as they did. A row lists every finding now, with its
severity, beside the findings the run stored.

A connection_dropped_after_answer case blames an answer after which the server dropped the
kept connection under the next request. Replaying the one request cannot meet that, so it
is sent and followed on the same kept connection by the input that met the drop in the run
(named in the finding; from corpus.jsonl), else the protocol's readiness probe, else the
blamed request once more (stress.repro.sender.CaseSender.send_and_follow): the drop recurs
when the server drops that second request before any byte of its answer and a new
connection answers it. Findings judged after the load (slow_generation, cost_growth) are
re-judged as stress.repro.postload says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stress.checks import connection
from stress.repro import postload
from stress.repro.cases import (
    REDACTED,
    StoredRequest,
    case_input,
    corpus_inputs,
    find_case,
    find_cases,
    stored_request,
)
from stress.repro.sender import CaseSender, Follow, Observation, open_sender
from stress.rundir import layout
from stress.rundir.read import check_run_dir, iter_failures
from stress.scenario import Scenario, from_path

__all__ = [
    "REDACTED",
    "StoredRequest",
    "read_failures",
    "replay",
    "replay_case",
    "stored_request",
]


def read_failures(run_dir: Path) -> list[dict[str, Any]]:
    """The stored failures of a run; RunDirError when ``run_dir`` is not a run directory."""
    check_run_dir(run_dir)
    return list(iter_failures(run_dir))


def replay_case(sender: CaseSender, case: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Send one case once; a row with ``before``, ``now`` and ``still_fails``.

    A case still fails when one of the checks that found an error in it finds one again
    (a case with warnings only: when one of its checks fires again).
    """
    request = stored_request(case, scenario)
    item = case_input(case, sender.inputs)
    if dropped(case):
        follow = follow_up(case, sender, request)
        input_id = str(case["input_id"])
        observation = sender.send_and_follow(
            request, case["expect"], follow, input_id=input_id, item=item
        )
    else:
        # A cost_growth end is timed as the least of a few sends: one is too noisy to fit.
        sends = postload.sends(case)
        tries = [sender.send(request, case["expect"], item=item) for _ in range(sends)]
        observation = min(tries, key=lambda seen: seen.latency_ms)
    return replay_row(case, request, postload.rejudge(case, observation))


def dropped(case: Mapping[str, Any]) -> bool:
    """The case blames an answer for a connection dropped after it."""
    return (
        any(
            isinstance(f, Mapping) and f.get("check") == connection.DROPPED
            for f in case.get("findings") or []
        )
        or case.get("check") == connection.DROPPED
    )


def next_input_id(case: Mapping[str, Any]) -> str | None:
    """The input that met the dropped connection in the run, as the finding names it."""
    for finding in case.get("findings") or []:
        if isinstance(finding, Mapping) and finding.get("check") == connection.DROPPED:
            found = connection.next_input(str(finding.get("message") or ""))
            if found:
                return found
    return connection.next_input(str(case.get("message") or ""))


def follow_up(case: Mapping[str, Any], sender: CaseSender, request: StoredRequest) -> Follow:
    """The second request of a dropped-connection replay (module doc)."""
    next_id = next_input_id(case)
    item = sender.inputs.get(next_id) if next_id else None
    if next_id and item is not None:
        http = sender.adapter.request(item)
    elif (probe := sender.adapter.readiness()) is not None:
        next_id, http = f"readiness probe {probe.method} {probe.path}", probe
    else:
        return Follow(str(case["input_id"]), *_parts(request))
    return Follow(str(next_id), http.method, http.path, dict(http.headers), http.body)


def _parts(request: StoredRequest) -> tuple[str, str, dict[str, str], bytes]:
    return request.method, request.path, dict(request.headers), request.body


def replay_row(
    case: Mapping[str, Any], request: StoredRequest, observation: Observation
) -> dict[str, Any]:
    stored = [f for f in case.get("findings") or [] if isinstance(f, Mapping)]
    errors = {str(f.get("check")) for f in stored if f.get("severity") == "error"}
    if errors:  # a failure is fixed when none of its errors is an error any more
        again = [f for f in observation.errors if f.check in errors]
    else:  # a stored warning (or info) is fixed when its check is silent
        before = {str(f.get("check")) for f in stored} or {str(case["check"])}
        again = [f for f in observation.findings if f.check in before]
    return {
        "input_id": case["input_id"],
        "check": case["check"],
        "before": "; ".join(_shown(f) for f in stored) or str(case.get("message", "")),
        "now": "; ".join(_shown(f) for f in observation.findings)
        or f"passes (HTTP {observation.status})",
        "still_fails": bool(again),
        "status": observation.status,
        "latency_ms": observation.latency_ms,
        "body_bytes": len(request.body),
        "findings_before": sorted((str(f.get("check")), str(f.get("severity"))) for f in stored),
        "findings_now": sorted(observation.pairs()),
    }


def _shown(finding: Any) -> str:
    """``check (severity): message`` of a stored finding (a dict) or a Finding."""
    if isinstance(finding, Mapping):
        check, severity, message = (
            finding.get("check"),
            finding.get("severity"),
            finding.get("message"),
        )
    else:
        check, severity, message = finding.check, finding.severity, finding.message
    level = "" if severity == "error" else f" ({severity})"
    return f"{check}{level}: {message}"


def replay(
    run_dir: Path,
    *,
    input_id: str | None = None,
    target: str | None = None,
    shrunk: bool = False,
) -> list[dict[str, Any]]:
    """Re-send the chosen failures; one row per failure with before/now and ``still_fails``.

    ``shrunk`` replays the minimal case `stress shrink` wrote for ``input_id`` instead.
    """
    if shrunk and input_id is not None:
        cases = [find_case(run_dir, input_id, shrunk=True)]
    else:
        cases = find_cases(run_dir, input_id)
    scenario = from_path(layout.scenario(run_dir))
    if not cases:
        return []
    # Secrets are restored before anything is started: a missing variable is a usage error.
    for case in cases:
        stored_request(case, scenario)
    ids = [str(case.get("input_id")) for case in cases]
    ids += [found for case in cases if dropped(case) and (found := next_input_id(case))]
    inputs = corpus_inputs(run_dir, ids)
    with open_sender(run_dir, scenario, target, inputs=inputs) as sender:
        rows = [replay_case(sender, case, scenario) for case in cases]
    postload.judge_growth(cases, rows)  # cost_growth: its smallest and largest input together
    return rows
