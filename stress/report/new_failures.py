"""New, fixed and lasting failures between two runs (`stress compare`'s ``failures``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stress.report.pair import Side, Thresholds
from stress.rundir.read import iter_failures

# At most this many new and fixed failures are listed in compare.json.
MAX_LISTED = 200


def _failing(run: Side, shared: set[str]) -> pd.DataFrame:
    """(input_id, family, check, failed, sent): error findings per input and check, with how
    many times the check failed on the input and how many times the input was sent."""
    findings = run.data.findings
    errors = findings[findings["severity"] == "error"]
    rows = errors["row"].to_numpy()
    frame = pd.DataFrame(
        {
            "input_id": np.asarray(run.records["input_id"].array.take(rows), dtype=object),
            "family": np.asarray(run.records["family"].array.take(rows), dtype=object),
            "check": errors["check"].to_numpy(),
        }
    )
    frame = frame[frame["input_id"].isin(shared)]
    counted = frame.groupby(["input_id", "family", "check"]).size().rename("failed")
    result = counted.reset_index()
    sends = run.records["input_id"].value_counts()
    result["sent"] = sends.reindex(result["input_id"]).to_numpy()
    return result


def failures(
    base: Side, new: Side, shared: set[str], limits: Thresholds, new_dir: Path
) -> dict[str, Any]:
    """New, fixed and lasting (input, check) failures.

    A new failure failed in NEW and never in BASE. It is *consistent* when the check failed
    on every send of the input in NEW, and on more sends than the check's failure rate in NEW
    explains by luck (``_chance``): only those count against ``new_failures``. An input that
    failed once in eight sends, or on its single send, is load noise, which the error-rate
    rule judges.
    """
    before, after = _failing(base, shared), _failing(new, shared)
    keys = ["input_id", "check"]
    merged = after.merge(before[keys], on=keys, how="left", indicator=True)
    fresh = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
    consistent = fresh[
        (fresh["failed"] >= fresh["sent"]) & (_chance(fresh, new, shared) < limits.significance)
    ]
    still = int((merged["_merge"] == "both").sum())
    # Fixed: failed in BASE, and NEW sent the input without that check failing.
    sent_new = set(new.records["input_id"].unique())
    gone = before.merge(after[keys], on=keys, how="left", indicator=True)
    fixed = gone[(gone["_merge"] == "left_only") & gone["input_id"].isin(sent_new)]
    messages = _messages(new_dir)
    base_messages = _messages(base.data.run_dir)
    return {
        "new_count": len(fresh),
        "consistent_count": len(consistent),
        "fixed_count": len(fixed),
        "still_count": still,
        "regressed": len(consistent) > limits.new_failures,
        "new": _listed(fresh, messages),
        "fixed": _listed(fixed.drop(columns="_merge"), base_messages),
    }


def _chance(fresh: pd.DataFrame, new: Side, shared: set[str]) -> np.ndarray:
    """How likely NEW's own failure rate of each check makes some input fail on all of its
    sends by luck: rate ** sends × inputs tested (a union bound over the inputs)."""
    findings = new.data.findings
    per_check = findings[findings["severity"] == "error"].groupby("check")["row"].nunique()
    requests = max(len(new.records), 1)
    rate = per_check.reindex(fresh["check"]).fillna(0).to_numpy() / requests
    sent = fresh["sent"].to_numpy(dtype=float)
    return np.asarray(np.power(rate, sent) * max(len(shared), 1))


def _messages(run_dir: Path) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for item in iter_failures(run_dir):
        findings = item.get("findings")
        for finding in findings if isinstance(findings, list) else []:
            if isinstance(finding, dict):
                key = (str(item.get("input_id")), str(finding.get("check")))
                found.setdefault(key, str(finding.get("message", "")))
    return found


def _listed(frame: pd.DataFrame, messages: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    ordered = frame.sort_values(["check", "family", "input_id"]).head(MAX_LISTED)
    return [
        {
            "input_id": str(row.input_id),
            "family": str(row.family),
            "check": str(row.check),
            "failed": int(row.failed),
            "sent": int(row.sent),
            "message": messages.get((str(row.input_id), str(row.check))),
        }
        for row in ordered.itertuples(index=False)
    ]
