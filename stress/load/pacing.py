"""Open-loop arrival schedules: when each request of a ``rate`` phase is due, independent of
how long the answers take. Pure: no Locust, no gevent, no clock of its own (tests drive it
with a fake clock).

A step's offered rate moves linearly from ``start_rate`` to ``end_rate`` over ``duration``
(constant when they are equal). Arrivals are placed by time rescaling: with the cumulative
rate Λ(t) = ∫ rate, the k-th arrival is at Λ⁻¹(u_k), where u_k are unit-mean points —
evenly spaced (constant), exponential gaps (Poisson) or gamma gaps with shape
``burstiness`` (below 1 burstier than Poisson, as vLLM's benchmark draws them). The same
construction makes ramps and steps exact for every arrival process.

Several load processes share one rate: each gets ``share`` of it. Constant schedules are
interleaved with ``offset`` (worker i of n starts at i/n of a gap), so the merged stream is
evenly spaced too; independent Poisson streams merge into a Poisson stream of the whole rate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

CONSTANT = "constant"
POISSON = "poisson"


@dataclass(frozen=True)
class Schedule:
    """The intended send times of one step for one load process, in seconds from its start."""

    start_rate: float
    end_rate: float
    duration: float
    arrival: str = CONSTANT
    burstiness: float = 1.0
    seed: int = 0
    share: float = 1.0
    offset: float = 0.0

    def rate_at(self, t: float) -> float:
        """The whole offered rate (all processes together) at ``t`` seconds into the step."""
        fraction = min(max(t / self.duration, 0.0), 1.0)
        return self.start_rate + (self.end_rate - self.start_rate) * fraction

    def expected(self) -> float:
        """How many arrivals this process should send in the step, on average."""
        return self.share * (self.start_rate + self.end_rate) / 2 * self.duration

    def times(self) -> Iterator[float]:
        """Intended send times in [0, duration), ascending."""
        # Λ(t) = share * (r0 t + (r1 - r0) t² / (2 D)) = a t² + b t
        a = self.share * (self.end_rate - self.start_rate) / (2 * self.duration)
        b = self.share * self.start_rate
        for unit in self._units():
            t = inverse_quadratic(a, b, unit)
            if t is None or t >= self.duration:
                return
            yield t

    def _units(self) -> Iterator[float]:
        return unit_points(self.arrival, self.burstiness, self.seed, self.offset)


def unit_points(arrival: str, burstiness: float, seed: int, offset: float) -> Iterator[float]:
    """Unit-mean arrival points: evenly spaced from ``offset`` (constant) or with exponential
    or gamma (shape ``burstiness``) gaps drawn from ``seed``; time rescaling maps them."""
    if arrival == CONSTANT:
        k = 0
        while True:
            yield k + offset
            k += 1
    rng = random.Random(seed)
    total = 0.0
    while True:
        gap = (
            rng.expovariate(1.0)
            if burstiness == 1.0
            else rng.gammavariate(burstiness, 1.0 / burstiness)
        )
        total += gap
        yield total


def inverse_quadratic(a: float, b: float, u: float) -> float | None:
    """The t ≥ 0 with a t² + b t = u; None when the rate is zero and stays zero."""
    if a <= 0 and b <= 0:
        return None
    if u <= 0:
        return 0.0
    if a == 0:
        return u / b
    discriminant = b * b + 4 * a * u
    if discriminant < 0:
        return None  # a falling rate that reaches zero before u arrivals
    # 2u / (b + √(b² + 4au)) is the stable form of (-b + √…) / 2a for small a.
    root = math.sqrt(discriminant)
    return 2 * u / (b + root) if b + root > 0 else None


class Pacer:
    """Releases a schedule's arrivals as a clock passes their intended times.

    ``start`` is the clock reading at the step's start; intended times are absolute clock
    readings. ``due(now)`` returns every arrival whose time has come (several at once when
    the caller woke late: they keep their intended times, so their latency is measured from
    when they were due, not from when the tester got round to them).
    """

    def __init__(self, times: Iterator[float], start: float) -> None:
        self._times = times
        self._start = start
        self._next: float | None = None
        self._advance()
        self.released = 0

    def _advance(self) -> None:
        offset = next(self._times, None)
        self._next = None if offset is None else self._start + offset

    def next_at(self) -> float | None:
        """The clock reading of the next arrival; None when the schedule is finished."""
        return self._next

    def take(self) -> float:
        """The next arrival, released now (call only when next_at() is not None)."""
        intended = self._next
        assert intended is not None
        self._advance()
        self.released += 1
        return intended

    def due(self, now: float) -> list[float]:
        out = []
        while self._next is not None and self._next <= now:
            out.append(self._next)
            self._advance()
        self.released += len(out)
        return out


@dataclass
class Counts:
    """What happened to one step's arrivals in one load process.

    ``scheduled``: released by the pacer; ``sent``: handed to a slot; ``late``: released while
    every slot was busy, so it waited for one and left 2 ms or more after its time;
    ``unsent``: still waiting when the step ended or after waiting longer than the target's
    timeout (k6's "dropped iterations").
    """

    scheduled: int = 0
    sent: int = 0
    late: int = 0
    unsent: int = 0

    def add(self, other: Counts) -> None:
        self.scheduled += other.scheduled
        self.sent += other.sent
        self.late += other.late
        self.unsent += other.unsent
