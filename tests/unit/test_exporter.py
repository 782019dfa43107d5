"""--metrics-port: the run's figures as Prometheus families, built from progress lines, and
the server that serves them (on a free loopback port the test opens)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families

from stress.errors import UsageError
from stress.exporter import MetricsServer, parse_address, serving
from stress.load import events
from stress.load.collect import LATENCY_BUCKETS_MS


def progress(phase: str, **fields: Any) -> dict[str, Any]:
    line = events.Progress(
        phase=phase,
        step=None,
        users=4,
        rate=None,
        requests=10,
        late=0,
        unsent=0,
        rps=12.5,
        p95_ms=250.0,
        errors=2,
        **fields,
    )
    return line.as_dict()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


BUCKETS = [0] * (len(LATENCY_BUCKETS_MS) + 1)
BUCKETS[2], BUCKETS[5], BUCKETS[-1] = 3, 2, 1  # (10, 25] ms, (100, 250] ms, above 60 s


def test_families_are_per_phase_and_the_histogram_is_cumulative() -> None:
    server = MetricsServer("0")
    update = server.tee(lambda event: None)
    update({"event": "phase", "name": "ignored"})
    update(
        progress(
            "warm",
            phase_requests=6,
            phase_latency_buckets=BUCKETS,
            phase_latency_sum_ms=61_000.0,
            phase_error_kinds={"timeout": 1, "check": 2},
            phase_checks={"schema": 2},
            phase_families={"emoji": 3},
        )
    )
    # A line of an older load process (no phase figures) still counts.
    update(progress("load", phase_requests=4))
    figures = samples(generate_latest(server.registry).decode())
    assert figures[("stress_requests_total", (("phase", "warm"),))] == 6
    assert figures[("stress_requests_total", (("phase", "load"),))] == 4
    assert figures[("stress_errors_total", (("kind", "timeout"), ("phase", "warm")))] == 1
    assert figures[("stress_errors_total", (("kind", "check"), ("phase", "warm")))] == 2
    assert figures[("stress_findings_total", (("check", "schema"), ("phase", "warm")))] == 2
    assert figures[("stress_failed_by_family_total", (("family", "emoji"), ("phase", "warm")))] == 3
    bucket = "stress_latency_seconds_bucket"
    assert figures[(bucket, (("le", "0.01"), ("phase", "warm")))] == 0
    assert figures[(bucket, (("le", "0.025"), ("phase", "warm")))] == 3
    assert figures[(bucket, (("le", "0.25"), ("phase", "warm")))] == 5
    assert figures[(bucket, (("le", "60"), ("phase", "warm")))] == 5
    assert figures[(bucket, (("le", "+Inf"), ("phase", "warm")))] == 6
    assert figures[("stress_latency_seconds_count", (("phase", "warm"),))] == 6
    assert figures[("stress_latency_seconds_sum", (("phase", "warm"),))] == 61.0
    assert figures[("stress_latency_p95_seconds", (("phase", "load"),))] == 0.25
    assert ("stress_latency_seconds_count", (("phase", "load"),)) not in figures


def test_the_server_answers_openmetrics_while_open_and_stops_after() -> None:
    seen: list[str] = []
    with serving("127.0.0.1:0", lambda event: seen.append(event["event"]), seen.append) as feed:
        feed(progress("load", phase_requests=7))
        url = seen[0].removeprefix("metrics: ")
        accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
        answer = httpx.get(url, headers=accept, timeout=5)
        assert answer.headers["content-type"].startswith("application/openmetrics-text")
        names = {family.name for family in openmetrics(answer.text)}
        assert {"stress_requests", "stress_errors", "stress_latency_seconds"} <= names
    assert seen[1] == "progress"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


@pytest.mark.parametrize("value", ["", "http", "host:port", "70000", "-1"])
def test_a_bad_address_names_the_flag(value: str) -> None:
    with pytest.raises(UsageError, match="--metrics-port: expected a port"):
        parse_address(value)
    assert parse_address("9464") == ("127.0.0.1", 9464)
    assert parse_address("0.0.0.0:9464") == ("0.0.0.0", 9464)


def test_a_port_in_use_is_a_usage_error() -> None:
    with MetricsServer("127.0.0.1:0") as first, pytest.raises(UsageError, match="pick a free"):
        MetricsServer(f"127.0.0.1:{first.port}").__enter__()
