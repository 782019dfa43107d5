"""Arrival shapes beyond a constant rate or a linear ramp: a day compressed into minutes,
spikes and bursts on top of a base rate, and the replay of a trace's timestamps. Pure: no
Locust, no gevent, no clock of its own.

A shape is a piecewise-linear offered rate over a step (``knots``: (seconds, requests/s)
points, two points at the same second make a jump), optional ``bursts`` (``size`` arrivals
due at the same instant) and, for a trace, the intended times themselves. Arrivals under a
rate follow it by time rescaling, as in stress.load.pacing: with Λ(t) the integral of the
rate, the k-th arrival is at Λ⁻¹(u_k) for unit-mean points u_k (evenly spaced, exponential
or gamma gaps), which is exact for every arrival process (for Poisson points it is the
non-homogeneous Poisson process of that rate, the same law as thinning gives).

Several load processes share one shape: process ``position`` of ``count`` takes the rate's
points u = position, position + count, ... (constant) or its own seeded stream of share
1/count (random), the bursts' arrivals ``position``, ``position + count``, ... of each burst,
and the trace's arrivals of the same positions: together exactly the whole, none twice.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from stress.load.pacing import CONSTANT, inverse_quadratic, unit_points

Knots = tuple[tuple[float, float], ...]
# Knots per simulated day: one every 5 minutes of the 24 hours. The curve between them is
# linear; a day's cosine shape differs from that by under 0.1 % of the peak.
DAY_POINTS = 288
# A trace's offered-rate curve (the records' offered_rate, the report's offered line) counts
# its arrivals in bins this many per step, and never narrower than MIN_TRACE_BIN seconds.
TRACE_BINS = 200
MIN_TRACE_BIN = 1.0


@dataclass(frozen=True)
class Spike:
    """A window of ``duration`` s from ``at`` s where the rate is ``rate``, or ``factor`` ×
    the base rate."""

    at: float
    duration: float
    rate: float | None = None
    factor: float | None = None


@dataclass(frozen=True)
class Shape:
    """What a step offers: a rate curve, bursts on top, or (a trace) the arrival times."""

    knots: Knots
    bursts: tuple[tuple[float, int], ...] = ()
    times: tuple[float, ...] | None = None
    # A trace of logged requests (inputs: logged): the log entry each of ``times`` sends.
    entries: tuple[int, ...] | None = None
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _ends: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Segment i runs from knot i to knot i+1; _ends[i] is Λ at its end.
        starts, ends, total = [], [], 0.0
        for (t0, r0), (t1, r1) in itertools.pairwise(self.knots):
            total += (r0 + r1) / 2 * (t1 - t0)
            starts.append(t0)
            ends.append(total)
        object.__setattr__(self, "_starts", tuple(starts))
        object.__setattr__(self, "_ends", tuple(ends))

    @property
    def peak(self) -> float:
        return max(rate for _, rate in self.knots)

    def rate_at(self, t: float) -> float:
        """The offered rate (all processes together) at ``t`` s; the later value at a jump."""
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return self.knots[0][1]
        (t0, r0), (t1, r1) = self.knots[i], self.knots[i + 1]
        if t >= t1:
            return r1
        return r0 + (r1 - r0) * (t - t0) / (t1 - t0)

    def cumulative(self, t: float) -> float:
        """Λ(t): arrivals the rate offers in [0, t) (bursts and trace times not counted)."""
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        before = self._ends[i - 1] if i > 0 else 0.0
        (t0, r0), (t1, r1) = self.knots[i], self.knots[i + 1]
        span = min(t, t1) - t0
        end = r0 + (r1 - r0) * span / (t1 - t0) if t1 > t0 else r0
        return before + (r0 + end) / 2 * span

    def inverse(self, u: float) -> float | None:
        """The t with Λ(t) = u; None when the rate offers fewer than u arrivals in all."""
        i = bisect.bisect_right(self._ends, u)
        if i >= len(self._ends):
            return None
        before = self._ends[i - 1] if i > 0 else 0.0
        (t0, r0), (t1, r1) = self.knots[i], self.knots[i + 1]
        slope = (r1 - r0) / (t1 - t0)
        within = inverse_quadratic(slope / 2, r0, u - before)
        return t0 + min(within if within is not None else t1 - t0, t1 - t0)

    def expected(self, duration: float) -> float:
        """Arrivals the whole shape offers in [0, duration): all processes together."""
        if self.times is not None:
            return float(sum(1 for t in self.times if t < duration))
        return self.cumulative(duration) + sum(s for t, s in self.bursts if t < duration)

    def after(self, elapsed: float) -> Shape:
        """The rest of the shape from ``elapsed`` s, with times counted from there."""
        if elapsed <= 0:
            return self
        knots = [(0.0, self.rate_at(elapsed))]
        knots += [(t - elapsed, r) for t, r in self.knots if t > elapsed]
        if len(knots) == 1:
            knots.append((0.0, knots[0][1]))
        times, entries = None, None
        if self.times is not None:
            # The times are sorted: the rest is a tail, and so is its entries'.
            first = bisect.bisect_left(self.times, elapsed)
            times = tuple(t - elapsed for t in self.times[first:])
            entries = None if self.entries is None else self.entries[first:]
        return Shape(
            knots=tuple(knots),
            bursts=tuple((t - elapsed, s) for t, s in self.bursts if t >= elapsed),
            times=times,
            entries=entries,
        )

    def share(self, position: int, count: int) -> Shape:
        """The part process ``position`` (from 0) of ``count`` sends of the trace times (the
        rate and the bursts are split by ShapedSchedule, which knows its points)."""
        if self.times is None or count <= 1:
            return self
        entries = None if self.entries is None else self.entries[position::count]
        return Shape(self.knots, self.bursts, self.times[position::count], entries)


@dataclass(frozen=True)
class ShapedSchedule:
    """The intended send times of one shaped step for one load process (pacing.Schedule's
    interface: ``times()``, ``rate_at(t)``, ``expected()``).

    ``share`` and ``offset`` are pacing.Schedule's: process i of n has share 1/n, offset i/n.
    A shape with ``times`` (a trace) is already this process's part (Shape.share).
    """

    shape: Shape
    duration: float
    arrival: str = CONSTANT
    burstiness: float = 1.0
    seed: int = 0
    share: float = 1.0
    offset: float = 0.0

    @property
    def _position(self) -> tuple[int, int]:
        count = max(1, round(1 / self.share))
        return round(self.offset * count), count

    def rate_at(self, t: float) -> float:
        return self.shape.rate_at(t)

    def expected(self) -> float:
        if self.shape.times is not None:
            return self.shape.expected(self.duration)
        position, count = self._position
        bursts = sum(
            len(range(position, size, count)) for t, size in self.shape.bursts if t < self.duration
        )
        return self.share * self.shape.cumulative(self.duration) + bursts

    def entry(self, k: int) -> int | None:
        """The log entry the ``k``-th arrival of ``times()`` sends (a trace of logged
        requests); None when the arrival takes its input from the corpus."""
        entries = self.shape.entries
        return None if entries is None else entries[k]

    def times(self) -> Iterator[float]:
        """Intended send times in [0, duration), ascending."""
        if self.shape.times is not None:
            return (t for t in self.shape.times if t < self.duration)
        return heapq.merge(self._rate_times(), self._burst_times())

    def _rate_times(self) -> Iterator[float]:
        position, count = self._position
        if self.arrival == CONSTANT:
            # Whole numbers (process i of n takes points i, i + n, ...): no rounding can
            # move a point across the step's end, so the processes add up to the whole.
            points: Iterator[float] = (float(k) for k in itertools.count(position, count))
        else:
            units = unit_points(self.arrival, self.burstiness, self.seed, self.offset)
            points = (unit / self.share for unit in units)
        for point in points:
            t = self.shape.inverse(point)
            if t is None or t >= self.duration:
                return
            yield t

    def _burst_times(self) -> Iterator[float]:
        position, count = self._position
        for t, size in self.shape.bursts:
            if t < self.duration:
                yield from [t] * len(range(position, size, count))


def constant_knots(start_rate: float, end_rate: float, duration: float) -> Knots:
    """A steady rate or a linear ramp as knots."""
    return ((0.0, start_rate), (duration, end_rate))


def day_level(x: float, peak_at: float, trough_at: float) -> float:
    """The daily curve's level in [0, 1] at fraction ``x`` of the day: 0 at the night trough
    (``trough_at``), rising smoothly (half a cosine) to 1 at ``peak_at``, then falling
    smoothly back to the trough; with the defaults a morning rise from 04:00, an afternoon
    peak at 14:24 and an evening fall."""
    rise = (peak_at - trough_at) % 1.0
    since = (x - trough_at) % 1.0
    if since <= rise:
        return (1 - math.cos(math.pi * since / rise)) / 2
    return (1 + math.cos(math.pi * (since - rise) / (1 - rise))) / 2


def daily_knots(
    rate: float,
    min_rate: float,
    duration: float,
    *,
    peak_at: float,
    trough_at: float,
    points: int = DAY_POINTS,
) -> Knots:
    """A whole day (midnight to midnight) compressed into ``duration`` s: ``min_rate`` at the
    trough, ``rate`` at the peak."""
    return tuple(
        (
            duration * k / points,
            min_rate + (rate - min_rate) * day_level(k / points, peak_at, trough_at),
        )
        for k in range(points + 1)
    )


def with_spikes(knots: Knots, spikes: Sequence[Spike]) -> Knots:
    """``knots`` with each spike's window replaced by its rate (or factor × the base rate); a
    later spike wins where windows overlap. The edges of a window are jumps."""
    if not spikes:
        return knots
    base = Shape(knots)
    end = knots[-1][0]
    edges = {t for t, _ in knots}
    for spike in spikes:
        edges.update((min(spike.at, end), min(spike.at + spike.duration, end)))
    times = sorted(edges)
    out: list[tuple[float, float]] = []
    for t0, t1 in itertools.pairwise(times):
        middle = (t0 + t1) / 2
        covering = [s for s in spikes if s.at <= middle < s.at + s.duration]
        r0, r1 = base.rate_at(t0), _left(base, t1)
        if covering:
            spike = covering[-1]
            if spike.rate is not None:
                r0 = r1 = spike.rate
            else:
                assert spike.factor is not None
                r0, r1 = r0 * spike.factor, r1 * spike.factor
        out += [(t0, r0), (t1, r1)]
    return _tidy(out)


def _left(shape: Shape, t: float) -> float:
    """The rate just before ``t`` (where a jump is, the value before it)."""
    i = bisect.bisect_left(shape._starts, t) - 1
    if i < 0:
        return shape.knots[0][1]
    (t0, r0), (t1, r1) = shape.knots[i], shape.knots[i + 1]
    return r0 + (r1 - r0) * (min(t, t1) - t0) / (t1 - t0) if t1 > t0 else r1


def _tidy(points: Iterable[tuple[float, float]]) -> Knots:
    """Drop repeated identical points (a continuous joint written twice)."""
    out: list[tuple[float, float]] = []
    for point in points:
        if not out or out[-1] != point:
            out.append(point)
    return tuple(out)


def bursts_every(
    every: float, size: int, duration: float, start: float | None = None
) -> tuple[tuple[float, int], ...]:
    """(time, size) of bursts at ``start`` (default ``every``), then every ``every`` s."""
    first = every if start is None else start
    count = 0 if first >= duration else math.ceil((duration - first) / every)
    return tuple((first + k * every, size) for k in range(count))


def trace_offsets(timestamps: Sequence[float], speed: float) -> tuple[float, ...]:
    """Intended send times of a trace, from its first timestamp: (t_i - t_0) / speed, sorted
    (a log's lines need not be in time order; equal timestamps are simultaneous)."""
    ordered = sorted(timestamps)
    return tuple((t - ordered[0]) / speed for t in ordered)


def trace_order(timestamps: Sequence[float]) -> tuple[int, ...]:
    """Which entry each of ``trace_offsets(timestamps)`` is: the stable sort by time, so a log
    in time order maps arrival i to entry i, and equal times keep their log order."""
    return tuple(sorted(range(len(timestamps)), key=timestamps.__getitem__))


def trace_length(offsets: Sequence[float]) -> float:
    """How long a trace's replay lasts: its span plus one mean gap, so the last arrival falls
    inside the phase and n arrivals over the phase make its mean rate n / duration."""
    span = offsets[-1] - offsets[0]
    if span <= 0:
        return 1.0
    return span * len(offsets) / (len(offsets) - 1)


def trace_shape(
    offsets: Sequence[float], duration: float, entries: Sequence[int] | None = None
) -> Shape:
    """A trace step: its arrivals before ``duration``, and their rate in bins as the offered
    rate (what the records' offered_rate and the report's offered line show). ``entries``
    (a trace of logged requests) names the log entry each offset sends."""
    times = tuple(t for t in offsets if t < duration)
    kept = None if entries is None else tuple(entries[: len(times)])
    width = max(duration / TRACE_BINS, MIN_TRACE_BIN)
    bins = max(1, math.ceil(duration / width))
    counts = [0] * bins
    for t in times:
        counts[min(int(t // width), bins - 1)] += 1
    knots: list[tuple[float, float]] = []
    for i, n in enumerate(counts):
        t0, t1 = i * width, min((i + 1) * width, duration)
        rate = n / (t1 - t0) if t1 > t0 else 0.0
        knots += [(t0, rate), (t1, rate)]
    return Shape(knots=_tidy(knots), times=times, entries=kept)
