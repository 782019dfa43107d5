"""`stress history` matches inputs by their bytes: a seed change that renames the same
requests is no drift, and a seed change that keeps the ids but sends other requests does
not pass for the same inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report_runs import SCENARIO_YAML, record, write_run

from stress.report.history import build_history


def answered(seq: int, name: str, answer: str) -> Any:
    return record(
        seq,
        input_id=name,
        output_digest=f"d-{answer}",
        output_tokens=5,
        finish_reason="stop",
        output_excerpt=answer,
    )


def night(root: Path, number: int, seed: int, ids: list[str], payloads: list[str]) -> Path:
    """A run that sent input ids[i] with payloads[i]; the answer depends on the payload only."""
    rows = [answered(i, ids[i % 10], payloads[i % 10]) for i in range(40)]
    run = write_run(
        root / f"night-{number}", rows, scenario=SCENARIO_YAML.replace("seed: 1", f"seed: {seed}")
    )
    lines = [
        json.dumps(
            {
                "id": ids[n],
                "family": "realistic.chat_prompt",
                "expect": "accept",
                "kind": "prompt",
                "payload": payloads[n],
                "origin": {"seed": seed, "index": n},
            }
        )
        for n in range(10)
    ]
    (run / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    info = json.loads((run / "run.json").read_text(encoding="utf-8"))
    info["started_at"] = f"2026-01-0{number}T00:00:00+00:00"
    (run / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return run


PAYLOADS = [f"prompt {n}" for n in range(10)]


def test_the_same_bodies_under_other_ids_are_no_drift(tmp_path: Path) -> None:
    night(tmp_path, 1, 1, [f"a-{n:04d}" for n in range(10)], PAYLOADS)
    # Another seed: the same ten requests, drawn in another order under other ids.
    night(tmp_path, 2, 2, [f"a-{n:04d}" for n in range(9, -1, -1)], PAYLOADS)
    runs = build_history(tmp_path)["runs"]
    assert [Path(r["run_dir"]).name for r in runs] == ["night-1", "night-2"]
    assert runs[1]["drift_compared"] == 10
    assert runs[1]["drift"] == 0.0


def test_the_same_ids_with_other_bodies_are_not_compared(tmp_path: Path) -> None:
    ids = [f"a-{n:04d}" for n in range(10)]
    night(tmp_path, 1, 1, ids, PAYLOADS)
    night(tmp_path, 2, 2, ids, [f"other {n}" for n in range(10)])
    runs = build_history(tmp_path)["runs"]
    assert runs[1]["drift_compared"] == 0
    assert runs[1]["drift"] is None


def test_changed_answers_to_the_same_bodies_are_drift(tmp_path: Path) -> None:
    night(tmp_path, 1, 1, [f"a-{n:04d}" for n in range(10)], PAYLOADS)
    run = night(tmp_path, 2, 2, [f"b-{n:04d}" for n in range(10)], PAYLOADS)
    # Night 2 answers four of the ten prompts differently.
    changed = [
        answered(i, f"b-{i % 10:04d}", f"{PAYLOADS[i % 10]}{'!' * (i % 10 < 4)}") for i in range(40)
    ]
    write_run(run, changed, scenario=SCENARIO_YAML.replace("seed: 1", "seed: 2"))
    info = json.loads((run / "run.json").read_text(encoding="utf-8"))
    info["started_at"] = "2026-01-02T00:00:00+00:00"
    (run / "run.json").write_text(json.dumps(info), encoding="utf-8")
    runs = build_history(tmp_path)["runs"]
    assert runs[1]["drift_compared"] == 10
    assert runs[1]["drift"] == 0.4
