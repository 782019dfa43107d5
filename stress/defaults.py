"""The bounds every sender of stress uses unless the scenario says otherwise, in one place.

The scenario's defaults (target.timeout, target.max_body_bytes), the load engine and the
parent's sender (preflight, re-sends, replay, shrink, regressions) all read them from here.
Imports nothing, so the load process and the scenario model can use it.
"""

from __future__ import annotations

# Reading an answer stops here (target.max_body_bytes): a runaway body must not exhaust the
# tester's memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Seconds for one whole answer (target.timeout).
TIMEOUT = 10.0
# The readiness probe is a cheap GET: it needs no more than this, whatever target.timeout.
READINESS_TIMEOUT = 10.0
# Bytes of an answer's body kept as its excerpt (failures.jsonl, replay rows).
EXCERPT_BYTES = 2048
