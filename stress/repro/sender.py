"""Send one stored request to a live target and judge the answer as the run did.

Replay, shrink and the regression corpus all go through here: the request goes out byte for
byte through the parent's one sender (stress.sender: bounded, no header the input did not
give, a new connection where the server closed the last one), and the answer is judged by
the one judgement (stress.checks.judge) with the scenario's CheckSuite: its severity
overrides, custom checks and answer settings, and the corpus input when the run directory
still has it (an injection's canary, a custom check's input), exactly as the load did.

Each stored request goes out on a new connection (what the case met is its own, not the
state a case before it left a connection in). A connection_dropped_after_answer case blames
an answer after which the server dropped the kept connection: ``send_and_follow`` sends the
blamed request, then a second one on the same kept connection, and adds the finding again
when the server drops that connection under it once more (stress.sender's rule: the second
request, sent again on a new connection, got an answer).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from stress import defaults
from stress.checks import connection
from stress.checks.judge import judge
from stress.checks.request import CheckSuite, Finding
from stress.inputs.corpus import Input
from stress.repro.cases import Signature, StoredRequest
from stress.rundir import layout
from stress.scenario import Scenario
from stress.sender import Sender
from stress.targets import adapter_for
from stress.targets.base import Adapter, HttpRequest

BUILTIN_DEMO = "builtin:demo"
EXCERPT_BYTES = defaults.EXCERPT_BYTES


@dataclass(frozen=True)
class Observation:
    """One answer (or the lack of one), judged: status, error kind, findings."""

    status: int
    error_kind: str | None
    findings: tuple[Finding, ...]
    latency_ms: float
    body_excerpt: str = ""
    # The answer's output tokens as the protocol read them (slow_generation's re-judgement).
    output_tokens: int | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def pairs(self) -> set[tuple[str, str]]:
        """Every (check, severity) of the findings."""
        return {(f.check, f.severity) for f in self.findings}

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


class CaseSender:
    """Sends stored requests through ``sender`` and judges the answers with ``suite``."""

    def __init__(
        self,
        sender: Sender,
        adapter: Adapter,
        suite: CheckSuite,
        *,
        inputs: Mapping[str, Input] | None = None,
    ) -> None:
        self.sender = sender
        self.adapter = adapter
        self.suite = suite
        self.inputs = dict(inputs or {})

    @property
    def timeout(self) -> float:
        return self.sender.timeout

    @property
    def sent(self) -> int:
        return self.sender.sent

    def send(
        self,
        request: StoredRequest,
        expect: str,
        *,
        timeout: float | None = None,
        input_id: str | None = None,
        item: Input | None = None,
        fresh: bool = True,
    ) -> Observation:
        """Send ``request`` once; ``timeout`` (seconds, default the scenario's) bounds it all.

        The answer is judged with the corpus input ``item``, else the one the run directory
        holds for ``input_id``, else without one (input-dependent checks then stay silent).
        ``fresh``: on a new connection (else on the one the last request kept).
        """
        if fresh:
            self.sender.fresh()
        reply = self.sender.send(
            request.method, request.path, request.headers, request.body, timeout=timeout
        )
        if item is None and input_id is not None:
            item = self.inputs.get(input_id)
        verdict = judge(
            self.adapter,
            self.suite,
            reply,
            expect=expect,
            latency_ms=reply.latency_ms,
            item=item,
            request=HttpRequest(request.method, request.path, request.headers, request.body),
        )
        excerpt = reply.body[:EXCERPT_BYTES].decode("utf-8", "replace")
        return Observation(
            reply.status,
            verdict.error_kind,
            verdict.findings,
            reply.latency_ms,
            excerpt,
            verdict.outcome.output_tokens,
        )

    def send_and_follow(
        self,
        request: StoredRequest,
        expect: str,
        follow: Follow,
        *,
        input_id: str,
        item: Input | None = None,
    ) -> Observation:
        """``request`` on a new connection, then ``follow`` on the connection it kept: the
        judged observation of ``request``'s answer, with connection_dropped_after_answer
        added when the server dropped the kept connection under ``follow`` before any byte
        of its answer and ``follow``, sent again on a new connection, got one."""
        observation = self.send(request, expect, item=item)
        self.sender.send(follow.method, follow.path, follow.headers, follow.body)
        if not self.sender.blames_previous:
            return observation
        default = connection.DEFAULT_SEVERITY[connection.DROPPED]
        finding = connection.dropped_after(
            input_id,
            observation.status,
            follow.input_id,
            severity=self.suite.severity.get(connection.DROPPED, default),
        )
        return replace(observation, findings=(*observation.findings, finding))


@dataclass(frozen=True)
class Follow:
    """The second request of a dropped-connection replay: the input that met the drop in
    the run (``input_id``), or a harmless stand-in (the readiness probe)."""

    input_id: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def case_sender(
    sender: Sender, scenario: Scenario, *, inputs: Mapping[str, Input] | None = None
) -> CaseSender:
    """A CaseSender judging as ``scenario``'s load did."""
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    return CaseSender(sender, adapter, CheckSuite.from_scenario(scenario), inputs=inputs)


def scenario_sender(url: str, scenario: Scenario) -> Sender:
    """The parent's sender to ``url`` with the scenario's bounds."""
    return Sender(
        url,
        timeout=scenario.target.timeout,
        max_bytes=scenario.target.max_body_bytes,
        stall=scenario.target.stall_timeout,
    )


@contextlib.contextmanager
def open_sender(
    run_dir: Path,
    scenario: Scenario,
    target: str | None,
    *,
    inputs: Mapping[str, Input] | None = None,
) -> Iterator[CaseSender]:
    """A CaseSender for ``target`` (default: the run's target), starting builtin:demo afresh.

    The demo server a run started is gone when the run ends (its port was random), so a
    builtin:demo target gets a new one for as long as the sender is open.
    """
    url = (target or scenario.target.url).rstrip("/")
    with contextlib.ExitStack() as stack:
        if url == BUILTIN_DEMO:
            from stress.demo.process import DemoServerProcess

            server = stack.enter_context(
                DemoServerProcess(log_path=layout.replay_demo_log(run_dir))
            )
            url = server.url
        sender = stack.enter_context(scenario_sender(url, scenario))
        yield case_sender(sender, scenario, inputs=inputs)
