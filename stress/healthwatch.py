"""Health under load: the target's readiness endpoint polled while the load runs.

The parent runs a `HealthWatch` (a background thread, like target.metrics' Scraper) around
the load process: once a ``interval`` (1 s) it sends the protocol's readiness request (the
one the preflight sends: ``target.health`` or the adapter's; ``health.path`` instead when set,
where any 2xx is ready), bounded by the interval, and
appends one JSON line to the run directory's health file: ``{"at": unix seconds the probe
was sent, "latency_ms", "status" (0: no answer), "ready": true|false, "error": error kind or
null}``. A target without a readiness endpoint (http-json without ``target.health``) is not
polled. The check that reads it is stress/checks/health.py.

`stress init` writes ``health.enabled`` when `find` finds a readiness endpoint that says ready:
the preflight's own readiness request where it is one (KServe's model ready, MLflow's
/health), else the first of HEALTH_PATHS answering 2xx (written as ``health.path``). An
OpenAI-style server's preflight lists its models, which says nothing of readiness: only its
/health counts.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from stress.periodic import every
from stress.scenario import Protocol, Scenario
from stress.sender import Sender
from stress.targets.base import Adapter, HttpRequest

# The readiness answer's body is not kept: only whether it said ready.
MAX_BODY_BYTES = 65_536
# `find`: protocols whose preflight readiness request is a readiness endpoint, the paths tried
# after it (any 2xx is ready), and the bound of each GET.
OWN_READINESS = (Protocol.MLFLOW, Protocol.KSERVE_V2, Protocol.KSERVE_V1, Protocol.HTTP_JSON)
HEALTH_PATHS: dict[Protocol, tuple[str, ...]] = {
    Protocol.MLFLOW: ("/ping",),
    Protocol.KSERVE_V2: ("/v2/health/ready",),
    Protocol.OPENAI_CHAT: ("/health",),
    Protocol.OPENAI_COMPLETIONS: ("/health",),
    Protocol.OPENAI_EMBEDDINGS: ("/health",),
    Protocol.HTTP_JSON: ("/health", "/ping"),
}
FIND_TIMEOUT = 5.0


class HealthWatch:
    """Polls ``adapter``'s readiness request at ``url`` every ``interval`` seconds into
    ``path`` from ``__enter__`` until ``__exit__`` (which waits at most one interval more)."""

    def __init__(
        self,
        url: str,
        adapter: Adapter,
        path: Path,
        *,
        interval: float = 1.0,
        health_path: str | None = None,
    ) -> None:
        self.url = url
        self.adapter = adapter
        # health.path: this GET, judged by its status alone; else the preflight's request.
        self.health_path = health_path
        self.request = adapter.readiness() if health_path is None else adapter.get(health_path)
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
        if reply.error_kind is None and reply.status and self.health_path is not None:
            ready = 200 <= reply.status < 300
        elif reply.error_kind is None and reply.status:
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


@dataclass(frozen=True)
class Readiness:
    """What `find` found: the GET that answered ready (None: none did), its status, and the
    ``path`` to write as health.path (None: the preflight's own readiness request); ``tried``
    says what was refused before."""

    shown: str | None
    status: int = 0
    path: str | None = None
    tried: tuple[str, ...] = ()


def find(
    scenario: Scenario, adapter: Adapter, *, transport: httpx.BaseTransport | None = None
) -> Readiness:
    """The readiness endpoint to poll through the load (at most three GETs, each bounded)."""
    protocol = scenario.target.protocol
    own = adapter.readiness() if protocol in OWN_READINESS else None
    candidates: list[tuple[HttpRequest, str | None]] = [(own, None)] if own is not None else []
    candidates += [(adapter.get(path), path) for path in HEALTH_PATHS.get(protocol, ())]
    tried: list[str] = []
    timeout = min(FIND_TIMEOUT, scenario.target.timeout)
    with httpx.Client(base_url=scenario.target.url, timeout=timeout, transport=transport) as client:
        for request, path in candidates:
            shown = f"GET {request.path.split('?')[0]}"
            try:
                response = client.request("GET", request.path, headers=request.headers)
            except httpx.HTTPError as exc:
                tried.append(f"{shown}: {type(exc).__name__}")
                continue
            status = response.status_code
            if path is None:
                ready = adapter.judge_readiness(status, response.content)[0] is True
            else:
                ready = 200 <= status < 300
            if ready:
                return Readiness(shown, status, path, tuple(tried))
            tried.append(f"{shown}: HTTP {status}")
    return Readiness(None, tried=tuple(tried))


def scenario_lines(found: Readiness | None) -> list[str]:
    """The scenario's health section as `stress init` writes it (YAML lines, commented)."""
    if found is None:
        return []
    if found.shown is None:
        tried = ", ".join(found.tried) or "this protocol has none"
        return [
            f"# health: off: no readiness endpoint answered ready ({tried}); set",
            "# health: {enabled: true, path: /your/ready} to poll one through the load.",
        ]
    lines = [
        f"{'health:':<28} # polled through the load ({found.shown} answered {found.status})",
        f"{'  enabled: true':<28} # said ready while requests stall: health_under_load",
    ]
    if found.path is not None:
        code = f"  path: {json.dumps(found.path)}"
        lines.append(f"{code:<28} # not the preflight's readiness request")
    return lines
