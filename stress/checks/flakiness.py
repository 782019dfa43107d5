"""Flakiness: every failing input, re-sent alone a few times after the run, classified.

==============  ==========================================================================
class           meaning
==============  ==========================================================================
deterministic   every re-send fails again: a plain bug, reproducible with one request
flaky           some re-sends fail and some pass, or it passes alone but also failed in
                the low-concurrency baseline: it fails at random
load_only       failed only in phases above the baseline and passes every re-send alone:
                a capacity or concurrency bug
unknown         no re-send got an HTTP answer (the target went away after the run)
not_resent      beyond flakiness.max_inputs or the time budget
==============  ==========================================================================

"Fails" means a finding whose severity is in the scenario's ``fail_on``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stress.checks.request import CONNECTION_KINDS
from stress.checks.resend import Resend

FLAKINESS = "flakiness"
CLASSES = ("deterministic", "flaky", "load_only", "unknown", "not_resent")
COLUMNS = (
    "seq",
    "worker",
    "input_id",
    "family",
    "phase",
    "failed_checks",
    "warned_checks",
    "info_checks",
)
_BY_SEVERITY = {"error": "failed_checks", "warning": "warned_checks", "info": "info_checks"}


@dataclass(frozen=True)
class Failing:
    """An input with at least one failing finding during the load."""

    input_id: str
    family: str
    checks: tuple[str, ...]
    phases: tuple[str, ...]
    requests: int


def failing_inputs(records: pd.DataFrame, fail_on: Sequence[str]) -> list[Failing]:
    """Inputs that failed, in the order of their first failure; ``records`` needs COLUMNS.

    Vectorised in Arrow (the check lists flattened to (row, check) pairs): a million records
    take the time of their failing rows, not a Python loop over every row."""
    columns = [_BY_SEVERITY[severity] for severity in fail_on if severity in _BY_SEVERITY]
    columns = [column for column in columns if column in records.columns]
    if records.empty or not columns:
        return []
    order = np.lexsort((records["worker"].to_numpy(), records["seq"].to_numpy()))
    positions: list[np.ndarray] = []
    names: list[np.ndarray] = []
    for column in columns:
        lists = _list_array(records[column])
        if len(lists) == 0:
            continue
        positions.append(pc.list_parent_indices(lists).to_numpy().astype("int64"))
        names.append(pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(object))
    rows = np.concatenate(positions) if positions else np.array([], dtype="int64")
    if not len(rows):
        return []
    # Rank of each record in (seq, worker) order: failing rows are visited in that order.
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(len(order))
    pairs = pd.DataFrame(
        {
            "rank": rank[rows],
            "input_id": records["input_id"].to_numpy(dtype=object)[rows].astype(str),
            "check": np.concatenate(names).astype(str),
        }
    )
    failing = np.unique(rows)
    failed = pd.DataFrame(
        {
            "rank": rank[failing],
            "input_id": records["input_id"].to_numpy(dtype=object)[failing].astype(str),
            "family": records["family"].to_numpy(dtype=object)[failing].astype(str),
            "phase": records["phase"].to_numpy(dtype=object)[failing].astype(str),
        }
    ).sort_values("rank", kind="stable")
    requests = failed.groupby("input_id", sort=False).size()
    phases = failed.drop_duplicates(["input_id", "phase"]).groupby("input_id", sort=False)["phase"]
    checks = pairs.drop_duplicates(["input_id", "check"]).groupby("input_id")["check"]
    phases_of = {key: tuple(values) for key, values in phases}
    checks_of = {str(key): tuple(sorted(values)) for key, values in checks}
    first = failed.drop_duplicates("input_id")
    return [
        Failing(input_id, family, checks_of[input_id], phases_of[input_id], int(requests[input_id]))
        for input_id, family in zip(first["input_id"], first["family"], strict=True)
    ]


def _list_array(column: pd.Series) -> pa.Array:
    """A list<string> column as one Arrow array (no copy when pandas holds it in Arrow)."""
    array = pa.array(column, type=pa.list_(pa.string()), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def classify(
    failing: Failing, attempts: Sequence[Resend], fail_on: Sequence[str], baseline: str
) -> dict[str, object]:
    """The summary entry of one failing input, given its re-sends."""
    failed = [a for a in attempts if any(severity in fail_on for _, severity in a.findings)]
    again = sorted({c for a in failed for c, severity in a.findings if severity in fail_on})
    if not attempts:
        verdict = "not_resent"
    elif all(a.status == 0 and a.error_kind in CONNECTION_KINDS for a in attempts):
        verdict = "unknown"
    elif len(failed) == len(attempts):
        verdict = "deterministic"
    elif failed or baseline in failing.phases:
        verdict = "flaky"
    else:
        verdict = "load_only"
    return {
        "input_id": failing.input_id,
        "family": failing.family,
        "checks": list(failing.checks),
        "phases": list(failing.phases),
        "requests": failing.requests,
        "class": verdict,
        "attempts": len(attempts),
        "failed_attempts": len(failed),
        "checks_again": again,
    }


def summarise(
    failing: Sequence[Failing],
    resends: Iterable[Resend],
    fail_on: Sequence[str],
    baseline: str,
) -> dict[str, object]:
    """summary.json's "flakiness": counts per class and one entry per failing input."""
    attempts: dict[str, list[Resend]] = {}
    for resend in resends:
        if resend.purpose == FLAKINESS:
            attempts.setdefault(resend.input_id, []).append(resend)
    inputs = [classify(f, attempts.get(f.input_id, []), fail_on, baseline) for f in failing]
    counts = dict.fromkeys(CLASSES, 0)
    for entry in inputs:
        counts[str(entry["class"])] += 1
    return {"counts": counts, "inputs": inputs}
