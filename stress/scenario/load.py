"""The ``load`` section: phases (users, rate, step, sweep, shaped, trace) and limits."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from stress.scenario.messages import KeyedError
from stress.scenario.values import Duration, Fraction, PositiveInt, StrictModel, format_duration


class PhaseKind(StrEnum):
    """How a phase's load moves over time (stress.load.phases turns each into steps)."""

    STEADY = "steady"  # the same users or rate for the whole phase
    RAMP = "ramp"  # linearly from start_users / start_rate to users / rate
    STEP = "step"  # `steps` equal steps up to users / rate, step_duration each
    SOAK = "soak"  # steady, for long: reported like steady, named for what it looks for
    SWEEP = "sweep"  # steps up until a step breaks the `until` limits (or the last step)
    DAILY = "daily"  # a day's traffic curve (night trough, afternoon peak) in `duration`
    TRACE = "trace"  # replays the timestamps of a request log, `speed` times faster


class Arrival(StrEnum):
    """Open-loop arrival process: when the requests of a ``rate`` phase are due."""

    CONSTANT = "constant"  # evenly spaced, 1/rate apart
    POISSON = "poisson"  # exponential gaps (gamma gaps when burstiness != 1)


class _SetOnly(StrictModel):
    """A model whose resolved form shows only the keys that are set."""

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class Until(_SetOnly):
    """Where a sweep stops: the first step that breaks any of these limits."""

    p50_ms: Annotated[float, Field(gt=0)] | None = None
    p95_ms: Annotated[float, Field(gt=0)] | None = None
    p99_ms: Annotated[float, Field(gt=0)] | None = None
    error_rate: Fraction | None = None


class TraceFormat(StrEnum):
    """How a trace phase's log gives its timestamps (stress.load.trace reads them)."""

    AUTO = "auto"  # from the extension (.har, .jsonl/.ndjson, .csv, .txt), else the content
    JSONL = "jsonl"  # one JSON object a line, the time in `timestamp_field` (or a usual name)
    HAR = "har"  # a browser/proxy HAR file: log.entries[].startedDateTime
    CSV = "csv"  # a column named `timestamp_field` (or a usual name), or a single column
    TEXT = "text"  # one timestamp a line


class TraceInputs(StrEnum):
    """What a trace phase's arrivals send (docs/load.md, "Replaying a log as it happened")."""

    CORPUS = (
        "corpus"  # the corpus's inputs, in its usual seeded order: only the timing is the log's
    )
    LOGGED = "logged"  # arrival i sends logged request i (realistic.logged of inputs.from_log)


class Spike(_SetOnly):
    """A window of a phase where the rate is ``rate``, or ``factor`` × the phase's rate."""

    at: Duration
    duration: Duration
    rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    factor: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one_level(self) -> Spike:
        if (self.rate is None) == (self.factor is None):
            which = "both" if self.rate is not None else "neither"
            raise KeyedError(
                ("rate",),
                f"a spike takes rate (requests/s) or factor (× the phase's rate), got {which};"
                f" e.g. rate: 200 or factor: 5",
            )
        return self


class Bursts(_SetOnly):
    """``size`` requests due at the same instant, every ``every`` from ``start`` (default:
    ``every``)."""

    every: Duration
    size: PositiveInt
    start: Duration | None = None


# Keys that only closed-loop (users) phases take, and those only open-loop (rate) phases take.
_USERS_KEYS = ("start_users", "spawn_rate")
_RATE_KEYS = ("start_rate", "arrival", "burstiness", "max_in_flight")
_STEPPED = ("steps", "step_duration")
# Keys of one kind each (stress.load.shapes): a day's curve, a trace, extras on a rate.
_DAILY_KEYS = ("min_rate", "peak_at", "trough_at")
_TRACE_KEYS = ("path", "speed", "format", "timestamp_field", "inputs")
_EXTRA_KEYS = ("spikes", "bursts")


