"""A locustfile that makes Locust's own ``locust --worker`` a stress worker.

    locust -f "$(python -c 'import stress.load.locustfile as f; print(f.__file__)')" \\
        --worker --master-host HOST --master-port 5557

Any tooling that starts Locust workers (Docker images, Kubernetes manifests, Helm charts, the
Locust operator) can therefore join a ``stress run --expect-workers N`` master: give it the
stress package and this file as its locustfile. ``stress worker --master HOST:PORT`` does the
same without Locust's command line. The worker takes the scenario, the corpus and the target
URL from the master (set STRESS_TARGET to load another URL from this worker).

Locust loads this file itself; the hook into the runner Locust's command line creates is in
stress.load.engine (the one module of stress that imports Locust).
"""

from __future__ import annotations

import os

from stress.load.engine import locustfile_user

StressUser = locustfile_user(target=os.environ.get("STRESS_TARGET") or None)
