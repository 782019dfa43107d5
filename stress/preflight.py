"""Preflight: before any load, make sure the target answers and serves the scenario's model.

One probe per target, in this order:

1. the protocol's readiness endpoint (``/v1/models`` for OpenAI servers, ``/v2/models/{m}/ready``
   for KServe v2, ``/v1/models/{m}`` for KServe v1, ``/health`` for MLflow, or
   ``target.health``): a clear yes or no ends the preflight;
2. otherwise (no such endpoint, or it could not say) one valid input, as the load will send it:
   a 2xx answer passes; so do a 5xx, a 408 and a 429, because a server that fails or is busy
   under a valid request is what the run is there to find and report (exit 1, with findings);
   any other 4xx means the scenario does not fit the server (the model, the path, the key,
   the format) and would only fill the run with refused valid inputs.

An unreachable target, a readiness endpoint that says no, and a refused valid request raise
TargetUnreachable (exit 3) with the URL, what was asked, what came back and what to change.
Secret values never appear in the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx

from stress import defaults, errorkinds
from stress.errors import TargetUnreachable
from stress.inputs.corpus import Input
from stress.secrets import Redactor
from stress.sender import Sender
from stress.targets import Adapter, HttpRequest
from stress.targets.base import excerpt

# The readiness probe is a cheap GET: it needs no more than this, whatever the target timeout.
READINESS_TIMEOUT = defaults.READINESS_TIMEOUT
# A probe's answer is read up to this many bytes (the load's default target.max_body_bytes).
PROBE_BYTES = defaults.MAX_BODY_BYTES


def probe_input(inputs: Sequence[Input]) -> Input | None:
    """The input the preflight sends: the first realistic one, else the first valid one."""
    valid = [item for item in inputs if item.expect == "accept"]
    realistic = [item for item in valid if item.family.startswith("realistic.")]
    chosen = realistic or valid
    return chosen[0] if chosen else None


def preflight(
    url: str,
    adapter: Adapter,
    inputs: Sequence[Input],
    *,
    timeout: float,
    redactor: Redactor | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Probe the target; returns what passed (for the console), raises TargetUnreachable.

    ``transport`` replaces the network (tests pass an httpx.MockTransport).
    """
    scrub = (redactor or Redactor()).scrub
    hint = ""
    with Sender(url, timeout=timeout, max_bytes=PROBE_BYTES, transport=transport) as client:
        readiness = adapter.readiness()
        if readiness is not None:
            status, body = _send(client, readiness, url, scrub, min(timeout, READINESS_TIMEOUT))
            ready, why = adapter.judge_readiness(status, body)
            where = scrub(readiness.path)
            if ready:
                return f"GET {where} answered HTTP {status}"
            if ready is False:
                raise TargetUnreachable(f"target: {url} is not ready: {scrub(why)}")
            hint = f" ({scrub(why)})" if why else ""
        item = probe_input(inputs)
        if item is None:
            # Only malformed inputs in this scenario: any HTTP answer shows the server is up.
            status, _ = _send(client, HttpRequest("GET", "/", {}, b""), url, scrub, timeout)
            return f"GET / answered HTTP {status}"
        request = adapter.request(item)
        status, body = _send(client, request, url, scrub, timeout)
        if 200 <= status < 300 or status >= 500 or status in (408, 429):
            return f"one valid request ({item.id}) answered HTTP {status}"
        raise TargetUnreachable(
            f"target: {url} answered HTTP {status} to one valid request "
            f"({request.method} {scrub(request.path)}, input {item.id}): "
            f"{scrub(excerpt(body)) or '(empty body)'}; {_fix(status)}{hint}"
        )


def _fix(status: int) -> str:
    if status in (401, 403):
        return "check the credentials in target.headers / target.params"
    if status == 404:
        return "check target.model and target.path (the model or the endpoint is not there)"
    if status in (400, 422):
        return "check target.model, target.format and the request fields for this server"
    return "check that target.url and target.protocol match this server"


def _send(
    client: Sender,
    request: HttpRequest,
    url: str,
    scrub: Callable[[str], str],
    timeout: float,
) -> tuple[int, bytes]:
    # Bounded like every other read of the target: a server that dribbles its headers or
    # streams an endless body must not hold the run before it starts.
    reply = client.send(
        request.method, request.path, request.headers, request.body, timeout=timeout
    )
    if reply.error_kind in (errorkinds.TIMEOUT, errorkinds.HANG):
        raise TargetUnreachable(
            f"target.url: {url} did not answer {request.method} {scrub(request.path)} within "
            f"{timeout:g} s; check that the server is up, or raise target.timeout"
        )
    if reply.error_kind in errorkinds.CONNECTION_KINDS:
        reason = scrub(reply.reason or reply.error_kind.replace("_", " "))
        raise TargetUnreachable(
            f"target.url: cannot reach {url} ({reason}); start the server or point "
            f"target.url (or --target) at a running endpoint"
        )
    return reply.status, reply.body
