"""The summary's ``limits`` section: the server's limits, as declared (target.limits, which
`stress init` fills by probing) and as its refusals named them during the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stress.checks import limits
from stress.rundir.read import iter_failures
from stress.scenario import Scenario


def limits_section(run_dir: Path, scenario: Scenario) -> dict[str, Any]:
    """``{"declared": {kind: value}, "found": [{kind, value, refusals, evidence}]}``: one
    entry per (kind, value) a refusal named, in the order first seen."""
    found: dict[tuple[str, int | None], dict[str, Any]] = {}
    for item in iter_failures(run_dir):
        findings = item.get("findings")
        if not isinstance(findings, list) or not any(
            isinstance(f, dict) and f.get("check") == "server_limit" for f in findings
        ):
            continue
        response = item.get("response")
        if not isinstance(response, dict) or not isinstance(response.get("status"), int):
            continue
        limit = limits.parse(response["status"], str(response.get("body_excerpt") or ""))
        if limit is None:
            continue
        entry = found.setdefault(
            (limit.kind, limit.value),
            {"kind": limit.kind, "value": limit.value, "refusals": 0, "evidence": limit.evidence},
        )
        entry["refusals"] += 1
    return {"declared": scenario.target.limits.known(), "found": list(found.values())}
