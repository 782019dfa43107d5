"""stress compare: flags planted regressions; quiet on identical and on noisy-but-same runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from report_runs import record, write_run

from benchmarks.synthetic import write_synthetic_run
from stress.errors import RunDirError, UsageError
from stress.report.compare import check_distinct_outputs, compare_runs
from stress.report.comparison_page import write_comparison
from stress.report.pair import IncomparableRuns, Thresholds
from stress.report.shift import psi_categorical, psi_numeric

REQUESTS = 12_000


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    return {
        "base": write_synthetic_run(root / "base", requests=REQUESTS, seed=1),
        # Same endpoint behaviour, another night's random latencies and errors.
        "noise": write_synthetic_run(root / "noise", requests=REQUESTS, seed=2),
        "slower": write_synthetic_run(root / "slower", requests=REQUESTS, seed=1, slowdown=1.6),
        "errors": write_synthetic_run(root / "errors", requests=REQUESTS, seed=1, error_scale=3),
        "drift": write_synthetic_run(
            root / "drift", requests=REQUESTS, seed=1, changed_answers=0.2
        ),
    }


def test_identical_runs_are_quiet(runs: dict[str, Path]) -> None:
    document = compare_runs(runs["base"], runs["base"])
    assert document["regressed"] is False
    assert document["reasons"] == []
    assert document["message"].startswith("no regression")
    assert document["drift"]["share"] == 0.0
    assert document["labels"]["psi"] == 0.0
    assert document["lengths"]["psi"] == 0.0
    assert document["failures"]["new_count"] == document["failures"]["fixed_count"] == 0
    # 2,400 inputs, 12,000 random picks: a few inputs were never sent.
    assert 2300 < document["corpus"]["shared_inputs"] <= 2400
    assert json.loads(json.dumps(document, allow_nan=False)) == document


def test_another_night_of_the_same_endpoint_is_quiet(runs: dict[str, Path]) -> None:
    document = compare_runs(runs["base"], runs["noise"])
    assert document["reasons"] == []
    # Random 500s did hit other inputs, but none consistently: listed, not counted.
    failures = document["failures"]
    assert failures["new_count"] > 50
    assert failures["consistent_count"] == 0
    assert all(item["failed"] < item["sent"] or item["sent"] == 1 for item in failures["new"])


def test_a_slower_endpoint_is_a_latency_regression(runs: dict[str, Path]) -> None:
    document = compare_runs(runs["base"], runs["slower"])
    assert document["regressed"] is True
    assert document["totals"]["latency_regressed"] is True
    assert document["totals"]["p95_change"] == pytest.approx(0.6)
    assert all(row["latency_regressed"] for row in document["phases"])
    assert not any(row["errors_regressed"] for row in document["phases"])
    assert document["reasons"][0].startswith("all requests: p95 ")
    assert "(+60%, limit +25%)" in document["reasons"][0]
    assert document["drift"]["regressed"] is False


def test_more_errors_is_an_error_regression(runs: dict[str, Path]) -> None:
    document = compare_runs(runs["base"], runs["errors"])
    assert document["totals"]["errors_regressed"] is True
    assert document["totals"]["error_p_value"] < 1e-10
    assert document["totals"]["latency_regressed"] is False
    assert any(r.startswith("all requests: error rate 1.") for r in document["reasons"])


def test_changed_answers_are_behaviour_drift(runs: dict[str, Path]) -> None:
    document = compare_runs(runs["base"], runs["drift"])
    drift = document["drift"]
    assert drift["regressed"] is True
    assert drift["share"] == pytest.approx(0.2, abs=0.03)
    assert drift["base_inconsistency"] == 0.0
    assert len(drift["by_family"]) == 60
    assert drift["examples"][0]["base_output"] != drift["examples"][0]["new_output"]
    assert any(r.startswith("answers changed for ") for r in document["reasons"])
    assert not document["totals"]["latency_regressed"]


def test_thresholds_decide(runs: dict[str, Path]) -> None:
    lenient = Thresholds(latency=1.0, drift=0.5, error_rate=0.5)
    for name in ("slower", "drift", "errors"):
        assert compare_runs(runs["base"], runs[name], lenient)["regressed"] is False


def answered(seq: int, **fields: Any) -> Any:
    values = {
        "output_digest": f"d-{seq % 10}",
        "output_tokens": 20,
        "finish_reason": "stop",
        "output_excerpt": f"answer {seq % 10}",
    }
    values.update(fields)
    return record(seq, input_id=f"in-{seq % 10:03d}", **values)


def test_new_consistent_failures_fixed_ones_and_output_shifts(tmp_path: Path) -> None:
    base_rows = [answered(i, latency_ms=20.0) for i in range(100)]
    for row in base_rows:
        if row.input_id == "in-007":  # fails in BASE, fixed in NEW
            row.ok, row.failed_checks, row.status = False, ["not_a_server_error"], 500
    new_rows = [
        answered(i, latency_ms=20.0, finish_reason="length", output_tokens=48) for i in range(100)
    ]
    for row in new_rows:
        if row.input_id == "in-003":  # passes in BASE, fails on each of its 10 sends in NEW
            row.ok, row.failed_checks, row.status = False, ["response_shape"], 200
    base = write_run(tmp_path / "base", base_rows)
    new = write_run(tmp_path / "new", new_rows)
    document = compare_runs(base, new)
    failures = document["failures"]
    assert (failures["new_count"], failures["consistent_count"]) == (1, 1)
    assert failures["new"][0] | {"message": None} == {
        "input_id": "in-003",
        "family": "realistic.chat_prompt",
        "check": "response_shape",
        "failed": 10,
        "sent": 10,
        "message": None,
    }
    assert [f["input_id"] for f in failures["fixed"]] == ["in-007"]
    assert failures["regressed"] is True
    assert document["labels"]["base"] == {"stop": 100}
    assert document["labels"]["new"] == {"length": 100}
    assert document["labels"]["regressed"] is True
    assert document["lengths"]["source"] == "output_tokens"
    assert document["lengths"]["regressed"] is True
    assert document["lengths"]["ks_statistic"] == 1.0
    assert any("corpus.jsonl is missing" in note for note in document["notes"])
    paths = write_comparison(document, tmp_path / "out")
    page = paths["html"].read_text(encoding="utf-8")
    assert f"stress replay {new} --id in-003" in page
    assert "REGRESSED" in paths["md"].read_text(encoding="utf-8")


def test_inputs_with_other_bytes_are_not_compared(tmp_path: Path) -> None:
    rows = [answered(i) for i in range(40)]
    base, new = write_run(tmp_path / "base", rows), write_run(tmp_path / "new", rows)
    for run, content in ((base, "hello"), (new, "HELLO")):
        lines = [
            json.dumps({"id": f"in-{n:03d}", "payload": content if n == 1 else "same"})
            for n in range(10)
        ]
        (run / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IncomparableRuns, match="corpus: 1 of 10 BASE inputs are not in NEW"):
        compare_runs(base, new)
    document = compare_runs(base, new, allow_different=True)
    assert document["corpus"] | {"same_seed": True} == {
        "shared_inputs": 9,
        "changed_inputs": 1,
        "base_only": 0,
        "new_only": 0,
        "same_seed": True,
    }
    assert document["drift"]["compared"] == 9


def test_psi() -> None:
    assert psi_categorical({"a": 50, "b": 50}, {"a": 50, "b": 50}) == 0.0
    # 50/50 -> 90/10: (0.4 ln 1.8) + (-0.4 ln 0.2) = 0.879
    assert psi_categorical({"a": 50, "b": 50}, {"a": 90, "b": 10}) == pytest.approx(0.8789, 1e-3)
    rng = np.random.default_rng(3)
    same = psi_numeric(rng.normal(0, 1, 5000), rng.normal(0, 1, 5000))
    shifted = psi_numeric(rng.normal(0, 1, 5000), rng.normal(1, 1, 5000))
    assert same < 0.02 < 0.2 < shifted
    assert psi_numeric(np.full(10, 5.0), np.full(10, 5.0)) == 0.0


def test_errors_name_the_problem(tmp_path: Path, runs: dict[str, Path]) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        compare_runs(runs["base"], tmp_path / "missing")
    with pytest.raises(UsageError, match=r"--out .* is the BASE run directory"):
        check_distinct_outputs(runs["base"], runs["noise"], runs["base"])
