"""A locustfile that makes Locust's own ``locust --worker`` a stress worker.

    locust -f "$(python -c 'import stress.load.locustfile as f; print(f.__file__)')" \\
        --worker --master-host HOST --master-port 5557

Any tooling that starts Locust workers (Docker images, Kubernetes manifests, Helm charts, the
Locust operator) can therefore join a ``stress run --expect-workers N`` master: give it the
stress package and this file as its locustfile. ``stress worker --master HOST:PORT`` does the
same without Locust's command line. The worker takes the scenario, the corpus and the target
URL from the master (set STRESS_TARGET to load another URL from this worker).

Locust loads this file itself: it is the one place in stress that uses Locust's global
``events`` (the hook a locustfile has into the runner Locust's command line creates).
"""

from __future__ import annotations

import os
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from stress.load.engine import worker_user

StressUser, _attach = worker_user(target=os.environ.get("STRESS_TARGET") or None)


def _join(environment: Any, runner: Any, **_: Any) -> None:
    if isinstance(runner, WorkerRunner):
        _attach(runner)


events.init.add_listener(_join)  # type: ignore[no-untyped-call]
