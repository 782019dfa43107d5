"""report.html in a real browser: headless Chromium renders every chart, runs no payload.

Chromium prints the DOM after the page's scripts ran (--dump-dom). If a hostile input from a
failure executed, it would show there: the title changed, an attribute set on <body>, an
<img> or javascript: link created. Debian's chromium package (/usr/bin/chromium) is what
.ci/run installs; without it the test is skipped, saying so.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from report_runs import record, standard_failures, standard_records, write_run

from stress.report import write_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (.ci/run installs it: apt-get install -y chromium)",
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# A cold Chromium start with 5 MB of inline plotly.js takes a few seconds on 2 busy cores.
TIMEOUT_S = 90
PAYLOADS = (
    "<script>document.title='PWNED'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">",
    "<a href=\"javascript:document.body.setAttribute('data-pwned','link')\">click me</a>",
    "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>",
    "\"><script>document.body.setAttribute('data-pwned','attr')</script>",
)
HOSTILE_FAMILY = "<img src=x onerror=\"document.body.setAttribute('data-pwned','label')\">"
CHARTS = (
    "chart-heatmap",
    "chart-heatmap-all",  # every family and check, in a collapsed <details>
    "chart-latency",
    "chart-throughput",
    "chart-errors",
    "chart-concurrency",
    "chart-histogram",
    "chart-family-latency",
)


@pytest.fixture(scope="module")
def dom(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("browser")
    rows = standard_records()
    # A family name and a check name are labels in the charts (heatmap, latency by family).
    rows += [
        record(100 + i, family=HOSTILE_FAMILY, phase="load", users=4, latency_ms=50.0 + i)
        for i in range(5)
    ]
    rows[-1].ok, rows[-1].failed_checks = False, [PAYLOADS[4]]
    failures = standard_failures(rows)
    for position, payload in enumerate(PAYLOADS):
        item = dict(failures[position % len(failures)])
        item["input_id"] = f"evil-{position}{payload}"
        item["family"] = payload
        item["message"] = payload
        item["findings"] = [{"check": payload, "message": payload, "severity": "error"}]
        item["request"] = dict(item["request"], body=payload)
        item["response"] = dict(item["response"], body_excerpt=payload)
        failures.append(item)
    run_dir = write_run(root / "run", rows, failures)
    write_reports(run_dir)
    profile = root / "profile"
    profile.mkdir()
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            run_dir.as_uri() + "/report.html",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def chart_segments(dom: str) -> dict[str, str]:
    pattern = re.compile(r'<div id="(chart-[\w-]+)" class="plotly-graph-div js-plotly-plot"')
    starts = [(m.start(), m.group(1)) for m in pattern.finditer(dom)]
    ends = [start for start, _ in starts[1:]] + [len(dom)]
    return {name: dom[start:end] for (start, name), end in zip(starts, ends, strict=True)}


def test_every_chart_renders(dom: str) -> None:
    segments = chart_segments(dom)
    # js-plotly-plot is the class plotly.js adds once it drew the chart.
    assert list(segments) == list(CHARTS)
    for name, segment in segments.items():
        assert 'class="main-svg"' in segment, name
        assert "xtick" in segment, name  # axes were laid out
    for name in ("chart-latency", "chart-throughput", "chart-family-latency"):
        assert 'class="trace ' in segments[name]
    assert 'class="hm"' in segments["chart-heatmap"]


def test_hostile_payloads_do_not_execute(dom: str) -> None:
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert "data-pwned" not in body.group()
    # An attribute set by a payload would serialise as data-pwned="..." on some element.
    assert not re.search(r"<[a-z][^<>]*\sdata-pwned=", dom)
    titles = re.findall(r"<title>([^<]*)", dom)
    assert titles[0] == "stress: report-test FAILED"
    assert "PWNED" not in titles
    # No element came from a payload: no <img src=x>, no javascript: link, no <svg onload>.
    assert not re.search(r"<img[^>]*src=\"x\"", dom)
    assert not re.search(r"<a[^>]*href=\"javascript:", dom, re.IGNORECASE)
    assert not re.search(r"<svg[^>]*onload", dom, re.IGNORECASE)
    assert not re.search(r"<script>document\.", dom)


def test_payloads_are_shown_as_text(dom: str) -> None:
    # In the tables and in the chart labels, as the characters the input held.
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    heatmap = chart_segments(dom)["chart-heatmap"]
    assert "&lt;img src=x onerror=" in heatmap