class Phase(StrictModel):
    """One load phase: closed-loop ``users`` or an open-loop ``rate`` (requests/s).

    ========================================  =================================================
    ``{users: 20, duration: 1m}``             20 users send back to back (reached at spawn_rate)
    ``{rate: 200, duration: 1m}``             200 requests/s whatever the answers' latency
    ``{kind: ramp, rate: 200, duration: 1m}`` 0 → 200 requests/s (from start_rate if given)
    ``{kind: step, users: 50, steps: 5, ...}`` 10, 20, ... 50 users, step_duration each
    ``{kind: sweep, rate: 2000, steps: 10,``  200, 400, ... 2000 requests/s until a step breaks
    ``step_duration: 20s, until: {...}}``     ``until`` (default: the phase's SLO limits)
    ``{kind: daily, rate: 50, min_rate: 5,``  a day in 10 minutes: 5 requests/s at the night
    ``duration: 10m}``                        trough (04:00), 50 at the peak (peak_at 0.6)
    ``{rate: 20, duration: 2m, spikes:``      20 requests/s, 200 for 5 s from 30 s in, and
    ``[{at: 30s, duration: 5s, rate: 200}],`` 50 requests at once every 20 s (spikes and
    ``bursts: {every: 20s, size: 50}}``       bursts go on steady, soak, ramp, daily phases)
    ``{kind: trace, path: logs/a.jsonl,``     the log's timestamps replayed 10 times faster
    ``speed: 10}``                            (path relative to the scenario file)
    ``{kind: trace, inputs: logged,``         inputs.from_log's requests, each sent at its
    ``speed: 2}``                             logged time ÷ 2 (the log replayed as it happened)
    ========================================  =================================================
    """

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: PhaseKind = PhaseKind.STEADY
    users: PositiveInt | None = None
    spawn_rate: Annotated[float, Field(gt=0)] = 10.0
    duration: Duration | None = None
    start_users: Annotated[int, Field(strict=True, ge=0)] | None = None
    rate: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    start_rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    arrival: Arrival = Arrival.CONSTANT
    # Gamma shape of the gaps between arrivals: 1 is Poisson, below 1 burstier (as vLLM's).
    burstiness: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    # Open loop: at most this many requests in flight; an arrival finding every slot busy
    # waits (and is counted late), its latency still measured from its intended send time.
    max_in_flight: PositiveInt = 100
    steps: Annotated[int, Field(strict=True, ge=2)] | None = None
    step_duration: Duration | None = None
    until: Until | None = None
    # kind daily: the rate at the night trough (default a tenth of `rate`, the peak), and
    # where in the day (0 midnight, 0.5 noon) the peak and the trough fall.
    min_rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    peak_at: Fraction | None = None
    trough_at: Fraction | None = None
    # Open-loop steady, soak, ramp and daily phases: windows of another rate, and bursts.
    spikes: list[Spike] | None = None
    bursts: Bursts | None = None
    # kind trace: the log whose timestamps are replayed, how many times faster, its format
    # and the field or column holding the time (default: timestamp, time, ts, created...).
    path: Annotated[str, Field(min_length=1)] | None = None
    speed: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    format: TraceFormat = TraceFormat.AUTO
    timestamp_field: Annotated[str, Field(min_length=1)] | None = None
    # kind trace: `logged` sends logged request i at arrival i (times from inputs.from_log).
    inputs: TraceInputs = TraceInputs.CORPUS

    @property
    def logged(self) -> bool:
        """True for a trace phase that replays inputs.from_log's requests at their times."""
        return self.kind is PhaseKind.TRACE and self.inputs is TraceInputs.LOGGED

    @property
    def open_loop(self) -> bool:
        """True for an arrival-rate phase (``rate``, or a trace), False for closed-loop users."""
        return self.rate is not None or self.kind is PhaseKind.TRACE

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The resolved scenario shows the keys this kind of phase uses, defaults filled in,
        # and none of the others, so that it loads again exactly as it was.
        data: dict[str, Any] = handler(self)
        drop = set(_USERS_KEYS if self.open_loop else _RATE_KEYS)
        if self.arrival is not Arrival.POISSON:
            drop.add("burstiness")
        if self.kind not in (PhaseKind.STEP, PhaseKind.SWEEP):
            drop.update((*_STEPPED, "until"))
        if self.kind is not PhaseKind.TRACE:
            drop.update(_TRACE_KEYS)
        else:
            drop.update(("arrival", "burstiness"))
            if self.logged:
                drop.update(("format", "timestamp_field"))
        return {k: v for k, v in data.items() if k not in drop and v is not None}

    @model_validator(mode="after")
    def _consistent(self) -> Phase:
        given = self.model_fields_set
        _check_shaped(self, given)
        if self.kind is PhaseKind.TRACE:
            return self
        if (self.users is None) == (self.rate is None):
            which = "both" if self.users is not None else "neither"
            raise KeyedError(
                ("users",),
                f"a phase takes users (closed loop) or rate (open loop, requests/s), got {which};"
                f" e.g. users: 20 or rate: 200",
            )
        wrong = _USERS_KEYS if self.open_loop else _RATE_KEYS
        for key in wrong:
            if key in given:
                loop = "an open-loop (rate)" if self.open_loop else "a closed-loop (users)"
                raise KeyedError((key,), f"does not apply to {loop} phase; remove it")
        if "burstiness" in given and self.arrival is not Arrival.POISSON:
            raise KeyedError(
                ("burstiness",), "applies to arrival: poisson only; add that or remove burstiness"
            )
        stepped = self.kind in (PhaseKind.STEP, PhaseKind.SWEEP)
        if not stepped:
            for key in (*_STEPPED, "until"):
                if key in given:
                    raise KeyedError(
                        (key,), f"applies to kind step or sweep, not {self.kind.value}; remove it"
                    )
            if self.kind is not PhaseKind.RAMP:
                for key in ("start_users", "start_rate"):
                    if key in given:
                        raise KeyedError(
                            (key,), f"applies to kind ramp, step or sweep, not {self.kind.value}"
                        )
            if self.duration is None:
                raise KeyedError(("duration",), "required key is missing")
            return self
        if self.steps is None:
            raise KeyedError(("steps",), f"a {self.kind.value} phase needs steps, e.g. steps: 5")
        if self.step_duration is None and self.duration is None:
            raise KeyedError(
                ("step_duration",), f"a {self.kind.value} phase needs step_duration, e.g. 30s"
            )
        if self.step_duration is None:
            assert self.duration is not None
            self.step_duration = self.duration / self.steps
        elif self.duration is None:
            self.duration = self.step_duration * self.steps
        elif not math.isclose(self.duration, self.step_duration * self.steps, rel_tol=1e-9):
            raise KeyedError(
                ("duration",),
                f"{format_duration(self.duration)} is not steps × step_duration "
                f"({self.steps} × {format_duration(self.step_duration)}); give one of them",
            )
        start = self.start_rate if self.open_loop else self.start_users
        top = self.rate if self.open_loop else self.users
        assert top is not None
        if start is not None and start >= top:
            key = "start_rate" if self.open_loop else "start_users"
            target = "rate" if self.open_loop else "users"
            raise KeyedError(
                (key,), f"must be below {target} ({top:g}) so the steps go up, got {start:g}"
            )
        return self


