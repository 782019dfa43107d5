"""Output degradation under load and invariance across perturbations: the report's contract.

These are group checks (output under load vs the baseline phase for the same input; answers
to perturbed variants vs the answer to their seed input). The report does not compute them:
it shows what the checks wrote into the run directory, and says "not measured in this run"
when they wrote nothing. Whatever writes the files (the group checks, a later issue), the
report reads this shape, validated here; a malformed file becomes a note, never a crash.

``RUN_DIR/degradation.json``::

    {
      "baseline_phase": str,             # the phase the answers are compared with
      "metric": str,                     # what "degraded" means, shown on the chart, e.g.
                                         # "answer differs from the baseline answer"
      "points": [{                       # one per phase (or per load step), in load order
        "phase": str,
        "users": int | null,             # concurrency of the step
        "offered_rps": float | null,     # open-loop arrival rate, when the step had one
        "compared": int,                 # inputs answered both in the baseline and here
        "degraded": int                  # of those, answers judged degraded
      }],
      "checks": [CHECK]                  # optional: verdicts, added to summary["checks"]
    }

``RUN_DIR/invariance.json``::

    {
      "kinds": [{                        # one per perturbation kind, e.g. "typo", "case"
        "kind": str,
        "pairs": int,                    # (seed input, variant) pairs answered both
        "flips": int                     # pairs whose answer changed
      }],
      "examples": [{"kind": str, "seed_input_id": str, "variant_input_id": str,
                    "seed_output": str, "variant_output": str}],   # optional, a few
      "checks": [CHECK]                  # optional, as above
    }

    CHECK = {"name": str, "passed": bool, "message": str, "phase": str | null,
             "errors": int, "warnings": int}          # kind "group" in summary["checks"]

summary.json carries each document as read plus a computed ``share`` (degraded / compared,
flips / pairs; null when nothing was compared) under ``summary["degradation"]`` and
``summary["invariance"]``, or null when the file is absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stress.rundir import layout

GROUP = "group"


class _Invalid(ValueError):
    pass


def read_behaviour(run_dir: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """(degradation, invariance, notes) from files an external tool left in the run directory;
    None where absent. The report prefers what stress's own group checks measured."""
    notes: list[str] = []
    degradation = _read(layout.degradation(run_dir), _degradation, notes)
    invariance = _read(layout.invariance(run_dir), _invariance, notes)
    return degradation, invariance, notes


def from_group_checks(
    sections: Mapping[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(degradation, invariance) in this module's shape from the group checks' summary
    sections (stress.checks.groups.summary_sections); None for what they did not measure.

    The group checks' own per-level and per-kind lists stay in summary.json under
    ``degradation_levels`` and ``invariance_kinds``.
    """
    totals = sections.get("group_checks", {})
    levels = sections.get("degradation") or []
    degradation = None
    if levels:
        methods = totals.get("degradation", {}).get("methods") or []
        degradation = _degradation(
            {
                "baseline_phase": totals.get("degradation", {}).get("baseline", ""),
                "metric": "answers that changed under load and not when re-sent alone"
                + (f" ({', '.join(methods)})" if methods else ""),
                "points": [
                    {key: level.get(key) for key in ("phase", "users", "compared", "degraded")}
                    for level in levels
                ],
            }
        )
    kinds = sections.get("invariance") or []
    invariance = None
    if kinds:
        invariance = _invariance(
            {
                "kinds": [
                    {"kind": k.get("kind"), "pairs": k.get("compared"), "flips": k.get("flips")}
                    for k in kinds
                ]
            }
        )
    return degradation, invariance


def group_checks(document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The verdicts a behaviour document carries, as summary check entries."""
    if not document:
        return []
    return [dict(check) for check in document.get("checks", [])]


def _read(path: Path, validate: Any, notes: list[str]) -> dict[str, Any] | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        notes.append(f"{path}: unreadable ({exc}); shown as not measured")
        return None
    try:
        document = json.loads(raw)
        result: dict[str, Any] = validate(document)
    except (json.JSONDecodeError, _Invalid) as exc:
        notes.append(f"{path}: not the documented shape ({exc}); shown as not measured")
        return None
    return result


def _degradation(document: Any) -> dict[str, Any]:
    data = _object(document, "the document")
    points = []
    for index, point in enumerate(_list(data, "points")):
        item = _object(point, f"points[{index}]")
        compared = _count(item, "compared", f"points[{index}]")
        degraded = _count(item, "degraded", f"points[{index}]")
        if degraded > compared:
            raise _Invalid(
                f"points[{index}].degraded: {degraded} is more than compared ({compared})"
            )
        points.append(
            {
                "phase": _string(item, "phase", f"points[{index}]"),
                "users": _optional_number(item, "users"),
                "offered_rps": _optional_number(item, "offered_rps"),
                "compared": compared,
                "degraded": degraded,
                "share": degraded / compared if compared else None,
            }
        )
    return {
        "baseline_phase": str(data.get("baseline_phase", "")),
        "metric": str(data.get("metric", "answers judged degraded")),
        "points": points,
        "checks": _checks(data),
    }


def _invariance(document: Any) -> dict[str, Any]:
    data = _object(document, "the document")
    kinds = []
    for index, kind in enumerate(_list(data, "kinds")):
        item = _object(kind, f"kinds[{index}]")
        pairs = _count(item, "pairs", f"kinds[{index}]")
        flips = _count(item, "flips", f"kinds[{index}]")
        if flips > pairs:
            raise _Invalid(f"kinds[{index}].flips: {flips} is more than pairs ({pairs})")
        kinds.append(
            {
                "kind": _string(item, "kind", f"kinds[{index}]"),
                "pairs": pairs,
                "flips": flips,
                "share": flips / pairs if pairs else None,
            }
        )
    examples = [
        {key: str(example.get(key, "")) for key in _EXAMPLE_KEYS}
        for example in data.get("examples", [])
        if isinstance(example, Mapping)
    ]
    return {"kinds": kinds, "examples": examples[:20], "checks": _checks(data)}


_EXAMPLE_KEYS = ("kind", "seed_input_id", "variant_input_id", "seed_output", "variant_output")


def _checks(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for index, check in enumerate(data.get("checks", [])):
        item = _object(check, f"checks[{index}]")
        passed = item.get("passed")
        if not isinstance(passed, bool):
            raise _Invalid(f"checks[{index}].passed: expected true or false, got {passed!r}")
        phase = item.get("phase")
        checks.append(
            {
                "name": _string(item, "name", f"checks[{index}]"),
                "kind": GROUP,
                "phase": phase if isinstance(phase, str) else None,
                "passed": passed,
                "errors": int(item.get("errors", 0 if passed else 1) or 0),
                "warnings": int(item.get("warnings", 0) or 0),
                "message": str(item.get("message", "")),
            }
        )
    return checks


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise _Invalid(f"{key}: expected a list, got {type(value).__name__}")
    return value


def _string(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise _Invalid(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _count(item: Mapping[str, Any], key: str, where: str) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid(f"{where}.{key}: expected a count (integer >= 0), got {value!r}")
    return value


def _optional_number(item: Mapping[str, Any], key: str) -> float | None:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
