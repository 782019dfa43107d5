"""Prometheus both ways on a real run: `stress run --metrics-port` against builtin:demo with
target.metrics on the demo's /metrics. The tester's endpoint is scraped mid-run (OpenMetrics,
parsed by prometheus_client); afterwards the run directory holds the demo's samples and
report.html charts them beside latency."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from stress.rundir import layout

pytestmark = pytest.mark.slow

SCENARIO = """\
name: prometheus
target:
  url: builtin:demo
  protocol: openai-chat
  timeout: 10s
  max_tokens: 16
  metrics:
    url: /metrics
    series: [demo_queue_depth, demo_busy_slots, demo_tokens_generated]
inputs:
  seed: 7
  count: 40
  families: {realistic.chat_prompt: 3, unicode.null_bytes: 1}
load:
  phases:
    - {name: load, users: 6, spawn_rate: 6, duration: 8s}
"""
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_the_testers_and_the_targets_metrics_are_scraped(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yaml").write_text(SCENARIO, encoding="utf-8")
    command = [sys.executable, "-m", "stress", "run", "prometheus.yaml", "--out", "reports"]
    with subprocess.Popen(
        [*command, "--metrics-port", "127.0.0.1:0"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        scrape_mid_run(child)
    assert child.returncode == 1  # the demo's NUL quirk fails checks
    (run_dir,) = (tmp_path / "reports").iterdir()
    scrapes = [json.loads(line) for line in layout.target_metrics(run_dir).read_text().splitlines()]
    assert len(scrapes) >= 5
    assert all("error" not in scrape for scrape in scrapes)
    names = {sample["name"] for scrape in scrapes for sample in scrape["samples"]}
    assert names == {"demo_queue_depth", "demo_busy_slots", "demo_tokens_generated_total"}
    busiest = max(
        sample["value"]
        for scrape in scrapes
        for sample in scrape["samples"]
        if sample["name"] == "demo_busy_slots"
    )
    assert busiest >= 1
    tokens = [
        sample["value"]
        for scrape in scrapes
        for sample in scrape["samples"]
        if sample["name"] == "demo_tokens_generated_total"
    ]
    assert tokens[-1] > tokens[0]
    report = layout.report(run_dir).read_text(encoding="utf-8")
    assert 'id="chart-target-metrics"' in report
    assert "demo_busy_slots" in report


def scrape_mid_run(child: subprocess.Popen[str]) -> None:
    """Find the tester's endpoint in the run's output, scrape it while the load runs (until
    requests and a failure show up), check its families, then let the run finish."""
    lines: queue.Queue[str] = queue.Queue()
    stderr = child.stderr
    assert stderr is not None
    threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True).start()
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = lines.get(timeout=60)
            if line.startswith("metrics: "):
                url = line.removeprefix("metrics: ").strip()
        assert url, "stress run did not say where it serves its metrics"
        # Mid-run: scrape until requests and a failure (the NUL prompts' 500s) show up.
        seen: dict[str, list[tuple[str, dict[str, str], float]]] = {}
        for _ in range(120):
            answer = httpx.get(url, headers=OPENMETRICS, timeout=5)
            assert answer.headers["content-type"].startswith("application/openmetrics-text")
            seen = families(answer.text)
            if seen["stress_requests"] and seen["stress_findings"]:
                break
            time.sleep(0.25)
        assert child.poll() is None, "the run ended before a scrape saw its figures"
        requests = {labels["phase"]: value for _, labels, value in seen["stress_requests"]}
        assert requests["load"] > 0
        kinds = {labels["kind"] for _, labels, _ in seen["stress_errors"]}
        assert kinds == {"http_5xx"}, seen["stress_errors"]  # the NUL prompts answer 500
        checks = {labels["check"] for _, labels, _ in seen["stress_findings"]}
        assert checks
        failed = {labels["family"] for _, labels, _ in seen["stress_failed_by_family"]}
        assert failed == {"unicode.null_bytes"}
        count = [v for name, _, v in seen["stress_latency_seconds"] if name.endswith("_count")]
        infinite = [
            v for name, labels, v in seen["stress_latency_seconds"] if labels.get("le") == "+Inf"
        ]
        assert count == infinite
        assert count[0] > 0
        child.wait(timeout=240)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
