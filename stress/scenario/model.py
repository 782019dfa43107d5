"""The whole scenario: every section, and what spans them."""

from __future__ import annotations

from typing import Annotated

import yaml
from pydantic import (
    Field,
    model_validator,
)

from stress.scenario.checks import (
    Answers,
    Degradation,
    Flakiness,
    Growth,
    Health,
    Invariance,
    Severity,
    SeverityName,
    Slo,
)
from stress.scenario.inputs import Inputs
from stress.scenario.load import Load, Phase, PhaseKind, Until
from stress.scenario.messages import KeyedError
from stress.scenario.target import Protocol, Target
from stress.scenario.values import StrictModel


class Scenario(StrictModel):
    """A whole scenario file."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    target: Target
    inputs: Inputs
    load: Load
    checks: list[str] | None = None
    slo: Slo = Field(default_factory=Slo)
    # Folder of regression cases replayed before the load (stress/repro/regressions.py).
    regressions: Annotated[str, Field(min_length=1)] | None = None
    # Per-check severity overrides, e.g. {accepted_invalid_input: error, strict_json: info}.
    severity: dict[str, SeverityName] = Field(default_factory=dict)
    # Findings of these severities fail the run.
    fail_on: list[SeverityName] = Field(default_factory=lambda: [Severity.ERROR])
    answers: Answers = Field(default_factory=Answers)
    degradation: Degradation = Field(default_factory=Degradation)
    invariance: Invariance = Field(default_factory=Invariance)
    flakiness: Flakiness = Field(default_factory=Flakiness)
    growth: Growth = Field(default_factory=Growth)
    health: Health = Field(default_factory=Health)

    @model_validator(mode="after")
    def _features_for_tabular(self) -> Scenario:
        if self.target.takes_rows and not self.inputs.features:
            needs = f"protocol {self.target.protocol.value}"
            if self.target.protocol is Protocol.HTTP_JSON:
                needs = "an http-json template with row placeholders"
            raise KeyedError(
                ("inputs", "features"),
                f"{needs} needs the model's feature columns, e.g. "
                "features: {sepal_length: {min: 4.3, max: 7.9}}",
            )
        http_json = self.target.protocol is Protocol.HTTP_JSON
        if http_json and self.inputs.features and not self.target.takes_rows:
            raise KeyedError(
                ("inputs", "features"),
                "features are for table rows, but the http-json template takes text; "
                "remove inputs.features or use {{rows}}, {{row}} or {{values}} in "
                "target.request",
            )
        return self

    @model_validator(mode="after")
    def _task_for_protocol(self) -> Scenario:
        task, rows = self.inputs.task, self.target.takes_rows
        if task is not None and (task == "tabular") != rows:
            fix = (
                "use task: tabular, or remove the key"
                if rows
                else "tabular is for endpoints that take table rows; use a text task "
                "(classify-sentiment, classify-intent, classify-topic, embed, chat) or remove it"
            )
            kind = "table rows" if rows else "text"
            raise KeyedError(
                ("inputs", "task"), f"{task!r} does not fit a target that takes {kind}; {fix}"
            )
        return self

    @model_validator(mode="after")
    def _stream_limits(self) -> Scenario:
        limits = self.slo.per_request
        if limits is None or self.target.stream:
            return self
        for key in ("ttft_ms", "tpot_ms", "itl_ms"):
            if getattr(limits, key) is not None:
                raise KeyedError(
                    ("slo", "per_request", key),
                    f"{key} is measured on streamed answers only; set target.stream: true "
                    f"(openai-chat, openai-completions) or use latency_ms",
                )
        return self

    @model_validator(mode="after")
    def _sweeps(self) -> Scenario:
        sweeps = [i for i, p in enumerate(self.load.phases) if p.kind is PhaseKind.SWEEP]
        if len(sweeps) > 1:
            raise KeyedError(
                ("load", "phases", sweeps[1], "kind"),
                "one sweep per scenario (its answer is one maximum rate); "
                "split the sweeps into two scenarios",
            )
        for index in sweeps:
            limits = self.sweep_limits(self.load.phases[index])
            if not any(value is not None for value in limits.model_dump().values()):
                raise KeyedError(
                    ("load", "phases", index, "until"),
                    "a sweep needs a limit to stop at: set until (e.g. until: {p95_ms: 500}) "
                    "or slo.p95_ms / slo.error_rate",
                )
        return self

    @model_validator(mode="after")
    def _logged_traces(self) -> Scenario:
        logged = [i for i, p in enumerate(self.load.phases) if p.logged]
        if not logged:
            return self
        if self.inputs.from_log is None:
            raise KeyedError(
                ("load", "phases", logged[0], "inputs"),
                "replays the logged requests of inputs.from_log, got logged but the scenario "
                "has no inputs.from_log; add inputs.from_log: {path: logs/requests.jsonl} "
                "or remove inputs: logged",
            )
        if "realistic.logged" in self.inputs.counts:
            raise KeyedError(
                ("inputs", "counts", "realistic.logged"),
                f"a trace phase with inputs: logged sends every sampled logged request once, "
                f"so the corpus holds each of them once, got "
                f"{self.inputs.counts['realistic.logged']}; remove this count "
                f"(inputs.from_log.max sets how many are sampled)",
            )
        return self

    def sweep_limits(self, phase: Phase) -> Until:
        """The limits a sweep step must hold: ``until``, else the phase's SLO limits."""
        if phase.until is not None:
            return phase.until
        override = self.slo.phases.get(phase.name)
        error_rate = self.slo.error_rate
        p95_ms = self.slo.p95_ms
        if override is not None:
            error_rate = override.error_rate if override.error_rate is not None else error_rate
            p95_ms = override.p95_ms if override.p95_ms is not None else p95_ms
        return Until(p95_ms=p95_ms, error_rate=error_rate)

    @property
    def total_duration(self) -> float:
        return sum(phase.duration or 0.0 for phase in self.load.phases)

    def to_yaml(self) -> str:
        """The resolved scenario (defaults filled in) as YAML, as written to a run directory."""
        data = self.model_dump(mode="json")
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
