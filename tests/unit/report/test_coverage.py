"""Coverage stated plainly: a run that sent 28 of the 300 inputs it generated says so in
summary.json, summary.md, report.html and on the console; a glob that selected eleven
families of which one could run says "1 of 11 families ran", not "numbers.* (50%)"."""

from __future__ import annotations

import json
from pathlib import Path

from report_runs import SCENARIO_YAML, record, write_run
from rich.console import Console

from stress.console import print_summary
from stress.report import write_reports

SCENARIO = SCENARIO_YAML.replace(
    "    realistic.chat_prompt: 1\n", "    realistic.chat_prompt: 1\n    numbers.*: 1\n"
).replace("count: 10", "count: 300")
# What the corpus generated: 290 prompts and 10 inputs of the one numbers family that fit.
CORPUS = [("realistic.chat_prompt", n) for n in range(290)] + [
    ("numbers.negative", n) for n in range(10)
]


def line(family: str, n: int) -> dict[str, object]:
    return {
        "id": f"{family}-{n:04d}",
        "family": family,
        "expect": "accept",
        "kind": "prompt",
        "payload": n,
    }


def slow_run(tmp_path: Path) -> Path:
    """A run whose phases ended after 28 distinct inputs (26 prompts, 2 numbers)."""
    sent = CORPUS[:26] + CORPUS[290:292]
    rows = [
        record(i, input_id=f"{family}-{n:04d}", family=family)
        for i, (family, n) in enumerate(sent * 2)
    ]
    run = write_run(tmp_path / "run", rows, scenario=SCENARIO)
    lines = [json.dumps(line(family, n)) for family, n in CORPUS]
    (run / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run


def test_the_summary_counts_inputs_sent_of_generated_and_families_that_ran(
    tmp_path: Path,
) -> None:
    run = slow_run(tmp_path)
    summary = write_reports(run)
    coverage = json.loads((run / "summary.json").read_text(encoding="utf-8"))["coverage"]
    assert coverage == summary["coverage"]
    assert (coverage["generated"], coverage["sent"]) == (300, 28)
    assert coverage["share"] == 28 / 300
    assert (coverage["families_generated"], coverage["families_sent"]) == (2, 2)
    numbers = coverage["selections"][1]
    assert numbers["key"] == "numbers.*"
    assert (numbers["matching"], numbers["generated"], numbers["ran"]) == (11, 1, 1)
    assert (numbers["inapplicable"], numbers["excluded"]) == (10, 0)
    assert "sent 28 of 300 inputs generated (9%)" in coverage["message"]
    assert "10 of 12 selected families left out as inapplicable" in coverage["message"]
    assert coverage["message"] in summary["notes"]


def test_every_report_says_it(tmp_path: Path) -> None:
    run = slow_run(tmp_path)
    summary = write_reports(run)
    markdown = (run / "summary.md").read_text(encoding="utf-8")
    assert "sent 28 of 300 inputs generated (9%)" in markdown
    assert "numbers.\\* (50%: 1 of 11 families ran, 10 inapplicable)" in markdown
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "numbers.* (50%: 1 of 11 families ran, 10 inapplicable)" in html
    assert "numbers.* (50%)" not in html
    assert "sent 28 of 300 inputs generated (9%)" in html
    console = Console(record=True, width=400)
    print_summary(console, summary, str(run))
    assert "WARN coverage: sent 28 of 300 inputs generated (9%)" in console.export_text()


def test_a_run_that_sent_everything_says_so_quietly(tmp_path: Path) -> None:
    rows = [
        record(i, input_id=f"{family}-{n:04d}", family=family)
        for i, (family, n) in enumerate(CORPUS)
    ]
    run = write_run(tmp_path / "full", rows, scenario=SCENARIO)
    lines = [json.dumps(line(f, n)) for f, n in CORPUS]
    (run / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = write_reports(run)
    assert summary["coverage"]["message"].startswith("sent all 300 inputs generated")
    assert not any("inputs generated" in note for note in summary["notes"])
    console = Console(record=True, width=400)
    print_summary(console, summary, str(run))
    assert "WARN coverage" not in console.export_text()
