"""target.metrics: the scenario key, parsing and keeping the named series, one scrape, and
the scraper thread writing one line per scrape until it is stopped (httpx.MockTransport: no
sockets)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from stress.errors import ScenarioError
from stress.promscrape import Scraper, families, read, scrape, select
from stress.runner import load_scenario
from stress.scenario import TargetMetrics

EXPOSITION = """\
# HELP queue_depth Requests waiting
# TYPE queue_depth gauge
queue_depth 3.0
# HELP tokens_total Tokens decoded
# TYPE tokens_total counter
tokens_total{model="a"} 10.0
tokens_total{model="b"} 4.0
# HELP tokens_created Tokens decoded
# TYPE tokens_created gauge
tokens_created{model="a"} 1.7e9
# HELP other Not asked for
# TYPE other gauge
other 1.0
# HELP broken A gauge with no value
# TYPE broken gauge
broken NaN
"""

SCENARIO = """\
name: t
target:
  url: 'http://127.0.0.1:9'
  protocol: openai-chat
  metrics: {metrics}
inputs: {{seed: 1, count: 10, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
    - {{name: load, users: 1, duration: 2s}}
"""


def test_select_keeps_named_families_and_samples_only() -> None:
    kept = select(families(EXPOSITION), ["queue_depth", "tokens", "broken"])
    assert [(s["name"], s["labels"], s["value"], s["type"]) for s in kept] == [
        ("queue_depth", {}, 3.0, "gauge"),
        ("tokens_total", {"model": "a"}, 10.0, "counter"),
        ("tokens_total", {"model": "b"}, 4.0, "counter"),
        # NaN is legal in an exposition and has no JSON form: stored as null.
        ("broken", {}, None, "gauge"),
    ]
    # A sample name works as well as a family name.
    named = select(families(EXPOSITION), ["tokens_total"])
    assert [(s["name"], s["value"]) for s in named] == [
        ("tokens_total", 10.0),
        ("tokens_total", 4.0),
    ]


def test_openmetrics_counter_keeps_its_figures_not_its_created_time() -> None:
    text = (
        "# TYPE tokens counter\n"
        'tokens_total{model="a"} 10.0\n'
        'tokens_created{model="a"} 1.7e9\n'
        "# EOF\n"
    )
    kept = select(families(text, "application/openmetrics-text; version=1.0.0"), ["tokens"])
    assert [(s["name"], s["value"], s["type"]) for s in kept] == [("tokens_total", 10.0, "counter")]
    named = select(families(text, "application/openmetrics-text"), ["tokens_created"])
    assert [s["name"] for s in named] == ["tokens_created"]


def test_scrape_reports_status_and_parse_errors_as_lines() -> None:
    answers = {
        "/ok": httpx.Response(200, text=EXPOSITION),
        "/down": httpx.Response(503, text="busy"),
        "/html": httpx.Response(200, text="<html>{not metrics</html>"),
    }
    transport = httpx.MockTransport(lambda request: answers[request.url.path])
    with httpx.Client(transport=transport, base_url="http://target") as client:
        ok = scrape(client, "http://target/ok", ["queue_depth"])
        down = scrape(client, "http://target/down", ["queue_depth"])
        html = scrape(client, "http://target/html", ["queue_depth"])
    assert [s["value"] for s in ok["samples"]] == [3.0]
    assert "error" not in ok
    assert down["error"] == "ValueError: HTTP 503"
    assert "samples" not in down
    assert html["error"].startswith("ValueError")
    assert "samples" not in html


def test_scraper_writes_one_line_per_scrape_until_stopped(tmp_path: Path) -> None:
    calls: list[str] = []
    third = threading.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if len(calls) == 2:
            return httpx.Response(500)
        if len(calls) >= 3:
            third.set()
        return httpx.Response(200, text=f"# TYPE queue_depth gauge\nqueue_depth {len(calls)}\n")

    settings = TargetMetrics(url="/metrics", series=["queue_depth"], interval="50ms")
    path = tmp_path / "target-metrics.jsonl"
    with Scraper(settings, "http://target:8000/", path, transport=httpx.MockTransport(answer)):
        assert third.wait(10), "the scraper did not scrape three times"
    stopped_at = len(calls)
    lines = read(path)
    assert calls[0] == "http://target:8000/metrics"
    assert len(lines) == stopped_at >= 3
    assert lines[0]["samples"][0]["value"] == 1.0
    assert lines[1]["error"] == "ValueError: HTTP 500"
    assert lines[2]["samples"][0]["value"] == 3.0
    # Stopped means stopped: no scrape after the context ended.
    threading.Event().wait(0.2)
    assert len(calls) == stopped_at
    assert len(path.read_text().splitlines()) == stopped_at


def test_read_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"at": 1.0, "samples": []}) + '\n{"at": 2.0, "sam')
    assert read(path) == [{"at": 1.0, "samples": []}]
    assert read(tmp_path / "absent.jsonl") == []


def test_metrics_url_is_joined_to_the_target_or_taken_whole(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(SCENARIO.format(metrics="{url: /metrics, series: [a_b, 'vllm:x']}"))
    settings = load_scenario(path).target.metrics
    assert settings is not None
    assert settings.interval == 1.0
    assert settings.resolve("http://127.0.0.1:5/") == "http://127.0.0.1:5/metrics"
    other = TargetMetrics(url="http://exporter:9100/metrics", series=["a"])
    assert other.resolve("http://127.0.0.1:5") == "http://exporter:9100/metrics"


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (
            "{url: metrics, series: [a]}",
            "target.metrics.url: expected a path on the target such as /metrics or an "
            "http(s) URL, got 'metrics'",
        ),
        (
            "{url: /metrics, series: ['9lives']}",
            "target.metrics.series: '9lives' is not a Prometheus metric name",
        ),
        ("{url: /metrics, series: []}", "target.metrics.series"),
    ],
)
def test_bad_metrics_key_names_key_and_value(tmp_path: Path, metrics: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(SCENARIO.format(metrics=metrics))
    with pytest.raises(ScenarioError, match=r"x\.yaml") as raised:
        load_scenario(path)
    assert message in str(raised.value)
