"""summary.md: the verdict for a CI job summary, with everything from the run escaped."""

from __future__ import annotations

from pathlib import Path

from report_runs import standard_failures, standard_records, write_run

from stress.report import write_reports
from stress.report.markdown import code, escape, render_markdown


def test_summary_md_has_verdict_failures_phases_and_repro(run_dir: Path) -> None:
    write_reports(run_dir)
    text = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("## ❌ stress: report-test FAILED\n")
    assert "| 60 | 2 | 3.33% | 105 | 370 | 394 | 15.2 s |" in text  # rounded for people
    assert "- **not\\_a\\_server\\_error**: 1 of 60 requests failed" in text
    assert "- **slo.p95\\_ms** (phase load): phase 'load': p95 latency 380.5 ms" in text
    assert "| load | 4 | 40 | 3.94 | 5% | 205 | 380 | 396 |" in text
    assert "| realistic.chat\\_prompt | 40 | 1 | 2.5% | not\\_a\\_server\\_error: 1 |" in text
    assert f"`stress replay {run_dir} --id in-020`" in text
    assert f"`stress repro {run_dir} --id in-020 --format curl`" in text
    assert f"`{run_dir}/report.html`" in text


def test_hostile_messages_cannot_break_tables_or_inject_html(tmp_path: Path) -> None:
    rows = standard_records()
    rows[20].failed_checks = ["x|y<script>alert(1)</script>"]
    failures = standard_failures(rows)
    failures[0]["findings"][0]["message"] = "a | b\n## heading `tick` [link](javascript:alert(1))"
    run_dir = write_run(tmp_path / "run", rows, failures)
    summary = write_reports(run_dir)
    text = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script\\>" in text
    assert "](javascript:" not in text
    assert "\n## heading" not in text
    for line in text.splitlines():
        if line.startswith("| realistic.chat\\_prompt"):
            # Five columns: six unescaped pipes.
            assert line.replace("\\|", "").count("|") == 6
    assert render_markdown(summary) == render_markdown(summary)


def test_escape_and_code() -> None:
    assert escape("a|b <i>*x*</i> [l](u)") == "a\\|b &lt;i\\>\\*x\\*&lt;/i\\> \\[l\\](u)"
    # The backslash of the visible code is itself escaped, so Markdown shows it.
    assert escape("line\nbreak\x00") == "line break\\\\u0000"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
