"""This machine's price of idling: ``python -m benchmarks.idle_cost``.

The same unit of pure-Python work (decode, walk and re-encode a chat-completion answer, about
what judging one answer costs) is timed in CPU time, back to back and with a gap between units.
In a gap the thread either sleeps (the CPU may idle, as a load process does between open-loop
arrivals) or spins (the CPU stays busy; the control). When a unit after a sleep costs more CPU
than back to back while a unit after a spin does not, the difference is the machine's: caches
and a virtual CPU that went cold while the thread slept. An open-loop load process sleeps
between arrivals and pays it on every request; a closed-loop one never sleeps and does not,
which is why an open loop reaches a smaller share of the closed-loop ceiling on such a machine,
whatever the tester (section 3b of benchmarks.run shows plain Locust's paced users paying it
too). No network, no stress code.
"""

from __future__ import annotations

import json
import statistics
import time

ANSWER = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "demo",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "a short and ordinary answer " * 4},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36},
    }
)
# Gaps between units, in seconds: one arrival's gap at 6,700 req/s, 2,000 req/s and 500 req/s.
GAPS = (0.00015, 0.0005, 0.002)
UNITS = 2000


def unit() -> int:
    """One unit of work; returns something so it cannot be skipped."""
    total = 0
    for _ in range(3):
        answer = json.loads(ANSWER)
        content = answer["choices"][0]["message"]["content"]
        total += len(content.split()) + len(json.dumps(answer, sort_keys=True))
    return total


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def cpu_per_unit(gap: float, *, sleep: bool, units: int = UNITS) -> float:
    """Median CPU µs of one unit of work, with ``gap`` s of sleep (or spin) before each."""
    costs = []
    for _ in range(units):
        if gap:
            time.sleep(gap) if sleep else spin(gap)
        started = time.thread_time_ns()
        unit()
        costs.append(time.thread_time_ns() - started)
    return statistics.median(costs) / 1000


def measure(rounds: int = 3) -> dict[str, float]:
    """Median over ``rounds`` (each condition once a round, alternating) of the CPU µs a unit
    costs: ``back_to_back``, ``sleep_<µs>`` and ``spin_<µs>`` for each gap."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        samples.setdefault("back_to_back", []).append(cpu_per_unit(0.0, sleep=False))
        for gap in GAPS:
            units = UNITS if gap < 0.001 else UNITS // 4
            for sleep in (True, False):
                key = f"{'sleep' if sleep else 'spin'}_{gap * 1e6:.0f}"
                samples.setdefault(key, []).append(cpu_per_unit(gap, sleep=sleep, units=units))
    return {key: statistics.median(values) for key, values in samples.items()}


def report(rounds: int = 3) -> dict[str, float]:
    figures = measure(rounds)
    base = figures["back_to_back"]
    print(
        "\n3c. the price of idling on this machine: CPU of one unit of pure-Python work "
        f"(median, {rounds} rounds alternating): back to back {base:.1f} µs"
    )
    for gap in GAPS:
        slept, spun = figures[f"sleep_{gap * 1e6:.0f}"], figures[f"spin_{gap * 1e6:.0f}"]
        print(
            f"   after {gap * 1e6:5.0f} µs asleep {slept:6.1f} µs ({slept / base:.2f}×)   "
            f"after {gap * 1e6:5.0f} µs spinning {spun:6.1f} µs ({spun / base:.2f}×)"
        )
    return figures


if __name__ == "__main__":
    report()
