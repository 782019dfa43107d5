"""A scenario's ``inputs.from_log``: the log read, fitted to the target's protocol, sampled
with the run seed and scrubbed of personal data: the seeds the corpus is built from.

``read`` is the one function that reads the log's file; a run reads it once (the preparation,
stress.prepare, keeps the FittedLog and samples it for its seed). Only scrubbed values leave
this module. ``LogSeeds.report`` (written to RUN_DIR/logs.json
and summary.json's ``from_log``) says what was read, used, skipped and scrubbed.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import phonenumbers

from stress.errors import ScenarioError
from stress.logs import bodies
from stress.logs.readers import LogEntry, LogError, LogSample, read_log
from stress.logs.scrub import Pattern, Scrubber
from stress.scenario import FromLog, Scenario


@dataclass(frozen=True)
class LogSeeds:
    """The scrubbed seeds: ``seeds[i]`` is {"payload", "line", "names"} (names: the
    substitute names in it), ``timestamps[i]`` its logged time (epoch seconds) or None."""

    seeds: tuple[dict[str, Any], ...]
    timestamps: tuple[float | None, ...]
    report: dict[str, Any]


@dataclass(frozen=True)
class FittedLog:
    """A request log read once: its entries, each body fitted to the target's protocol (the
    unusable ones counted by reason). Sampling and scrubbing it reads nothing again."""

    log: FromLog
    protocol: str
    columns: tuple[str, ...]
    sample: LogSample
    usable: tuple[tuple[LogEntry, dict[str, Any]], ...]
    skipped: Counter[str]

    def fits(self, scenario: Scenario) -> bool:
        """Whether this is the log ``scenario`` reads, fitted as it needs."""
        log = scenario.inputs.from_log
        return log is not None and (
            log.path,
            log.format,
            scenario.target.protocol.value,
            tuple(scenario.inputs.features),
        ) == (self.log.path, self.log.format, self.protocol, self.columns)


def read(scenario: Scenario, *, source: str = "scenario") -> FittedLog:
    """Read ``scenario.inputs.from_log`` (which must be set) and fit each body to the target's
    protocol: the one place a request log's file is read. Raises ScenarioError naming the
    scenario key, the log file, its line and the fix."""
    try:
        return _read(scenario)
    except ScenarioError as exc:
        raise ScenarioError([f"{source}: {problem}" for problem in exc.problems]) from None


def load(
    scenario: Scenario, *, source: str = "scenario", fitted: FittedLog | None = None
) -> LogSeeds:
    """The seeds of ``scenario.inputs.from_log``, from ``fitted`` (the log already read) or
    read now; raises ScenarioError naming the scenario key, the log file, its line and the
    fix."""
    try:
        return _seeds(scenario, fitted if fitted is not None else _read(scenario))
    except ScenarioError as exc:
        raise ScenarioError([f"{source}: {problem}" for problem in exc.problems]) from None


def timestamps(scenario: Scenario, *, source: str = "scenario") -> tuple[float | None, ...]:
    """``load(scenario).timestamps`` without scrubbing: the logged times of the sampled
    entries, in the seeds' order (a load process replaying them needs nothing else)."""
    try:
        usable = _sampled(scenario, _read(scenario))
    except ScenarioError as exc:
        raise ScenarioError([f"{source}: {problem}" for problem in exc.problems]) from None
    return tuple(entry.timestamp for entry, _ in usable)


def _read(scenario: Scenario) -> FittedLog:
    log = scenario.inputs.from_log
    assert log is not None
    protocol = scenario.target.protocol.value
    columns = tuple(scenario.inputs.features)
    key = "inputs.from_log"
    try:
        sample = read_log(log.path, None if log.format == "auto" else log.format)
    except LogError as exc:
        raise ScenarioError([f"{key}.path: {problem}" for problem in exc.problems]) from None
    skipped: Counter[str] = Counter(sample.skipped)
    usable = []
    for entry in sample.entries:
        payload, reason = bodies.payload(entry.body, protocol, columns=columns)
        if payload is None:
            skipped[str(reason)] += 1
        else:
            usable.append((entry, payload))
    if not usable:
        reasons = "; ".join(f"{reason} ({n})" for reason, n in skipped.most_common(3))
        raise ScenarioError(
            [
                f"{key}.path: {log.path}: no logged request fits protocol {protocol!r} "
                f"({reasons or 'the log has no entries'}); point inputs.from_log.path at a log "
                f"of {protocol} requests or set inputs.from_log.format"
            ]
        )
    return FittedLog(log, protocol, columns, sample, tuple(usable), skipped)


def _sampled(scenario: Scenario, fitted: FittedLog) -> list[tuple[LogEntry, dict[str, Any]]]:
    """``max`` of the fitted entries sampled with the scenario's seed, in log order: what
    load and timestamps share, so both see the same entries."""
    log = scenario.inputs.from_log
    assert log is not None
    usable = list(fitted.usable)
    if len(usable) > log.max:
        chosen = sorted(random.Random(scenario.inputs.seed).sample(range(len(usable)), log.max))
        usable = [usable[i] for i in chosen]
    return usable


def _seeds(scenario: Scenario, fitted: FittedLog) -> LogSeeds:
    log = scenario.inputs.from_log
    assert log is not None
    seed = scenario.inputs.seed
    key = "inputs.from_log"
    if log.scrub.region not in phonenumbers.SUPPORTED_REGIONS:
        raise ScenarioError(
            [
                f"{key}.scrub.region: unknown region {log.scrub.region!r}; use an ISO 3166 "
                f"country code such as US, GB or DE"
            ]
        )
    sample, skipped = fitted.sample, fitted.skipped
    usable = _sampled(scenario, fitted)
    scrubber = Scrubber(
        seed=seed,
        skip=log.scrub.skip,
        patterns=[Pattern(p.name, re.compile(p.regex), p.replace) for p in log.scrub.patterns],
        region=log.scrub.region,
        locale=log.scrub.locale,
    )
    for _, payload in usable:
        scrubber.learn(payload)
    seeds = []
    for entry, payload in usable:
        clean = scrubber.scrub(payload)
        seeds.append({"payload": clean, "line": entry.line, "names": _names(scrubber, clean)})
    report = {
        "path": log.path,
        "format": sample.format,
        "entries": sample.total,
        "usable": sample.total - sum(skipped.values()),
        "used": len(seeds),
        "skipped": dict(skipped.most_common()),
        "scrubbed": dict(sorted(scrubber.counts.items())),
        "scrub_skip": list(log.scrub.skip),
        "patterns": [p.name for p in log.scrub.patterns],
    }
    return LogSeeds(tuple(seeds), tuple(e.timestamp for e, _ in usable), report)


def _names(scrubber: Scrubber, payload: dict[str, Any]) -> list[str]:
    messages = payload.get("messages") or []
    text = messages[-1]["content"] if messages else ""
    return list(dict.fromkeys(scrubber.names(text)))
