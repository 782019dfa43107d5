"""Replay: re-send stored failing requests byte-exact and say whether each still fails.

The body bytes, method, path and headers are exactly those stored in failures.jsonl (secret
headers, stored redacted, take their values from the scenario again, ``${VAR}`` expanded from
the environment). The answer goes through the same adapter and checks as during the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stress.repro.cases import (
    REDACTED,
    StoredRequest,
    find_case,
    find_cases,
    stored_request,
)
from stress.repro.sender import Observation, Sender, open_sender
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


def replay_case(sender: Sender, case: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Send one case once; a row with ``before``, ``now`` and ``still_fails``.

    A case still fails when the answer fails one of the checks it failed before.
    """
    request = stored_request(case, scenario)
    observation = sender.send(request, case["expect"])
    return replay_row(case, request, observation)


def replay_row(
    case: Mapping[str, Any], request: StoredRequest, observation: Observation
) -> dict[str, Any]:
    before = {f["check"] for f in case["findings"]}
    again = [f for f in observation.findings if f.check in before]
    return {
        "input_id": case["input_id"],
        "check": case["check"],
        "before": case["message"],
        "now": "; ".join(f.message for f in again) or f"passes (HTTP {observation.status})",
        "still_fails": bool(again),
        "status": observation.status,
        "body_bytes": len(request.body),
    }


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
    with open_sender(run_dir, scenario, target) as sender:
        return [replay_case(sender, case, scenario) for case in cases]
