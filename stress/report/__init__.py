"""The report stage: a run directory in; summary.json, summary.md, report.html, junit.xml out.

It reads only the run directory (never the live run), so it works on a run made yesterday on
another machine, and `stress report <run dir>` can redo it at any time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stress.report.findings import top_failures
from stress.report.html import write_html
from stress.report.junit import write_junit
from stress.report.markdown import write_markdown
from stress.report.summary import build_summary, summarise
from stress.rundir import layout
from stress.rundir.read import iter_failures, load_run
from stress.rundir.write import write_bytes

__all__ = ["build_summary", "write_html", "write_junit", "write_markdown", "write_reports"]


def write_reports(run_dir: Path) -> dict[str, Any]:
    """Write summary.json, summary.md, report.html and junit.xml into ``run_dir``.

    Returns the summary.

    Raises RunDirError when ``run_dir`` or its scenario.yaml is missing or the records cannot
    be read, and ScenarioError when scenario.yaml is not a valid scenario.
    """
    run = load_run(run_dir)
    summary = summarise(run)
    # CI may read summary.json as soon as it exists; never let it see half a file.
    write_bytes(layout.summary(run_dir), _json_bytes(summary))
    failures = top_failures(iter_failures(run_dir), summary)
    report = layout.report(run_dir)
    write_html(run_dir, summary, report, records=run.records, failures=failures)
    write_markdown(summary, layout.summary_md(run_dir), failures)
    write_junit(summary, layout.junit(run_dir))
    return summary


def _json_bytes(summary: dict[str, Any]) -> bytes:
    # allow_nan=False: summary.json is read by jq and other languages, where NaN is invalid.
    text = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A message quoting an answer can hold a lone surrogate, which UTF-8 cannot encode;
        # JSON's \udXXX escape can.
        ascii_text = json.dumps(summary, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
        return ascii_text.encode("ascii")
