"""target.metrics: scrape the target's Prometheus endpoint while the load runs.

The parent runs a `Scraper` (a background thread) around the load process: every
``interval`` it GETs the endpoint (bounded by the interval), keeps the samples of the
scenario's ``series`` and appends one JSON line to the run directory's target-metrics file,
``{"at": unix seconds, "samples": [{"name", "labels", "value", "type"}]}``, or ``{"at",
"error"}`` when the scrape failed: a target without metrics is a note in the report, never a
failed run. The exposition is parsed by prometheus_client (the classic text format, or
OpenMetrics when the endpoint answers with it).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from prometheus_client.metrics_core import Metric

from stress.periodic import every
from stress.scenario import TargetMetrics

# Ask for the classic text format; a server that only speaks OpenMetrics says so in its
# Content-Type and is parsed as such.
ACCEPT = "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5"
# A line's error text is cut here (an HTML error page is not worth keeping whole).
MAX_ERROR_CHARS = 300


def families(text: str, content_type: str = "text/plain") -> list[Metric]:
    """The metric families of one exposition; ValueError when it cannot be parsed."""
    if content_type.partition(";")[0].strip().lower() == "application/openmetrics-text":
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as om

        return list(om(text))  # type: ignore[no-untyped-call]
    from prometheus_client.parser import text_string_to_metric_families

    return list(text_string_to_metric_families(text))


def select(metrics: Iterable[Metric], series: Iterable[str]) -> list[dict[str, Any]]:
    """The samples whose family name or sample name is one of ``series``."""
    wanted = set(series)
    return [
        {
            "name": sample.name,
            "labels": dict(sample.labels),
            # NaN and infinities (legal in an exposition) are stored as null: JSON has none.
            "value": float(sample.value) if math.isfinite(sample.value) else None,
            "type": family.type,
        }
        for family in metrics
        for sample in family.samples
        # A counter's _created sample is a timestamp, not a figure: kept only when named.
        if sample.name in wanted or (family.name in wanted and not sample.name.endswith("_created"))
    ]


def scrape(client: httpx.Client, url: str, series: Iterable[str]) -> dict[str, Any]:
    """One scrape as the line to store: its time and samples, or its error."""
    at = time.time()
    try:
        response = client.get(url, headers={"Accept": ACCEPT})
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}")
        metrics = families(response.text, response.headers.get("content-type", "text/plain"))
        return {"at": at, "samples": select(metrics, series)}
    except (httpx.HTTPError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return {"at": at, "error": error[:MAX_ERROR_CHARS]}


class Scraper:
    """Scrapes ``url`` every ``settings.interval`` into ``path`` from a background thread,
    from ``__enter__`` until ``__exit__`` (which waits at most about one interval more)."""

    def __init__(
        self,
        settings: TargetMetrics,
        base_url: str,
        path: Path,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = settings.resolve(base_url)
        self.series = list(settings.series)
        self.interval = settings.interval
        self.path = path
        self._transport = transport
        self.scrapes = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="target-metrics", daemon=True)

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * self.interval + 1)

    def _run(self) -> None:
        timeout = httpx.Timeout(self.interval)
        with (
            httpx.Client(timeout=timeout, transport=self._transport) as client,
            self.path.open("a", encoding="utf-8") as out,
        ):

            def step() -> None:
                line = scrape(client, self.url, self.series)
                self.scrapes += 1
                self.failed += "error" in line
                out.write(json.dumps(line, allow_nan=False, default=str) + "\n")
                out.flush()

            every(self.interval, self._stop, step)


def read(path: Path) -> list[dict[str, Any]]:
    """The stored scrapes (an absent file: none; a torn last line is skipped)."""
    from stress.rundir.read import iter_objects

    return [line for line in iter_objects(path) if "at" in line]
