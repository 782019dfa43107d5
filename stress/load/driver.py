"""The phase loop: runs a scenario's phases step by step on a fleet, judges sweeps as they run,
and says when and why the load stopped.

It knows nothing of Locust or of how many processes there are: a fleet (stress.load.fleet)
applies each step; a collector (stress.load.collect) holds what came back. Time comes from
``clock`` and waiting from ``sleep``, so tests drive it with a fake clock.

Sweeps: when a step ends the next one starts at once, and the finished step is judged as soon
as all its requests have come back, or at the latest ``grace`` seconds after it ended, where
grace is the tightest latency limit (a request still out by then is over that limit whatever
it returns) or the target's timeout, plus the records' shipping delay. Requests still out
are judged with the time they have waited so far. The first step that breaks the limits
ends the sweep (the step running at that moment is cut short) and the run moves on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from stress.checks.sweep import StepResult, judge_step
from stress.load import events
from stress.load.collect import Collector
from stress.load.pacing import Counts
from stress.load.phases import Step, plan
from stress.load.traffic import StepKey
from stress.scenario import PhaseKind, Scenario, Until

PROGRESS_SECONDS = 1.0
TICK_SECONDS = 0.1
# Records reach the collector in batches a quarter second apart (collect.BATCH_SECONDS),
# plus the time a worker's batch takes to travel.
SHIPPING_SECONDS = 0.75

Emit = Callable[[events.LoadEvent], None]


class Fleet(Protocol):
    def begin(self, step: Step) -> None: ...
    def tick(self, users: int | None) -> None: ...
    def flush(self) -> None: ...
    def sent(self, key: StepKey) -> int: ...
    def counts(self) -> dict[StepKey, Counts]: ...
    def exhausted(self) -> bool: ...
    def lost_all(self) -> bool: ...
    def finish(self, timeout: float) -> None: ...
    def describe(self) -> dict[str, Any]: ...


@dataclass
class _Pending:
    """A finished sweep step waiting for its requests to come back before it is judged."""

    step: Step
    entry: dict[str, Any]
    ended: float
    deadline: float


@dataclass
class Driver:
    """Runs ``scenario``'s phases on ``fleet``; ``run()`` returns load.json's content."""

    scenario: Scenario
    fleet: Fleet
    collector: Collector
    emit: Emit
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], Any] = time.sleep
    # Each trace phase's arrival times, by phase name (stress.load.trace.offsets).
    traces: Mapping[str, Sequence[float]] = field(default_factory=dict)
    # Of the trace phases with inputs: logged, the log entry each arrival sends.
    entries: Mapping[str, Sequence[int]] = field(default_factory=dict)
    stopping: bool = False
    # Why the load was stopped from outside (a signal), for load.json and the report.
    stop_reason: str = "interrupted"
    stopped_by: str | None = None
    phases: list[dict[str, Any]] = field(default_factory=list)
    _pending: list[_Pending] = field(default_factory=list)
    _sweep_broken: bool = False

    def run(self) -> dict[str, Any]:
        load = self.scenario.load
        started = self.clock()
        hard_stop = started + load.max_duration
        next_progress = started + PROGRESS_SECONDS
        for phase, steps in zip(
            load.phases, plan(load.phases, self.traces, self.entries), strict=True
        ):
            if self.stopped_by is not None:
                break
            sweep = phase.kind is PhaseKind.SWEEP
            # A sweep's until, else the phase's SLO limits (shown live beside the figures).
            slo = self.scenario.sweep_limits(phase)
            limits = slo if sweep else None
            entry: dict[str, Any] = {
                "name": phase.name,
                "kind": phase.kind.value,
                "open_loop": phase.open_loop,
                "started_at": self.wall(),
                "ended_at": None,
                "steps": [],
            }
            self.phases.append(entry)
            self.emit(
                events.Phase(
                    name=phase.name,
                    kind=phase.kind.value,
                    users=phase.users,
                    # A trace has no rate of its own: its busiest moment (shaped steps' peak).
                    rate=phase.rate if phase.rate is not None else steps[0].rate,
                    max_in_flight=phase.max_in_flight if phase.open_loop else None,
                    duration_s=phase.duration,
                    at=self.wall(),
                    error_rate_limit=slo.error_rate,
                    p95_limit_ms=slo.p95_ms,
                )
            )
            self._sweep_broken = False
            for step in steps:
                if self.stopped_by is not None or self._sweep_broken:
                    break
                step_entry = self._begin(step)
                if step.index is not None:
                    entry["steps"].append(step_entry)
                step_start = self.clock()
                end = min(step_start + step.duration, hard_stop)
                while True:
                    now = self.clock()
                    if now >= end:
                        break
                    if self._check_limits(hard_stop):
                        break
                    self.sleep(min(TICK_SECONDS, end - now))
                    self.fleet.tick(_planned_users(step, self.clock() - step_start))
                    if self.clock() >= next_progress:
                        while next_progress <= self.clock():
                            next_progress += PROGRESS_SECONDS
                        self._progress(step, self.clock() - step_start)
                    if limits is not None and self._judge(limits, final=False):
                        break
                step_entry["ended_at"] = self.wall()
                if limits is not None and step.index is not None and not self._sweep_broken:
                    now = self.clock()
                    self._pending.append(_Pending(step, step_entry, now, now + self._grace(limits)))
                if self.clock() >= hard_stop:
                    self._check_limits(hard_stop)
            entry["ended_at"] = self.wall()
            if sweep:
                entry["stopped"] = (
                    "broken" if self._sweep_broken else (self.stopped_by or "last step")
                )
        self.fleet.finish(self.scenario.target.timeout + 1.0)
        if self._pending:
            self._judge_all()
            if self._sweep_broken:
                for entry in self.phases:
                    if entry["kind"] == PhaseKind.SWEEP.value:
                        entry["stopped"] = "broken"
        counts = self.fleet.counts()
        for entry in self.phases:
            total = Counts()
            for (name, _index), step_counts in counts.items():
                if name == entry["name"]:
                    total.add(step_counts)
            entry["counts"] = asdict(total)
            for step_entry in entry["steps"]:
                found = counts.get((entry["name"], step_entry["step"]), Counts())
                step_entry["counts"] = asdict(found)
        return {
            "stopped_by": self.stopped_by,
            "phases": self.phases,
            **self.fleet.describe(),
        }

    def _begin(self, step: Step) -> dict[str, Any]:
        self.fleet.begin(step)
        step_entry: dict[str, Any] = {
            "step": step.index,
            "users": step.users,
            "offered_rps": step.rate,
            "duration_s": step.duration,
            "started_at": self.wall(),
            "ended_at": None,
            "passed": None,
            "reasons": [],
        }
        if step.index is not None:
            self.emit(
                events.Step(
                    phase=step.phase,
                    step=step.index,
                    users=None if step.open_loop else step.users,
                    rate=step.rate,
                    duration_s=step.duration,
                )
            )
        return step_entry

    def name_the_stop(self, reason: str) -> None:
        """The stop under way turns out to have another cause than the one first given
        (``stress run`` died rather than interrupted us): load.json and the report say it."""
        if self.stopped_by == self.stop_reason:
            self.stopped_by = reason
        self.stop_reason = reason

    def _check_limits(self, hard_stop: float) -> bool:
        if self.stopped_by is not None:
            return True
        reason = None
        if self.stopping:
            reason = self.stop_reason
        elif self.fleet.lost_all():
            reason = "every worker was lost"
        elif self.fleet.exhausted():
            reason = f"load.max_requests ({self.scenario.load.max_requests}) reached"
        elif self.clock() >= hard_stop:
            reason = "load.max_duration reached"
        if reason is None:
            return False
        self.stopped_by = reason
        self.emit(events.Limit(reason=reason))
        return True

    def _progress(self, step: Step, elapsed: float) -> None:
        figures = self.collector.progress(step.phase)
        counts = self.fleet.counts().get((step.phase, step.index), Counts())
        self.emit(
            events.Progress(
                phase=step.phase,
                step=step.index,
                users=_planned_users(step, elapsed),
                rate=step.rate_at(elapsed) if step.shape is not None else step.rate,
                requests=self.collector.records,
                late=counts.late,
                unsent=counts.unsent,
                **figures,
            )
        )

    def _grace(self, limits: Until) -> float:
        latency = [v for v in (limits.p50_ms, limits.p95_ms, limits.p99_ms) if v is not None]
        wait = min(latency) / 1000 if latency else self.scenario.target.timeout
        return min(wait, self.scenario.target.timeout) + SHIPPING_SECONDS

    def _judge(self, limits: Until, *, final: bool) -> bool:
        """Judge finished sweep steps whose requests are all back (or overdue); True if broken."""
        while self._pending:
            pending = self._pending[0]
            key = (pending.step.phase, pending.step.index)
            sent = self.fleet.sent(key)
            recorded = self.collector.by_step.get(key, 0)
            now = self.clock()
            if not final and recorded < sent and now < pending.deadline:
                return False
            self._pending.pop(0)
            result = self._result(pending, limits, max(sent - recorded, 0), now)
            pending.entry["passed"] = result.passed
            pending.entry["reasons"] = result.reasons
            self.emit(events.StepResult(phase=pending.step.phase, **result.as_dict()))
            if not result.passed:
                self._sweep_broken = True
                self._pending.clear()
                return True
        return False

    def _result(self, pending: _Pending, limits: Until, outstanding: int, now: float) -> StepResult:
        step = pending.step
        latencies, ok = self.collector.step_data(step.phase, step.index or 0)
        counts = self.fleet.counts().get((step.phase, step.index), Counts())
        duration = max(pending.entry["ended_at"] - pending.entry["started_at"], 1e-3)
        waited = max(now - pending.ended, 0.0) * 1000
        return judge_step(
            latencies,
            ok,
            limits,
            step=step.index or 0,
            duration_s=duration,
            offered_rps=step.rate,
            users=None if step.open_loop else step.users,
            late=counts.late,
            unsent=counts.unsent,
            scheduled=counts.scheduled if step.open_loop else None,
            outstanding_ms=[waited] * outstanding,
        )

    def _judge_all(self) -> None:
        phase = next(p for p in self.scenario.load.phases if p.name == self._pending[0].step.phase)
        self._judge(self.scenario.sweep_limits(phase), final=True)


def _planned_users(step: Step, elapsed: float) -> int | None:
    """The users the records should report ``elapsed`` s into the step (ramps move)."""
    if step.open_loop:
        return step.slots
    if step.start_users is None or step.users is None:
        return step.users
    fraction = min(max(elapsed / step.duration, 0.0), 1.0)
    return round(step.start_users + (step.users - step.start_users) * fraction)
