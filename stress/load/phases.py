"""Phases as steps: what load to apply, when. Pure (no Locust, no clock of its own).

Every phase kind becomes a list of steps the driver applies in order:

    ======  =================================================================
    steady  one step: ``users`` (closed loop) or ``rate`` (open loop)
    soak    the same as steady; the name says it runs long, looking for drift
    ramp    one step whose users or rate move linearly from the start value
            (``start_users``/``start_rate``, default: where the previous phase
            ended, or 0) to ``users``/``rate``
    step    ``steps`` steps of ``step_duration`` going up in equal increments
            to ``users``/``rate`` (from ``start_*`` when given)
    sweep   the steps of ``step``; the driver stops at the first step that
            breaks the sweep's limits
    daily   one step whose rate follows a day's curve (stress.load.shapes)
    trace   one step that sends at the times of a log's timestamps ÷ speed
    ======  =================================================================

Spikes and bursts turn a steady, soak, ramp or daily step into a shaped one (Step.shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from stress.load import shapes
from stress.scenario import Phase, PhaseKind


@dataclass(frozen=True)
class Step:
    """One stretch of load within a phase.

    Closed loop: ``users`` at the end of the step, reached from ``start_users`` (None: from
    however many run now) at ``spawn_rate`` users/s. Open loop: ``rate`` requests/s at the
    end, ``start_rate`` at the start (equal except in a ramp), at most ``max_in_flight``
    requests in flight. ``index`` numbers the steps of a step or sweep phase from 0.
    """

    phase: str
    kind: PhaseKind
    duration: float
    index: int | None = None
    users: int | None = None
    start_users: int | None = None
    spawn_rate: float = 10.0
    rate: float | None = None
    start_rate: float | None = None
    arrival: str = "constant"
    burstiness: float = 1.0
    max_in_flight: int = 0
    # A rate that is not a line (daily, spikes, bursts) or a trace's arrival times; ``rate``
    # is then its peak, ``start_rate`` its rate at the start.
    shape: shapes.Shape | None = None

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    def rate_at(self, elapsed: float) -> float | None:
        """The offered rate ``elapsed`` s into the step (None in a closed loop)."""
        if self.shape is not None:
            return self.shape.rate_at(elapsed)
        if self.rate is None or self.start_rate is None:
            return self.rate
        fraction = min(max(elapsed / self.duration, 0.0), 1.0)
        return self.start_rate + (self.rate - self.start_rate) * fraction

    @property
    def slots(self) -> int:
        """Locust users this step needs: the users, or the open loop's in-flight cap."""
        return self.max_in_flight if self.open_loop else int(self.users or 0)


def steps_of(
    phase: Phase,
    previous: Step | None = None,
    trace: Sequence[float] | None = None,
    entries: Sequence[int] | None = None,
) -> list[Step]:
    """The steps of ``phase``; ``previous`` is the last step of the phase before it, ``trace``
    a trace phase's arrival times (stress.load.trace.offsets), ``entries`` the log entry each
    of them sends (a trace with inputs: logged)."""
    # The scenario model fills it in for every kind; stress.load.trace for a trace.
    assert phase.duration is not None
    base = Step(
        phase=phase.name,
        kind=phase.kind,
        duration=phase.duration,
        users=phase.users,
        spawn_rate=phase.spawn_rate,
        rate=phase.rate,
        start_rate=phase.rate,
        arrival=phase.arrival.value,
        burstiness=phase.burstiness,
        max_in_flight=phase.max_in_flight if phase.open_loop else 0,
    )
    if phase.kind in (PhaseKind.STEP, PhaseKind.SWEEP):
        assert phase.step_duration is not None
        if phase.open_loop:
            return [
                replace(base, duration=phase.step_duration, index=i, rate=value, start_rate=value)
                for i, value in enumerate(step_values(phase))
            ]
        return [
            replace(base, duration=phase.step_duration, index=i, users=max(1, round(value)))
            for i, value in enumerate(step_values(phase))
        ]
    if phase.kind is PhaseKind.TRACE:
        assert trace is not None, f"phase {phase.name}: a trace phase needs its arrival times"
        assert entries is not None or not phase.logged, f"phase {phase.name}: needs entries"
        shape = shapes.trace_shape(trace, phase.duration, entries)
        return [replace(base, shape=shape, rate=shape.peak, start_rate=shape.rate_at(0))]
    if phase.open_loop and (phase.kind is PhaseKind.DAILY or phase.spikes or phase.bursts):
        return [_shaped(phase, base, previous)]
    if phase.kind is not PhaseKind.RAMP:
        return [base]
    if phase.open_loop:
        start_rate = phase.start_rate if phase.start_rate is not None else _end_rate(previous)
        return [replace(base, start_rate=start_rate)]
    assert phase.users is not None
    start = phase.start_users
    if start is None:
        start = previous.users if previous is not None and previous.users is not None else 0
    # Locust spawns (or stops) users at spawn_rate: the ramp's slope is the spawn rate.
    slope = max(abs(phase.users - start) / phase.duration, 1e-3)
    return [replace(base, start_users=start, spawn_rate=slope)]


