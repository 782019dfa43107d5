"""`stress compare` gives no regression verdict across a different load shape, seed or
corpus: exit 5, naming what differs and the flag; --allow-different-runs compares anyway
and says so in the verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report_runs import SCENARIO_YAML, record, write_run

from stress.report.compare import compare_runs
from stress.report.comparison_page import render_comparison_markdown
from stress.report.pair import ALLOW_FLAG, IncomparableRuns


def answered(seq: int) -> Any:
    return record(
        seq,
        input_id=f"in-{seq % 10:03d}",
        output_digest=f"d-{seq % 10}",
        output_tokens=20,
        finish_reason="stop",
        output_excerpt="a",
    )


def corpus(run: Path, seed: int, content: str = "same") -> None:
    lines = [
        json.dumps(
            {
                "id": f"in-{n:03d}",
                "family": "realistic.chat_prompt",
                "payload": f"{content} {n}",
                "origin": {"seed": seed, "index": n},
            }
        )
        for n in range(10)
    ]
    (run / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(tmp_path: Path, name: str, scenario: str = SCENARIO_YAML, **corpus_args: Any) -> Path:
    made = write_run(tmp_path / name, [answered(i) for i in range(60)], scenario=scenario)
    corpus(made, **({"seed": 1} | corpus_args))
    return made


SHAPES = {
    "users": (
        SCENARIO_YAML.replace("users: 4", "users: 24"),
        "load phase load: users 4 in BASE, 24 in NEW",
    ),
    "rate": (
        SCENARIO_YAML.replace("      users: 4\n", "      rate: 30\n"),
        "load phase load: users 4 in BASE, none in NEW",
    ),
    "phases": (
        SCENARIO_YAML.replace("    - name: load", "    - name: spike"),
        "load phases: [baseline, load] in BASE, [baseline, spike] in NEW",
    ),
    "seed": (SCENARIO_YAML.replace("seed: 1", "seed: 2"), "inputs.seed: 1 in BASE, 2 in NEW"),
}


@pytest.mark.parametrize("what", sorted(SHAPES))
def test_a_different_setup_gets_no_verdict(tmp_path: Path, what: str) -> None:
    scenario, difference = SHAPES[what]
    base, new = run(tmp_path, "base"), run(tmp_path, "new", scenario)
    with pytest.raises(IncomparableRuns) as refused:
        compare_runs(base, new)
    assert refused.value.exit_code == 5
    assert difference in str(refused.value)
    assert ALLOW_FLAG in str(refused.value)


def test_a_different_corpus_gets_no_verdict(tmp_path: Path) -> None:
    base, new = run(tmp_path, "base"), run(tmp_path, "new", content="other")
    with pytest.raises(IncomparableRuns, match="corpus: 10 of 10 BASE inputs are not in NEW"):
        compare_runs(base, new)


def test_the_same_bytes_under_another_origin_are_the_same_corpus(tmp_path: Path) -> None:
    # Only the origin (seed, index) of the lines differs: the inputs are the same bytes.
    base, new = run(tmp_path, "base"), run(tmp_path, "new", seed=9)
    document = compare_runs(base, new)
    assert document["differences"] == []
    assert document["corpus"]["shared_inputs"] == 10


def test_a_shortened_run_compares_with_a_full_one(tmp_path: Path) -> None:
    # --duration sizes the phases without changing their load: a verdict is given.
    shorter = SCENARIO_YAML.replace("duration: 10s", "duration: 3s")
    base, new = run(tmp_path, "base"), run(tmp_path, "new", shorter)
    assert compare_runs(base, new)["differences"] == []


def test_the_flag_gives_a_verdict_that_says_what_differs(tmp_path: Path) -> None:
    scenario, difference = SHAPES["users"]
    base, new = run(tmp_path, "base"), run(tmp_path, "new", scenario)
    document = compare_runs(base, new, allow_different=True)
    assert document["differences"] == [difference]
    assert "across 1 differences of setup" in document["message"]
    assert any(difference in note for note in document["notes"])
    markdown = render_comparison_markdown(document)
    assert "### Compared although the runs differ (--allow-different-runs)" in markdown
    assert "- load phase load: users 4 in BASE, 24 in NEW" in markdown


def test_the_command_exits_5_and_names_the_flag(tmp_path: Path) -> None:
    scenario, difference = SHAPES["seed"]
    base, new = run(tmp_path, "base"), run(tmp_path, "new", scenario)
    command = [sys.executable, "-m", "stress", "compare", str(base), str(new)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 5, refused.stderr
    said = " ".join(refused.stderr.split())
    assert difference in said
    assert ALLOW_FLAG in said
    assert not (new / "compare.json").exists()
    allowed = subprocess.run(
        [*command, ALLOW_FLAG], capture_output=True, text=True, timeout=120, check=False
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (new / "compare.json").exists()
