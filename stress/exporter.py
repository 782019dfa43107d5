"""`stress run --metrics-port`: the run's own figures for Prometheus while it runs.

The parent serves them (prometheus_client's HTTP server: OpenMetrics to a scraper that asks
for it, else the classic text format) from the load process's progress lines, which already
reach it once a second. Every figure is labelled with the phase; a finished phase keeps its
last figures. What is served (docs/prometheus.md):

    stress_requests_total{phase}                    requests recorded
    stress_errors_total{phase,kind}                 failed requests by error kind
                                                    ("check": answered, failed a check)
    stress_findings_total{phase,check}              failing checks
    stress_failed_by_family_total{phase,family}     failed requests by input family
    stress_latency_seconds{phase}                   latency histogram (buckets, sum, count)
    stress_users{phase}, stress_requests_per_second{phase},
    stress_latency_p95_seconds{phase}               the live figures of the running phase
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from stress.errors import UsageError
from stress.load import events
from stress.load.collect import LATENCY_BUCKETS_MS

EventHandler = Callable[[dict[str, Any]], None]


def parse_address(value: str) -> tuple[str, int]:
    """``PORT`` (on 127.0.0.1) or ``HOST:PORT``; UsageError naming the flag otherwise."""
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(
            f"--metrics-port: expected a port such as 9464 or HOST:PORT such as "
            f"0.0.0.0:9464, got {value!r}"
        )
    return host or "127.0.0.1", int(port)


class RunMetrics(Collector):
    """The figures of the latest progress line of each phase, as metric families."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phases: dict[str, events.Progress] = {}

    def update(self, event: dict[str, Any]) -> None:
        """Take one of the run's events; progress lines update their phase."""
        if event.get("event") != events.Progress.EVENT:
            return
        try:
            progress = events.from_dict(event)
        except events.BadEvent:
            return
        if isinstance(progress, events.Progress):
            with self._lock:
                self._phases[progress.phase] = progress

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            phases = dict(self._phases)
        requests = CounterMetricFamily(
            "stress_requests", "Requests recorded, by phase", labels=["phase"]
        )
        errors = CounterMetricFamily(
            "stress_errors", "Failed requests by error kind", labels=["phase", "kind"]
        )
        findings = CounterMetricFamily(
            "stress_findings", "Failing checks of the requests", labels=["phase", "check"]
        )
        families = CounterMetricFamily(
            "stress_failed_by_family",
            "Failed requests by input family",
            labels=["phase", "family"],
        )
        latency = HistogramMetricFamily(
            "stress_latency_seconds", "Request latency", labels=["phase"], unit="seconds"
        )
        users = GaugeMetricFamily("stress_users", "Users now", labels=["phase"])
        rps = GaugeMetricFamily(
            "stress_requests_per_second", "Requests/s over the last seconds", labels=["phase"]
        )
        p95 = GaugeMetricFamily(
            "stress_latency_p95_seconds", "p95 latency over the last seconds", labels=["phase"]
        )
        for name, line in phases.items():
            requests.add_metric([name], line.phase_requests or 0)
            for kind, count in sorted(line.phase_error_kinds.items()):
                errors.add_metric([name, kind], count)
            for check, count in sorted(line.phase_checks.items()):
                findings.add_metric([name, check], count)
            for family, count in sorted(line.phase_families.items()):
                families.add_metric([name, family], count)
            if line.phase_latency_buckets:
                latency.add_metric(
                    [name],
                    _cumulative(line.phase_latency_buckets),
                    line.phase_latency_sum_ms / 1000,
                )
            if line.users is not None:
                users.add_metric([name], line.users)
            rps.add_metric([name], line.rps)
            if line.p95_ms is not None:
                p95.add_metric([name], line.p95_ms / 1000)
        yield from (requests, errors, findings, families, latency, users, rps, p95)


def _cumulative(counts: list[int]) -> list[tuple[str, float]]:
    """Per-bucket counts (the last above every bound) → Prometheus le buckets in seconds."""
    bounds = [f"{bound / 1000:g}" for bound in LATENCY_BUCKETS_MS] + ["+Inf"]
    running, buckets = 0, []
    for bound, count in zip(bounds, counts, strict=False):
        running += count
        buckets.append((bound, float(running)))
    return buckets


class MetricsServer:
    """Serves a RunMetrics on ``address`` from ``__enter__`` to ``__exit__``; ``tee``
    feeds it every event on the way to another handler."""

    def __init__(self, address: str) -> None:
        self.host, self.port = parse_address(address)
        self.metrics = RunMetrics()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.metrics)
        self._server: Any = None

    def __enter__(self) -> MetricsServer:
        try:
            self._server, _ = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            raise UsageError(
                f"--metrics-port: cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                f"pick a free port"
            ) from None
        self.port = int(self._server.server_port)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def tee(self, handler: EventHandler) -> EventHandler:
        def both(event: dict[str, Any]) -> None:
            self.metrics.update(event)
            handler(event)

        return both


@contextlib.contextmanager
def serving(
    address: str | None, handler: EventHandler, say: Callable[[str], object]
) -> Iterator[EventHandler]:
    """``handler``, fed to a MetricsServer on ``address`` too while the block runs (``say``
    tells where); ``handler`` alone when ``address`` is None."""
    if address is None:
        yield handler
        return
    with MetricsServer(address) as server:
        say(f"metrics: http://{server.host}:{server.port}/metrics")
        yield server.tee(handler)
