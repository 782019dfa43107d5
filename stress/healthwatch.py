"""Health under load: the target's readiness endpoint polled while the load runs.

The parent runs a `HealthWatch` (a background thread, like target.metrics' Scraper) around
the load process: once a ``interval`` (1 s) it sends the protocol's readiness request (the
one the preflight sends: ``target.health`` or the adapter's), bounded by the interval, and
appends one JSON line to the run directory's health file: ``{"at": unix seconds the probe
was sent, "latency_ms", "status" (0: no answer), "ready": true|false, "error": error kind or
null}``. A target without a readiness endpoint (http-json without ``target.health``) is not
polled. The check that reads it is stress/checks/health.py.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from stress.periodic import every
from stress.sender import Sender
from stress.targets.base import Adapter

# The readiness answer's body is not kept: only whether it said ready.
MAX_BODY_BYTES = 65_536


class HealthWatch:
    """Polls ``adapter``'s readiness request at ``url`` every ``interval`` seconds into
    ``path`` from ``__enter__`` until ``__exit__`` (which waits at most one interval more)."""

    def __init__(self, url: str, adapter: Adapter, path: Path, *, interval: float = 1.0) -> None:
        self.url = url
        self.adapter = adapter
        self.request = adapter.readiness()
        self.path = path
        self.interval = interval
        self.probes = 0
        self.not_ready = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-watch", daemon=True)

    def __enter__(self) -> HealthWatch:
        if self.request is not None:
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.interval + 1)

    def probe(self, sender: Sender) -> dict[str, Any]:
        """One probe as the line to store."""
        request = self.request
        assert request is not None
        at = time.time()
        started = time.perf_counter()
        reply = sender.send(
            request.method, request.path, request.headers, request.body, timeout=self.interval
        )
        latency_ms = (time.perf_counter() - started) * 1000
        ready = False
        if reply.error_kind is None and reply.status:
            ready = self.adapter.judge_readiness(reply.status, reply.body)[0] is True
        return {
            "at": at,
            "latency_ms": round(latency_ms, 3),
            "status": reply.status,
            "ready": ready,
            "error": reply.error_kind,
        }

    def _run(self) -> None:
        with (
            Sender(self.url, timeout=self.interval, max_bytes=MAX_BODY_BYTES) as sender,
            self.path.open("a", encoding="utf-8") as out,
        ):

            def step() -> None:
                line = self.probe(sender)
                self.probes += 1
                self.not_ready += not line["ready"]
                out.write(json.dumps(line) + "\n")
                out.flush()

            every(self.interval, self._stop, step)


def read(path: Path) -> list[dict[str, Any]]:
    """The stored probes (an absent file: none; a torn last line is skipped)."""
    from stress.rundir.read import iter_objects

    return [line for line in iter_objects(path) if isinstance(line.get("at"), int | float)]
