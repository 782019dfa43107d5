"""The regression corpus: failures of earlier runs, replayed first in every run.

A scenario names a folder (``regressions: DIR``, or ``stress run --regressions DIR``;
relative to the working directory). Every run then

1. replays each case in DIR against the target before the load starts, and writes the
   verdicts to RUN_DIR/regressions.jsonl (one row per case: ``still fails``, ``fixed`` or
   ``skipped``), so last night's failures are the first thing tried tonight;
2. after the load, saves every new failing request of the run into DIR.

One JSON file per case, named ``<family>-<12 hex of sha256(check, method, path, body)>.json``:
the same request failing the same check again (same seed, or another run) maps to the same
file, so the corpus does not grow with repeats, and files can be reviewed, committed or
deleted one by one.
``stress prune RUN_DIR`` deletes the cases that run found fixed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stress.errors import RunDirError, StressError, UsageError
from stress.repro.cases import body_of, corpus_inputs
from stress.repro.replay import replay_case
from stress.repro.sender import CaseSender, case_sender, scenario_sender
from stress.rundir import layout
from stress.rundir.read import check_run_dir, iter_failures, iter_regressions
from stress.rundir.write import write_lines
from stress.scenario import Scenario

# Replaying the corpus must not eat the run: past this, the rest is skipped (and said so).
MAX_SECONDS = 120.0
MAX_CASES = 1000
# A run that fails everywhere must not flood the corpus: new cases per run, at most.
MAX_NEW = 200

STILL_FAILS = "still fails"
FIXED = "fixed"
SKIPPED = "skipped"


def case_key(case: dict[str, Any]) -> str:
    """The corpus name of a case: its family and a digest of its check and exact request."""
    request = case["request"]
    digest = hashlib.sha256()
    check = str(case.get("check", "")).encode()
    for part in (check, request["method"].encode(), request["path"].encode(), body_of(request)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    family = str(case.get("family") or "case").replace("/", "_")
    return f"{family}-{digest.hexdigest()[:12]}"


def corpus_dir(path: str | Path) -> Path:
    """The corpus folder, created if missing; UsageError when it is a file."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"regressions: {folder} is a file; point it at a folder of regression cases "
            f"(it is created if missing), e.g. regressions/{folder.stem}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def iter_corpus(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The cases in ``folder`` in name order; files that are not a stored case are skipped."""
    for path in sorted(folder.glob("*.json")):
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(case, dict) and isinstance(case.get("request"), dict) and "check" in case:
            yield path, case


def replay_corpus(
    folder: Path,
    sender: CaseSender,
    scenario: Scenario,
    *,
    max_seconds: float = MAX_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Replay every case in ``folder`` once; one row per case with a ``verdict``."""
    rows = []
    started = clock()
    for index, (path, case) in enumerate(iter_corpus(folder)):
        row: dict[str, Any]
        if index >= MAX_CASES or clock() - started > max_seconds:
            bound = f"{MAX_CASES} cases" if index >= MAX_CASES else f"{max_seconds:g}s"
            row = _skipped(case, f"not replayed: the corpus replay is bounded to {bound}")
        else:
            try:
                row = replay_case(sender, case, scenario)
            except StressError as exc:  # a secret whose variable is not set, say
                row = _skipped(case, f"not replayed: {exc}")
            else:
                row["verdict"] = STILL_FAILS if row["still_fails"] else FIXED
        row["file"] = str(path.resolve())
        row["case"] = case
        rows.append(row)
    return rows


def _skipped(case: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "input_id": case.get("input_id"),
        "check": case.get("check"),
        "before": case.get("message"),
        "now": reason,
        "still_fails": False,
        "verdict": SKIPPED,
    }


def write_rows(run_dir: Path, rows: list[dict[str, Any]]) -> Path:
    path = layout.regressions(run_dir)
    write_lines(path, (json.dumps(row, ensure_ascii=True) for row in rows))
    return path


def save_failures(folder: Path, run_dir: Path, *, max_new: int = MAX_NEW) -> list[Path]:
    """Add the run's failing requests (error findings only) to the corpus; the new files."""
    added: list[Path] = []
    now = datetime.now(UTC).isoformat()
    failures = list(iter_failures(run_dir))
    # Each case keeps its corpus input: replayed later, it is judged with it (an injection's
    # canary, a custom check's input) as the run judged it.
    inputs = corpus_inputs(run_dir, (str(failure.get("input_id")) for failure in failures))
    for failure in failures:
        if len(added) >= max_new:
            break
        if not any(f.get("severity") == "error" for f in failure.get("findings", [])):
            continue  # warnings (an accepted invalid input, say) are not bugs to pin
        if (failure.get("post_load") or {}).get("check") == "cost_growth":
            continue  # a fit over many answers: no one case of it can be replayed alone
        key = case_key(failure)
        path = folder / f"{key}.json"
        if path.exists():
            continue
        item = inputs.get(str(failure.get("input_id")))
        case = {
            **failure,
            **({"input": dataclasses.asdict(item)} if item is not None else {}),
            "input_id": key,
            "regression": {
                "added_at": now,
                "from_run": str(run_dir),
                "from_input": failure.get("input_id"),
            },
        }
        path.write_text(json.dumps(case, ensure_ascii=True, indent=2) + "\n", encoding="utf-8")
        added.append(path)
    return added


def prune(run_dir: Path, *, dry_run: bool = False) -> list[Path]:
    """Delete from the corpus the cases ``run_dir`` found fixed; the files (to be) deleted."""
    check_run_dir(run_dir)
    path = layout.regressions(run_dir)
    if not path.is_file():
        raise RunDirError(
            f"{path}: missing; only a run whose scenario has `regressions: DIR` (or that ran "
            f"with --regressions DIR) replays a corpus, so there is nothing to prune"
        )
    removed = []
    for row in iter_regressions(run_dir):
        if row.get("verdict") != FIXED or not row.get("file"):
            continue
        case_file = Path(row["file"])
        if case_file.is_file():
            removed.append(case_file)
            if not dry_run:
                case_file.unlink()
    return removed


def replay_first(scenario: Scenario, run_dir: Path, url: str) -> list[dict[str, Any]]:
    """Replay the scenario's corpus against ``url`` (already up); rows in regressions.jsonl."""
    if scenario.regressions is None:
        return []
    folder = corpus_dir(scenario.regressions)
    with scenario_sender(url, scenario) as sender:
        rows = replay_corpus(folder, case_sender(sender, scenario), scenario)
    write_rows(run_dir, rows)
    return rows


def summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without the stored cases, for events and the console."""
    keys = ("input_id", "check", "before", "now", "verdict")
    return [{key: row.get(key) for key in keys} for row in rows]
