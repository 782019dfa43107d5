"""Plain Locust FastHttpUser as a library, for comparison: ``plain_locust.py URL USERS SECONDS``.

Prints one JSON line: {"requests", "seconds", "rps", "cpu_us_per_request", "p50_ms"}. Sends the
same kind of POST body as a stress run (an OpenAI chat request) and reads the whole answer, as
stress does.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

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


def main() -> None:
    assert locust.__version__
    url, users, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    Plain.host = url
    env = Environment(user_classes=[Plain], host=url)
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
    runner.quit()
    # CPU per request over the whole load, warm-up included (as stress's load.json cpu_s).
    cpu_us = (time.process_time() - cpu) / env.stats.total.num_requests * 1e6
    print(
        json.dumps(
            {
                "requests": done,
                "seconds": elapsed,
                "rps": done / elapsed,
                "cpu_us_per_request": cpu_us,
                "p50_ms": statistics.median(times),
            }
        )
    )


if __name__ == "__main__":
    main()
