"""`stress compare BASE NEW`: what changed between two runs of the same scenario.

It answers "did last night's endpoint get slower, fail more, or answer differently?" from two
run directories alone:

- latency (p95) and error-rate regressions per phase, per input family and overall;
- behaviour drift on the same seeded corpus: the share of inputs whose answer changed (records
  carry ``output_digest`` per ``input_id``), label distribution shift (PSI) and answer length
  distribution shift (PSI and the two-sample Kolmogorov–Smirnov test);
- failures that are new (an input that passed a check in BASE fails it in NEW) and fixed.

Thresholds (``Thresholds``) decide what counts as a regression; any regression makes
``regressed`` true and the CLI exit 1. Each rule and its reason:

===========================  ==========================================================
regression                   when
===========================  ==========================================================
latency (phase, family,      both sides have ``min_requests``; NEW p95 > BASE p95 ×
all requests)                (1 + ``latency``) and by more than ``latency_floor_ms``,
                             and more NEW requests exceed BASE's p95 than BASE's own 5%
                             (one-sided Fisher exact test, p < the corrected significance)
error rate (same groups)     both sides have ``min_requests``; NEW − BASE error rate >
                             ``error_rate`` and a one-sided Fisher exact test gives
                             p < ``significance`` / the number of groups compared
                             (Bonferroni: 60 families must not give one false alarm a
                             night; one unlucky request is not a regression)
answers changed              share of shared inputs whose NEW answers share no digest with
                             BASE's, minus BASE's own inconsistency (inputs answered more
                             than once with different digests), > ``drift``. A sampling
                             endpoint (temperature > 0) is inconsistent with itself, so
                             only a change beyond its own noise counts
label shift                  PSI of the label distribution > ``psi`` (labels: the
                             predictions of a classifier, else the finish reason)
length shift                 PSI of the answer length > ``psi``, or KS p < ``ks_p``
                             with statistic D > ``ks_d``
new failures                 more than ``new_failures`` (input, check) pairs that
                             failed on every send of the input in NEW and on none in BASE,
                             on more sends than chance explains (the check's failure rate
                             ** sends × inputs < ``significance``); intermittent new
                             failures are listed, not counted: the error-rate rule judges
                             load noise
===========================  ==========================================================

Two runs are compared only when they share the load shape (phases: users, rates, kinds,
arrivals; durations may differ), the seed and the corpus (by the digest of each input's
bytes): otherwise a regression verdict would measure the change of setup (24 users against 8
is not a latency regression). `stress compare` refuses with exit 5, naming what differs,
unless given ``--allow-different-runs``. Drift and failures compare only inputs whose bytes
are identical in both runs, so a changed scenario does not pass for drift.
compare.json's schema is in ``compare_runs``' docstring; compare_page renders it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import stats

from stress.errors import UsageError
from stress.record import part_files
from stress.report import new_failures, shift
from stress.report.pair import ALLOW_FLAG, Side, Thresholds, differences, load_side, refuse
from stress.report.stats import json_safe, latency_stats, span_seconds
from stress.rundir import layout

SCHEMA_VERSION = 1
_MAX_EXAMPLES = 20


def compare_runs(
    base_dir: Path,
    new_dir: Path,
    thresholds: Thresholds | None = None,
    *,
    allow_different: bool = False,
) -> dict[str, Any]:
    """compare.json for BASE and NEW; raises RunDirError when either cannot be read, and
    IncomparableRuns (exit 5) when they differ in load shape, seed or corpus
    (pair.differences) unless ``allow_different``: then the differences are notes and the
    verdict's message says it was given across them.

    Schema, version 1::

        {
          "schema_version": 1,
          "base": RUN, "new": RUN,       # RUN = {"run_dir", "scenario", "started_at",
                                         #        "requests", "error_rate", "p95_ms"}
          "thresholds": {name: number},  # Thresholds as used
          "regressed": bool, "message": str,   # one line: the verdict and why
          "reasons": [str],              # one line per regression
          "notes": [str],                # what limits the comparison
          "differences": [str],          # load shape, seed, corpus (only with the flag)
          "corpus": {"shared_inputs": int, "changed_inputs": int,
                     "base_only": int, "new_only": int, "same_seed": bool},
          "totals": ROW, "phases": [ROW], "families": [ROW],
          "drift": {"compared": int, "changed": int, "share": float | null,
                    "base_inconsistency": float | null, "excess": float | null,
                    "regressed": bool,
                    "by_family": [{"family", "compared", "changed", "share"}],
                    "examples": [{"input_id", "family", "base_output", "new_output"}]},
          "labels": {"source": str | null, "base": {label: int}, "new": {label: int},
                     "psi": float | null, "regressed": bool, "note": str | null},
          "lengths": {"source": str | null, "base": DIST, "new": DIST,
                      "psi": float | null, "ks_statistic": float | null,
                      "ks_p_value": float | null, "regressed": bool,
                      "histogram": {"edges": [float], "base": [float], "new": [float]}},
          "failures": {"new_count": int,
                       "consistent_count": int,   # new ones failing on every send
                       "fixed_count": int, "still_count": int, "regressed": bool,
                       "new": [FAILURE], "fixed": [FAILURE]}   # first 200 of each
        }
        ROW = {"name": str, "base": SIDE, "new": SIDE, "p95_change": float | null,
               "error_rate_change": float | null, "error_p_value": float | null,
               "latency_p_value": float | null,  # only computed past the size thresholds
               "latency_regressed": bool, "errors_regressed": bool}
        SIDE = {"requests": int, "error_rate": float | null, "rps": float | null,
                "latency_ms": LATENCY}
        DIST = {"count": int, "p50": float | null, "p90": float | null, "mean": float | null}
        FAILURE = {"input_id": str, "family": str, "check": str, "message": str | null,
                   "failed": int, "sent": int}   # check failures and sends in that run
    """
    limits = thresholds or Thresholds()
    base, new = load_side(base_dir), load_side(new_dir)
    notes: list[str] = []
    found = differences(base, new)
    if found and not allow_different:
        refuse(found)
    notes.extend(f"compared although the runs differ ({ALLOW_FLAG}): {line}" for line in found)
    if base.data.scenario.name != new.data.scenario.name:
        notes.append(
            f"the runs are of different scenarios ({base.data.scenario.name!r} and "
            f"{new.data.scenario.name!r}); only inputs with identical bytes are compared"
        )
    shared, corpus = _shared_inputs(base, new, notes)
    groups = (
        1
        + _groups(base.records, new.records, "phase")
        + _groups(base.records, new.records, "family")
    )
    alpha = limits.significance / groups
    totals = _row("all requests", base.records, new.records, limits, alpha)
    phases = _rows("phase", base.records, new.records, limits, alpha)
    families = _rows("family", base.records, new.records, limits, alpha)
    drift = _drift(base, new, shared, limits, new_dir)
    labels = _labels(base, new, shared, limits)
    lengths = _lengths(base, new, shared, limits)
    failures = new_failures.failures(base, new, shared, limits, new_dir)
    reasons = _reasons(totals, phases, families, drift, labels, lengths, failures, limits)
    regressed = bool(reasons)
    if regressed:
        shown = "; ".join(reasons[:4])
        more = f"; and {len(reasons) - 4} more" if len(reasons) > 4 else ""
        message = f"REGRESSED: {shown}{more}"
    else:
        message = (
            f"no regression: {totals['new']['requests']} requests against "
            f"{totals['base']['requests']}, {drift['compared']} shared inputs compared"
        )
    if found:
        message += f" (across {len(found)} differences of setup: see notes)"
    document = {
        "schema_version": SCHEMA_VERSION,
        "base": _run_facts(base, base_dir),
        "new": _run_facts(new, new_dir),
        "thresholds": asdict(limits),
        "regressed": regressed,
        "message": message,
        "reasons": reasons,
        "notes": notes,
        "differences": found,
        "corpus": corpus,
        "totals": totals,
        "phases": phases,
        "families": families,
        "drift": drift,
        "labels": labels,
        "lengths": lengths,
        "failures": failures,
    }

    safe: dict[str, Any] = json_safe(document)
    return safe


def read_comparison(run_dir: Path, notes: list[str]) -> dict[str, Any] | None:
    """summary["comparison"]: the verdict of RUN_DIR/compare.json, when there is one.

    ``{"base_run": str, "regressed": bool, "message": str, "reasons": [str],
       "file": "compare.html"}``
    """
    path = layout.compare_json(run_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{path}: unreadable ({exc}); the comparison is not shown")
        return None
    if not isinstance(document, dict) or not isinstance(document.get("regressed"), bool):
        notes.append(f"{path}: not a compare.json written by `stress compare`; not shown")
        return None
    base = document.get("base")
    base = base if isinstance(base, dict) else {}
    reasons = document.get("reasons")
    return {
        "base_run": str(base.get("run_dir", "")),
        "regressed": document["regressed"],
        "message": str(document.get("message", "")),
        "reasons": [str(r) for r in reasons] if isinstance(reasons, list) else [],
        "file": layout.COMPARE_HTML,
    }


def _shared_inputs(base: Side, new: Side, notes: list[str]) -> tuple[set[str], dict[str, Any]]:
    base_ids = set(base.records["input_id"].unique())
    new_ids = set(new.records["input_id"].unique())
    sent_both = base_ids & new_ids
    base_seed = base.data.scenario.inputs.seed
    same_seed = base_seed == new.data.scenario.inputs.seed
    changed: set[str] = set()
    if base.corpus is not None and new.corpus is not None:
        changed = {i for i in sent_both if base.corpus.get(i) != new.corpus.get(i)}
    else:
        notes.append(
            "corpus.jsonl is missing from a run: inputs are matched by id alone"
            + ("" if same_seed else ", and the seeds differ, so answers may not be comparable")
        )
    if changed:
        notes.append(
            f"{len(changed)} inputs have the same id but different bytes in the two corpora "
            f"(another seed or generator version); they are left out of drift and failures"
        )
    shared = sent_both - changed
    corpus = {
        "shared_inputs": len(shared),
        "changed_inputs": len(changed),
        "base_only": len(base_ids - new_ids),
        "new_only": len(new_ids - base_ids),
        "same_seed": same_seed,
    }
    return shared, corpus


def _side(group: pd.DataFrame | None) -> dict[str, Any]:
    if group is None or group.empty:
        return {"requests": 0, "error_rate": None, "rps": None, "latency_ms": latency_stats([])}
    requests = len(group)
    duration = span_seconds(group)
    return {
        "requests": requests,
        "error_rate": float((~group["ok"].to_numpy(dtype=bool)).mean()),
        "rps": requests / duration if duration else None,
        "latency_ms": latency_stats(group["latency_ms"].to_numpy()),
    }


def _groups(base: pd.DataFrame, new: pd.DataFrame, column: str) -> int:
    return len(set(base[column].unique()) | set(new[column].unique()))


def _row(
    name: str,
    base: pd.DataFrame | None,
    new: pd.DataFrame | None,
    limits: Thresholds,
    alpha: float,
) -> dict[str, Any]:
    before, after = _side(base), _side(new)
    enough = min(before["requests"], after["requests"]) >= limits.min_requests
    p95_before, p95_after = before["latency_ms"]["p95"], after["latency_ms"]["p95"]
    p95_change = None
    latency_p = None
    latency_regressed = False
    if p95_before is not None and p95_after is not None:
        p95_change = (p95_after - p95_before) / p95_before if p95_before > 0 else None
        large = (
            p95_after > p95_before * (1 + limits.latency)
            and p95_after - p95_before > limits.latency_floor_ms
        )
        if enough and large and base is not None and new is not None:
            # Are more NEW requests slower than BASE's p95 than BASE's own 5%? A p95 from a
            # few hundred requests moves by a quarter on chance alone.
            slow_before = int((base["latency_ms"].to_numpy() > p95_before).sum())
            slow_after = int((new["latency_ms"].to_numpy() > p95_before).sum())
            table = [
                [slow_after, after["requests"] - slow_after],
                [slow_before, before["requests"] - slow_before],
            ]
            latency_p = float(stats.fisher_exact(table, alternative="greater").pvalue)
            latency_regressed = latency_p < alpha
    rate_change = None
    p_value = None
    errors_regressed = False
    if before["error_rate"] is not None and after["error_rate"] is not None:
        rate_change = after["error_rate"] - before["error_rate"]
        failed_before = round(before["error_rate"] * before["requests"])
        failed_after = round(after["error_rate"] * after["requests"])
        if rate_change > 0:
            table = [
                [failed_after, after["requests"] - failed_after],
                [failed_before, before["requests"] - failed_before],
            ]
            p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
        errors_regressed = (
            enough and rate_change > limits.error_rate and p_value is not None and p_value < alpha
        )
    return {
        "name": name,
        "base": before,
        "new": after,
        "p95_change": p95_change,
        "error_rate_change": rate_change,
        "error_p_value": p_value,
        "latency_p_value": latency_p,
        "latency_regressed": bool(latency_regressed),
        "errors_regressed": bool(errors_regressed),
    }


def _rows(
    column: str, base: pd.DataFrame, new: pd.DataFrame, limits: Thresholds, alpha: float
) -> list[dict[str, Any]]:
    # Only what a row aggregates (_side): the groups are copies, of three columns, not all.
    needed = [column, "sent_at", "latency_ms", "ok"]
    before = {str(k): g for k, g in base[needed].groupby(column, sort=False)}
    after = {str(k): g for k, g in new[needed].groupby(column, sort=False)}
    names = list(dict.fromkeys([*before, *after]))
    if column == "family":
        names.sort()
    return [_row(name, before.get(name), after.get(name), limits, alpha) for name in names]


def _answers(run: Side, shared: set[str]) -> pd.DataFrame:
    """Distinct (input_id, family, digest) of answered requests of shared inputs."""
    # The columns as pandas holds them (Arrow strings), filtered before anything is copied:
    # no Python string object per request.
    digest = run.extra["output_digest"]
    keep = (digest.notna() & run.records["input_id"].isin(shared)).to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "input_id": run.records["input_id"].array[keep],
            "family": run.records["family"].array[keep],
            "digest": digest.array[keep],
        }
    )
    return frame.drop_duplicates(["input_id", "digest"])


def _drift(
    base: Side, new: Side, shared: set[str], limits: Thresholds, new_dir: Path
) -> dict[str, Any]:
    before, after = _answers(base, shared), _answers(new, shared)
    compared_ids = set(before["input_id"]) & set(after["input_id"])
    common = before.merge(after[["input_id", "digest"]], on=["input_id", "digest"])
    changed_ids = compared_ids - set(common["input_id"])
    compared = len(compared_ids)
    share = len(changed_ids) / compared if compared else None
    # Inputs BASE answered more than once, and how many of those got different answers.
    per_input = before.groupby("input_id").size()
    repeated = _repeated_inputs(base, shared)
    inconsistency = (
        float((per_input.reindex(repeated, fill_value=1) > 1).mean()) if len(repeated) else None
    )
    excess = None if share is None else share - (inconsistency or 0.0)
    families = before.drop_duplicates("input_id").set_index("input_id")["family"]
    by_family = []
    if compared:
        flags = pd.DataFrame({"input_id": sorted(compared_ids)})
        flags["family"] = families.reindex(flags["input_id"]).to_numpy()
        flags["changed"] = flags["input_id"].isin(changed_ids)
        for family, group in flags.groupby("family", sort=True):
            by_family.append(
                {
                    "family": str(family),
                    "compared": len(group),
                    "changed": int(group["changed"].sum()),
                    "share": float(group["changed"].mean()),
                }
            )
    examples_ids = sorted(changed_ids)[:_MAX_EXAMPLES]
    base_text = _excerpts(base.data.run_dir, examples_ids)
    new_text = _excerpts(new_dir, examples_ids)
    examples = [
        {
            "input_id": input_id,
            "family": str(families.get(input_id, "")),
            "base_output": base_text.get(input_id),
            "new_output": new_text.get(input_id),
        }
        for input_id in examples_ids
    ]
    return {
        "compared": compared,
        "changed": len(changed_ids),
        "share": share,
        "base_inconsistency": inconsistency,
        "excess": excess,
        "regressed": bool(excess is not None and excess > limits.drift),
        "by_family": by_family,
        "examples": examples,
    }


def _repeated_inputs(run: Side, shared: set[str]) -> list[str]:
    answered = run.records["input_id"][run.extra["output_digest"].notna().to_numpy()]
    counts = answered[answered.isin(shared)].value_counts()
    return [str(i) for i in counts.index[counts.to_numpy() > 1]]


def _excerpts(run_dir: Path, input_ids: list[str]) -> dict[str, str]:
    """The first answer excerpt of each of ``input_ids``, read part by part (bounded memory)."""
    wanted = pa.array(input_ids, type=pa.string())
    found: dict[str, str] = {}
    if not input_ids:
        return found
    for part in part_files(layout.records(run_dir)):
        table = pq.read_table(part, columns=["input_id", "output_excerpt"])
        mask = pc.and_(pc.is_in(table["input_id"], value_set=wanted), pc.is_valid(table[1]))
        for input_id, excerpt in zip(
            *(table.filter(mask).column(i).to_pylist() for i in (0, 1)), strict=True
        ):
            found.setdefault(input_id, excerpt)
        if len(found) == len(input_ids):
            break
    return found


def _labels(base: Side, new: Side, shared: set[str], limits: Thresholds) -> dict[str, Any]:
    classifier = base.data.scenario.target.protocol.value == "mlflow"
    source = "prediction" if classifier else "finish_reason"
    before = _label_counts(base, shared, classifier)
    after = _label_counts(new, shared, classifier)
    return shift.labels(source, before, after, psi_limit=limits.psi)


def _label_counts(run: Side, shared: set[str], classifier: bool) -> dict[str, int]:
    keep = run.records["input_id"].isin(shared).to_numpy()
    if not classifier:
        values = run.extra["finish_reason"][keep].dropna()
        counts = values.value_counts()
        return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}
    # A classifier's answer digest covers the predictions; the excerpt holds them as JSON.
    labels: dict[str, int] = {}
    ids = set(run.records["input_id"][keep])
    for excerpt in _all_excerpts(run.data.run_dir, ids):
        try:
            predictions = json.loads(excerpt)
        except json.JSONDecodeError:
            continue  # cut off at the excerpt length
        for value in predictions if isinstance(predictions, list) else [predictions]:
            key = json.dumps(value, sort_keys=True)
            labels[key] = labels.get(key, 0) + 1
    return dict(sorted(labels.items()))


def _all_excerpts(run_dir: Path, input_ids: set[str]) -> Iterable[str]:
    wanted = pa.array(sorted(input_ids), type=pa.string())
    for part in part_files(layout.records(run_dir)):
        table = pq.read_table(part, columns=["input_id", "output_excerpt"])
        mask = pc.and_(pc.is_in(table["input_id"], value_set=wanted), pc.is_valid(table[1]))
        yield from table.filter(mask).column(1).to_pylist()


def _lengths(base: Side, new: Side, shared: set[str], limits: Thresholds) -> dict[str, Any]:
    tokens = all(run.extra["output_tokens"].notna().any() for run in (base, new))
    source = "output_tokens" if tokens else "response_bytes"
    before, after = _length_values(base, shared, source), _length_values(new, shared, source)
    return shift.lengths(
        source, before, after, psi_limit=limits.psi, ks_p=limits.ks_p, ks_d=limits.ks_d
    )


def _length_values(run: Side, shared: set[str], source: str) -> np.ndarray:
    answered = (run.records["status"].to_numpy() // 100 == 2) & run.records["input_id"].isin(
        shared
    ).to_numpy()
    values: np.ndarray = run.extra[source].to_numpy(dtype=float, na_value=np.nan)[answered]
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def _reasons(
    totals: Mapping[str, Any],
    phases: list[dict[str, Any]],
    families: list[dict[str, Any]],
    drift: Mapping[str, Any],
    labels: Mapping[str, Any],
    lengths: Mapping[str, Any],
    failures: Mapping[str, Any],
    limits: Thresholds,
) -> list[str]:
    reasons = []
    for kind, rows in (("", [totals]), ("phase ", phases), ("family ", families)):
        for row in rows:
            where = f"{kind}{row['name']}"
            if row["latency_regressed"]:
                before = row["base"]["latency_ms"]["p95"]
                after = row["new"]["latency_ms"]["p95"]
                reasons.append(
                    f"{where}: p95 {before:.1f} → {after:.1f} ms "
                    f"(+{row['p95_change'] * 100:.0f}%, limit +{limits.latency * 100:.0f}%)"
                )
            if row["errors_regressed"]:
                before, after = row["base"]["error_rate"], row["new"]["error_rate"]
                reasons.append(
                    f"{where}: error rate {before * 100:.2f}% → {after * 100:.2f}% "
                    f"(p = {row['error_p_value']:.2g})"
                )
    if drift["regressed"]:
        reasons.append(
            f"answers changed for {drift['changed']} of {drift['compared']} shared inputs "
            f"({drift['share'] * 100:.1f}%; BASE's own inconsistency "
            f"{(drift['base_inconsistency'] or 0) * 100:.1f}%, limit "
            f"{limits.drift * 100:.1f}% beyond it)"
        )
    if labels["regressed"]:
        reasons.append(f"{labels['source']} distribution shifted: PSI {labels['psi']:.3f}")
    if lengths["regressed"]:
        reasons.append(
            f"{lengths['source']} distribution shifted: PSI {lengths['psi']:.3f}, "
            f"KS D {lengths['ks_statistic']:.3f} (p = {lengths['ks_p_value']:.2g})"
        )
    if failures["regressed"]:
        reasons.append(
            f"{failures['consistent_count']} new failures: (input, check) pairs that failed on "
            f"every send in NEW and never in BASE (allowed: {limits.new_failures})"
        )
    return reasons


def _run_facts(run: Side, run_dir: Path) -> dict[str, Any]:
    records = run.records
    p95 = latency_stats(records["latency_ms"].to_numpy())["p95"]
    return {
        "run_dir": str(run_dir),
        "scenario": run.data.scenario.name,
        "started_at": run.data.info.started_at,
        "requests": len(records),
        "error_rate": float((~records["ok"].to_numpy(dtype=bool)).mean()) if len(records) else None,
        "p95_ms": p95,
    }


def check_distinct_outputs(base_dir: Path, new_dir: Path, out_dir: Path) -> None:
    """Raise UsageError when writing into ``out_dir`` would overwrite BASE's own comparison."""
    if out_dir.resolve() == base_dir.resolve() and base_dir.resolve() != new_dir.resolve():
        raise UsageError(
            f"--out {out_dir}: is the BASE run directory; the comparison belongs with NEW "
            f"({new_dir}) or in a folder of its own, e.g. --out {new_dir}"
        )