def _check_shaped(phase: Phase, given: set[str]) -> None:
    """The keys of the daily, trace, spikes and bursts shapes: where they apply, and that
    they fit the phase (stress.load.shapes draws them)."""
    kind = phase.kind.value
    for keys, owner in ((_DAILY_KEYS, PhaseKind.DAILY), (_TRACE_KEYS, PhaseKind.TRACE)):
        for key in keys:
            if key in given and phase.kind is not owner:
                raise KeyedError((key,), f"applies to kind {owner.value}, not {kind}; remove it")
    if phase.kind is PhaseKind.TRACE:
        wrong = ("users", "rate", *_USERS_KEYS, "start_rate", "arrival", "burstiness")
        for key in (*wrong, *_STEPPED, "until", *_EXTRA_KEYS):
            if key in given:
                raise KeyedError(
                    (key,),
                    "does not apply to a trace phase: its log's timestamps say when each "
                    "request is due; remove it (speed: N replays N times faster)",
                )
        if phase.inputs is TraceInputs.LOGGED:
            for key in ("format", "timestamp_field"):
                if key in given:
                    raise KeyedError(
                        (key,),
                        "does not apply with inputs: logged: the times are the logged "
                        "requests' own, read with inputs.from_log.format; remove it",
                    )
        elif phase.path is None:
            raise KeyedError(
                ("path",),
                "a trace phase needs the log to replay, e.g. path: logs/requests.jsonl (or "
                "inputs: logged to replay inputs.from_log's requests at their times)",
            )
    if phase.kind is PhaseKind.DAILY:
        if phase.rate is None:
            raise KeyedError(
                ("rate",),
                "a daily phase is open-loop: give rate, the peak's requests/s (e.g. rate: 50)",
            )
        if phase.min_rate is None:
            phase.min_rate = phase.rate / 10
        if phase.min_rate >= phase.rate:
            raise KeyedError(
                ("min_rate",),
                f"must be below rate ({phase.rate:g}), the peak, got {phase.min_rate:g}",
            )
        phase.peak_at = 0.6 if phase.peak_at is None else phase.peak_at
        phase.trough_at = 1 / 6 if phase.trough_at is None else phase.trough_at
        if phase.peak_at % 1.0 == phase.trough_at % 1.0:
            raise KeyedError(
                ("peak_at",),
                f"must differ from trough_at ({phase.trough_at:g}); e.g. peak_at: 0.6 "
                f"(14:24) and trough_at: 0.17 (04:00)",
            )
    extras = [key for key in _EXTRA_KEYS if key in given]
    if not extras:
        return
    shaped = (PhaseKind.STEADY, PhaseKind.SOAK, PhaseKind.RAMP, PhaseKind.DAILY)
    if phase.kind not in shaped or phase.rate is None:
        raise KeyedError(
            (extras[0],),
            f"applies to open-loop (rate) steady, soak, ramp and daily phases, not "
            f"{'a closed-loop' if phase.rate is None else 'a'} {kind} phase; remove it",
        )
    if phase.duration is None:
        return  # reported as missing by the caller
    for index, spike in enumerate(phase.spikes or []):
        if spike.at + spike.duration > phase.duration + 1e-9:
            raise KeyedError(
                ("spikes", index, "at"),
                f"the spike ({format_duration(spike.at)} + {format_duration(spike.duration)}) "
                f"ends after the phase ({format_duration(phase.duration)}); move it or shorten it",
            )
    if phase.bursts is not None and phase.bursts.every >= phase.duration:
        raise KeyedError(
            ("bursts", "every"),
            f"{format_duration(phase.bursts.every)} is not shorter than the phase "
            f"({format_duration(phase.duration)}): no burst would happen; use a shorter every",
        )


class Load(StrictModel):
    """Ordered phases plus the runaway guards every run has."""

    phases: list[Phase] = Field(min_length=1)
    # Runaway protection: a typo such as `duration: 10h` must not run all night by accident.
    max_duration: Duration = 1800.0
    max_requests: PositiveInt = 1_000_000

    @model_validator(mode="after")
    def _unique_names(self) -> Load:
        seen: set[str] = set()
        for index, phase in enumerate(self.phases):
            if phase.name in seen:
                raise KeyedError(
                    ("phases", index, "name"),
                    f"phase names must be unique, {phase.name!r} is used twice",
                )
            seen.add(phase.name)
        return self
