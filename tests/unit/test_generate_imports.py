"""`stress generate` starts light: what only a run, a report or a log needs is not imported
(pyarrow and NumPy's start-up, pandas, plotly, the log scrubber's phone and name data, the
load package where the scenario has no trace phase), nor
Faker (the vocabulary's pools are stored with the package), nor Hypothesis where no family
draws with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stress import record
from stress.targets import base

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from stress.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    assert stop.code in (0, None), stop.code
heavy = ("pyarrow", "pandas", "plotly", "scipy", "locust", "stress.record", "stress.logs.seeds",
         "faker", "hypothesis", "stress.load")
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy)))
"""


def test_generate_imports_nothing_a_run_or_a_report_needs(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        'name: s\ntarget: {url: "http://127.0.0.1:9", protocol: openai-chat}\n'
        "inputs: {seed: 1, count: 30, families: {realistic.*: 1, numbers.*: 1}}\n"
        "load: {phases: [{name: p, users: 1, duration: 1s}]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "corpus.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "generate", str(scenario), "-o", str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == ""
    assert len(out.read_text(encoding="ascii").splitlines()) == 30


def test_the_adapters_keep_the_excerpt_length_of_the_records() -> None:
    assert base.EXCERPT_CHARS == record.EXCERPT_CHARS
