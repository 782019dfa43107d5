"""CPU cost of drawing the next arrival time, per shape, side by side with the plain rate.

The pacer greenlet of every load process draws each intended send time from its schedule
(stress.load.pacing.Schedule for steady rates and ramps, stress.load.shapes.ShapedSchedule
for daily curves, spikes, bursts and traces). This measures the time per arrival of each, so
the shapes can be compared with the plain rate and with the ~125 us of CPU Locust's
FastHttpUser spends per request (/work/shared/REFERENCE.md). Run:

    .venv/bin/python -m benchmarks.arrival_shapes [--arrivals 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator

from stress.load import shapes
from stress.load.pacing import POISSON, Schedule
from stress.load.shapes import Shape, ShapedSchedule, Spike


def per_arrival_us(make: Callable[[], Iterator[float]], repeat: int) -> tuple[float, int]:
    """Best of ``repeat`` runs: microseconds per arrival drawn, and the arrivals drawn."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = sum(1 for _ in make())
        best = min(best, (time.perf_counter() - started) / max(count, 1) * 1e6)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rate = 1000.0
    duration = args.arrivals / rate
    day = Shape(shapes.daily_knots(rate * 1.8, rate * 0.18, duration, peak_at=0.6, trough_at=1 / 6))
    spikes = Shape(
        shapes.with_spikes(
            shapes.constant_knots(rate, rate, duration),
            [Spike(at=duration * k / 20, duration=duration / 100, factor=3) for k in range(1, 20)],
        ),
        bursts=shapes.bursts_every(duration / 50, 100, duration),
    )
    trace = shapes.trace_shape([k / rate for k in range(args.arrivals)], duration)
    cases: dict[str, Callable[[], Iterator[float]]] = {
        "steady (Schedule)": lambda: Schedule(rate, rate, duration).times(),
        "steady poisson (Schedule)": lambda: Schedule(
            rate, rate, duration, arrival=POISSON, seed=1
        ).times(),
        "daily, 288 knots": lambda: ShapedSchedule(day, duration).times(),
        "daily poisson": lambda: ShapedSchedule(day, duration, arrival=POISSON, seed=1).times(),
        "19 spikes + 50 bursts": lambda: ShapedSchedule(spikes, duration).times(),
        "trace (given times)": lambda: ShapedSchedule(trace, duration).times(),
    }
    baseline = None
    print(f"{'schedule':<28}{'arrivals':>10}{'us/arrival':>12}{'× steady':>10}")
    for name, make in cases.items():
        us, count = per_arrival_us(make, args.repeat)
        baseline = baseline or us
        print(f"{name:<28}{count:>10}{us:>12.2f}{us / baseline:>10.2f}")


if __name__ == "__main__":
    main()
