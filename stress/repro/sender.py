"""Send one stored request to a live target and judge the answer as the run did.

Replay, shrink and the regression corpus all go through here: the request goes out byte for
byte (httpx, one connection reused), the answer is parsed by the scenario's adapter and
judged by the scenario's checks, exactly as the load process does it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from stress import errorkinds, httpread
from stress.checks.request import Check, Exchange, Finding, run_checks, select
from stress.repro.cases import Signature, StoredRequest
from stress.rundir import layout
from stress.scenario import Scenario
from stress.targets import adapter_for
from stress.targets.base import Adapter, Outcome

BUILTIN_DEMO = "builtin:demo"
# As in the load engine (target.max_body_bytes): a runaway answer must not exhaust memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class Observation:
    """One answer (or the lack of one), judged: status, error kind, findings."""

    status: int
    error_kind: str | None
    findings: tuple[Finding, ...]
    latency_ms: float
    body_excerpt: str = ""

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def matches(self, wanted: Signature) -> bool:
        """True when this answer fails the way ``wanted`` says (same check, status class)."""
        return self.status // 100 == wanted.status_class and any(
            f.check == wanted.check for f in self.findings
        )

    def describe(self) -> str:
        if self.findings:
            return "; ".join(f.message for f in self.findings)
        if self.error_kind:
            return self.error_kind.replace("_", " ")
        return f"passes (HTTP {self.status})"


class Sender:
    """Sends stored requests to one base URL and judges the answers with the run's checks."""

    def __init__(
        self,
        client: httpx.Client,
        adapter: Adapter,
        checks: Sequence[Check],
        *,
        timeout: float,
        max_bytes: int = MAX_BODY_BYTES,
        stall: float | None = None,
    ) -> None:
        self.client = client
        self.adapter = adapter
        self.checks = list(checks)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.stall = stall
        self.sent = 0

    def send(
        self, request: StoredRequest, expect: str, *, timeout: float | None = None
    ) -> Observation:
        """Send ``request`` once; ``timeout`` (seconds, default the scenario's) bounds it all."""
        limit = self.timeout if timeout is None else timeout
        self.sent += 1
        reply = httpread.send(
            self.client,
            request.method,
            request.path,
            content=request.body,
            headers=request.headers,
            timeout=limit,
            max_bytes=self.max_bytes,
            stall=self.stall,
        )
        status, error_kind, outcome, body = reply.status, reply.error_kind, Outcome(), reply.body
        if error_kind in (None, errorkinds.STREAM_STALL):
            outcome, error_kind = httpread.judge(self.adapter, reply)
        latency_ms = reply.latency_ms
        exchange = Exchange(expect, status, error_kind, outcome, latency_ms)
        findings = tuple(run_checks(exchange, self.checks))
        excerpt = body[:EXCERPT_BYTES].decode("utf-8", "replace")
        return Observation(status, error_kind, findings, latency_ms, excerpt)


@contextlib.contextmanager
def open_sender(run_dir: Path, scenario: Scenario, target: str | None) -> Iterator[Sender]:
    """A Sender for ``target`` (default: the run's target), starting builtin:demo afresh.

    The demo server a run started is gone when the run ends (its port was random), so a
    builtin:demo target gets a new one for as long as the sender is open.
    """
    url = (target or scenario.target.url).rstrip("/")
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    checks = select(scenario.checks)
    with contextlib.ExitStack() as stack:
        if url == BUILTIN_DEMO:
            from stress.demo.process import DemoServerProcess

            server = stack.enter_context(
                DemoServerProcess(log_path=layout.replay_demo_log(run_dir))
            )
            url = server.url
        client = stack.enter_context(
            httpx.Client(
                base_url=url,
                timeout=scenario.target.timeout,
                follow_redirects=False,
                transport=httpread.transport(),
            )
        )
        yield Sender(
            client,
            adapter,
            checks,
            timeout=scenario.target.timeout,
            max_bytes=scenario.target.max_body_bytes,
            stall=scenario.target.stall_timeout,
        )
