"""`stress init`'s probe of the endpoint its rendered scenario names (stress.scaffold renders
and writes; this module asks).

    probe(scenario)    the preflight, then one valid request, timed: status, latency, excerpt
    Probe.warning()    the warning to print when that one valid request was refused
    Probe.health       the readiness endpoint to poll through the load (healthwatch.find):
                       health.enabled written on when one answered ready
    answers(...)       the answers section from the OpenAPI schema or the probe's answer
    probe_limits(...)  the prompt or batch limit (stress.limitprobe), after a 2xx probe
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from stress import healthwatch
from stress.errors import TargetUnreachable, UsageError
from stress.inputs.corpus import Input
from stress.limitprobe import Found
from stress.scenario import Scenario


@dataclass
class Probe:
    """The one valid request: what the preflight said, the status, latency and an excerpt."""

    preflight: str
    status: int
    latency_ms: float
    excerpt: str
    input_id: str
    # The scenario's answers section, from what the endpoint declared (stress.answerhints).
    answers: list[str] = field(default_factory=list)
    # The valid input sent, and the limits found from it (stress.limitprobe).
    item: Input | None = None
    limits: Found | None = None
    # The readiness endpoint for health.enabled (find_health).
    health: healthwatch.Readiness | None = None
    # inputs.task as its answer shows it (stress.inputs.tasks.from_probe), and what showed it.
    task: str | None = None
    task_source: str = ""

    @property
    def refused(self) -> bool:
        """The valid probe was not answered 2xx: the written scenario is not to be trusted."""
        return not 200 <= self.status < 300

    def warning(self) -> str | None:
        """What `stress init` prints, and writes as a comment, when the valid probe failed."""
        if not self.refused:
            return None
        return (
            f"WARNING: the probe's valid request ({self.input_id}) was refused: HTTP "
            f"{self.status}: {self.excerpt}. Check target.path, target.model, the headers and "
            f"inputs.features (--path, --model, --header, --feature, --rows) before trusting "
            f"a run: every valid input will likely be refused too, and the SLOs below come "
            f"from this refusal's latency."
        )


def probe(
    scenario: Scenario,
    environ: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
) -> Probe:
    """The preflight (exit 3 when the target is down or refuses), then one valid request."""
    from stress.preflight import preflight, probe_input
    from stress.runner import build_corpus
    from stress.secrets import Redactor
    from stress.targets import adapter_for
    from stress.targets.base import excerpt

    target = scenario.target
    adapter = adapter_for(target, features=list(scenario.inputs.features), environ=environ)
    inputs = build_corpus(scenario)
    redactor = Redactor(target.secrets(environ))
    passed = preflight(
        target.url,
        adapter,
        inputs,
        timeout=target.timeout,
        redactor=redactor,
        transport=transport,
    )
    item = probe_input(inputs)
    if item is None:
        raise UsageError("the scenario has no valid input to probe with")
    request = adapter.request(item)
    with httpx.Client(base_url=target.url, timeout=target.timeout, transport=transport) as client:
        began = time.perf_counter()
        try:
            response = client.request(
                request.method, request.path, content=request.body, headers=request.headers
            )
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                f"URL: {target.url} did not answer one valid request ({exc or type(exc).__name__})"
            ) from None
        latency = (time.perf_counter() - began) * 1000
    outcome = adapter.parse(response.status_code, response.headers, response.content)
    shown = outcome.excerpt() if 200 <= response.status_code < 300 else None
    text = " ".join((shown or excerpt(response.content)).split())[:120]
    found = Probe(passed, response.status_code, latency, redactor.scrub(text), item.id, item=item)
    found.answers = answers(scenario, outcome, response.status_code, response.content)
    found.health = healthwatch.find(scenario, adapter, transport=transport)
    if not found.refused:
        from stress import answerhints

        found.task, found.task_source = answerhints.task(scenario, outcome, response.content)
    return found


def answers(scenario: Scenario, outcome: Any, status: int, body: bytes) -> list[str]:
    """The answers section: the OpenAPI response schema's ranges and labels, else what the
    probe's answer shows (stress.answerhints); nothing from a refused probe."""
    from stress import answerhints

    if not 200 <= status < 300:
        return []
    response = scenario.target.response
    schema = response.json_schema if response is not None else None
    path = (response.prediction or response.text) if response is not None else None
    protocol = scenario.target.protocol.value
    return answerhints.lines(answerhints.learn(protocol, outcome, body, schema, path))


def probe_limits(scenario: Scenario, found: Probe, environ: Mapping[str, str]) -> Found | None:
    """The prompt or batch limit (stress.limitprobe), when the valid probe was answered."""
    from stress.limitprobe import probe_limits as search

    if found.refused or found.item is None:
        return None
    return search(scenario, found.item, environ)