def _shaped(phase: Phase, base: Step, previous: Step | None) -> Step:
    """The one step of a daily phase, or of a steady, soak or ramp phase with spikes or
    bursts."""
    assert phase.rate is not None
    assert phase.duration is not None
    if phase.kind is PhaseKind.DAILY:
        assert phase.min_rate is not None
        assert phase.peak_at is not None
        assert phase.trough_at is not None
        knots = shapes.daily_knots(
            phase.rate,
            phase.min_rate,
            phase.duration,
            peak_at=phase.peak_at,
            trough_at=phase.trough_at,
        )
    else:
        start = phase.rate
        if phase.kind is PhaseKind.RAMP:
            start = phase.start_rate if phase.start_rate is not None else _end_rate(previous)
        knots = shapes.constant_knots(start, phase.rate, phase.duration)
    spikes = [
        shapes.Spike(s.at, s.duration, rate=s.rate, factor=s.factor) for s in phase.spikes or []
    ]
    bursts = phase.bursts
    shape = shapes.Shape(
        knots=shapes.with_spikes(knots, spikes),
        bursts=()
        if bursts is None
        else shapes.bursts_every(bursts.every, bursts.size, phase.duration, bursts.start),
    )
    return replace(base, shape=shape, rate=shape.peak, start_rate=shape.rate_at(0))


def step_values(phase: Phase) -> list[float]:
    """Users or rate of each step of a step or sweep phase, ascending to the phase's value."""
    assert phase.steps is not None
    value = phase.rate if phase.open_loop else phase.users
    assert value is not None
    top = float(value)
    start = phase.start_rate if phase.open_loop else phase.start_users
    n = phase.steps
    if start is None:
        return [top * (i + 1) / n for i in range(n)]
    return [start + (top - start) * i / (n - 1) for i in range(n)]


def _end_rate(previous: Step | None) -> float:
    if previous is None or previous.rate is None:
        return 0.0
    if previous.shape is not None:
        return previous.shape.rate_at(previous.duration)
    return previous.rate


def plan(
    phases: list[Phase],
    traces: Mapping[str, Sequence[float]] | None = None,
    entries: Mapping[str, Sequence[int]] | None = None,
) -> list[list[Step]]:
    """The steps of every phase, in order (ramps start where the phase before ended);
    ``traces`` holds each trace phase's arrival times by phase name, ``entries`` the log
    entries of those with inputs: logged."""
    out: list[list[Step]] = []
    previous: Step | None = None
    for phase in phases:
        name = phase.name
        steps = steps_of(phase, previous, (traces or {}).get(name), (entries or {}).get(name))
        out.append(steps)
        previous = steps[-1]
    return out
