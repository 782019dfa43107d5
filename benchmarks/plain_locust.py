"""Plain Locust FastHttpUser as a library, for comparison:
``plain_locust.py URL USERS SECONDS [RATE]``.

Prints one JSON line: {"requests", "seconds", "rps", "cpu_us_per_request", "p50_ms"}. Sends the
same kind of POST body as a stress run (an OpenAI chat request) and reads the whole answer, as
stress does.

With RATE, the users are paced instead of sending back to back: user i of n sends at
t0 + (i + k·n) / RATE for k = 0, 1, ... (the whole stream evenly spaced at RATE, as a stress
constant-rate phase with n slots), sleeping with gevent until each send is due, and sending at
once when it is already behind. This is Locust's own way to pace (a user's wait before its next
task, as ``constant_pacing`` does), without stress's checks, records or shared queue: the
reference for what the event loop itself can keep on time. It adds, over every paced send
from the first (warm-up included, as stress's open-loop figures are): {"sends", "behind":
sends that left 2 ms or more after their time, "late": those of them whose user was still
waiting for its last answer when the send came due (stress's late: no slot free),
"lag_p50_ms", "lag_p99_ms"}. Unlike stress's slots, which take whichever arrival is next,
each user keeps its own share of the schedule.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import ClassVar

import gevent
import locust
from locust import FastHttpUser, constant, task
from locust.env import Environment

BODY = json.dumps(
    {"model": "demo", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 16}
).encode()
HEADERS = {"Content-Type": "application/json"}


class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def send(self) -> None:
        self.client.post("/v1/chat/completions", data=BODY, headers=HEADERS)


class Paced(FastHttpUser):
    """Sends at its own evenly spaced times (see the module's docstring); ``rate`` and
    ``users`` are set before the run, ``t0`` when the first user starts."""

    wait_time = constant(0)
    rate = 1.0
    users = 1
    t0: float | None = None
    spawned = 0
    lags: ClassVar[list[tuple[float, bool]]] = []

    def on_start(self) -> None:
        cls = type(self)
        if cls.t0 is None:
            cls.t0 = time.perf_counter() + 0.05
        self.index = cls.spawned
        cls.spawned += 1
        self.k = 0

    @task
    def send(self) -> None:
        cls = type(self)
        assert cls.t0 is not None
        due = cls.t0 + (self.index + self.k * cls.users) / cls.rate
        self.k += 1
        busy = time.perf_counter() >= due  # its last answer came after this send was due
        while (wait := due - time.perf_counter()) > 0:
            gevent.sleep(wait)  # the loop's timers may wake it a little early: again
        cls.lags.append((time.perf_counter() - due, busy))
        self.client.post("/v1/chat/completions", data=BODY, headers=HEADERS)


def main() -> None:
    assert locust.__version__
    url, users, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else None
    user: type[FastHttpUser] = Plain
    if rate is not None:
        Paced.rate, Paced.users, user = rate, users, Paced
    user.host = url
    env = Environment(user_classes=[user], host=url)
    runner = env.create_local_runner()
    times: list[float] = []
    env.events.request.add_listener(lambda response_time, **_: times.append(response_time))
    cpu = time.process_time()
    runner.start(users, spawn_rate=users * 10)
    gevent.sleep(1.0)  # warm-up, not counted (nor in the latency median)
    times.clear()
    before = env.stats.total.num_requests
    started = time.monotonic()
    gevent.sleep(seconds)
    done = env.stats.total.num_requests - before
    elapsed = time.monotonic() - started
    lags = sorted(lag for lag, _ in Paced.lags)
    runner.quit()
    # CPU per request over the whole load, warm-up included (as stress's load.json cpu_s).
    cpu_us = (time.process_time() - cpu) / env.stats.total.num_requests * 1e6
    figures = {
        "requests": done,
        "seconds": elapsed,
        "rps": done / elapsed,
        "cpu_us_per_request": cpu_us,
        "p50_ms": statistics.median(times),
    }
    if rate is not None and lags:
        figures["sends"] = len(lags)
        figures["behind"] = sum(lag >= 0.002 for lag in lags)
        figures["late"] = sum(lag >= 0.002 and busy for lag, busy in Paced.lags)
        figures["lag_p50_ms"] = lags[len(lags) // 2] * 1000
        figures["lag_p99_ms"] = lags[int(len(lags) * 0.99)] * 1000
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
