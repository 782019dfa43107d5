"""The transport seam: what every protocol adapter takes and gives.

An adapter turns an input into the exact request (``request``) and an answer into an
``Outcome`` (``parse`` for a whole body, ``parse_events`` for a server-sent event stream whose
events the load engine timed as they arrived). It opens no sockets: the engine, the preflight
and replay do the sending, so adapters are tested with recorded request/answer pairs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from stress import framing
from stress.inputs import damage
from stress.inputs.corpus import Input
from stress.scenario import Target
from stress.targets import strictjson
from stress.targets.sse import Event

# Characters of an answer a record keeps: stress.record.EXCERPT_CHARS (not imported from
# there: it imports pyarrow, which `stress generate` does not need).
EXCERPT_CHARS = 200

JSON = "application/json"


@dataclass(frozen=True)
class HttpRequest:
    """Exactly what goes on the wire: method, path (with query), headers, body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @functools.cached_property
    def framed(self) -> bool:
        """The sender frames it itself (a chunked body, Expect: 100-continue: stress.framing);
        worked out once per request object, so the load's plan pays nothing per send."""
        return framing.by_sender(self.headers)


@dataclass
class Outcome:
    """An answer as the protocol understands it. ``problem`` says why its shape is wrong."""

    problem: str | None = None
    text: str | None = None
    prediction: Any = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int | None = None
    # True when output_tokens were counted by stress (no usage in the answer), not reported.
    tokens_estimated: bool | None = None
    # A stream that broke its protocol: no [DONE], a malformed chunk, an error event, a stall.
    anomaly: str | None = None
    # Streams: when each event carrying output arrived (time.perf_counter), in order.
    token_times: list[float] = field(default_factory=list)

    @property
    def output(self) -> str | None:
        """The answer as a canonical string: the text, or the predictions as JSON."""
        if self.text is not None:
            return self.text
        if self.prediction is not None:
            return json.dumps(self.prediction, sort_keys=True, allow_nan=True)
        return None

    def digest(self) -> str | None:
        output = self.output
        if output is None:
            return None
        encoded = output.encode("utf-8", "surrogatepass")
        return hashlib.sha256(encoded).hexdigest()[:16]

    def excerpt(self) -> str | None:
        output = self.output
        return None if output is None else output[:EXCERPT_CHARS]


class Adapter(Protocol):
    """A protocol adapter. ``health_path`` is probed before load begins (None: TCP only)."""

    health_path: str | None

    def request(self, item: Input) -> HttpRequest: ...

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome: ...

    def parse_events(self, events: Sequence[Event]) -> Outcome: ...

    def readiness(self) -> HttpRequest | None: ...

    def judge_readiness(self, status: int, body: bytes) -> tuple[bool | None, str]: ...

    def get(self, path: str) -> HttpRequest: ...


class BaseAdapter:
    """What every adapter shares: the target's headers and query parameters with ${ENV_VAR}
    references resolved, the endpoint path, and the input-id header on every request.

    ``environ`` (default os.environ) is where secrets come from; a missing variable raises
    stress.secrets.MissingVariable (the run checks for that before it gets here).
    """

    default_path = "/"
    health_path: str | None = None

    def __init__(
        self,
        target: Target,
        *,
        columns: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        # Tabular protocols: the model's feature columns, in order (empty for text protocols).
        self.columns = list(columns)
        # identity: the bytes the server sends are the bytes we parse and time; Locust would
        # otherwise ask for gzip and hand us compressed bodies.
        self.headers = {
            "Content-Type": JSON,
            "Accept": JSON,
            "Accept-Encoding": "identity",
            **target.resolved_headers(environ),
        }
        params = target.resolved_params(environ)
        self.query = urlencode(params) if params else ""
        self.path = self.with_query(target.path or self.default_path)
        self.id_header = target.input_id_header

    def with_query(self, path: str) -> str:
        """``path`` with {model} filled in and the target's query parameters appended."""
        path = path.replace("{model}", quote(self.target.model, safe=""))
        if not self.query:
            return path
        return f"{path}{'&' if '?' in path else '?'}{self.query}"

    def http(self, item: Input, body: bytes, *, method: str = "POST") -> HttpRequest:
        headers = dict(self.headers)
        if item.kind == "raw":  # a raw family may send its own headers and method
            headers = raw_headers(item.payload, headers)
            method = str(item.payload.get("method", method))
        if self.id_header:
            headers[self.id_header] = item.id
        return HttpRequest(method, self.path, headers, body)

    def get(self, path: str) -> HttpRequest:
        """A GET of ``path`` with the target's headers and query (for readiness probes)."""
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
        return HttpRequest("GET", self.with_query(path), headers, b"")

    def parse_events(self, events: Sequence[Event]) -> Outcome:
        return Outcome(problem="answered with an event stream, but this protocol answers JSON")

    def readiness(self) -> HttpRequest | None:
        """The request that asks whether the target is ready (None: send one valid input)."""
        path = self.target.health or self.health_path
        return None if path is None else self.get(path)

    def judge_readiness(self, status: int, body: bytes) -> tuple[bool | None, str]:
        """(True, "") ready; (False, why) not ready; (None, hint) unsure: try one request."""
        if 200 <= status < 300:
            return True, ""
        if self.target.health is not None:
            return False, f"{self.target.health} answered HTTP {status}"
        return None, ""


def dumps(document: Any) -> bytes:
    """JSON bytes as a typical client sends them: UTF-8, NaN and Infinity as bare tokens.

    Lone surrogates cannot be encoded as UTF-8, so they go out as JSON ``\\udXXX`` escapes.
    """
    text = json.dumps(document, ensure_ascii=False, allow_nan=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, ensure_ascii=True, allow_nan=True).encode("ascii")


# Replacement values for wrong_type, one per JSON type; null is left out on purpose, since
# many APIs read null as "not set", which is valid.
_WRONG_TYPES: tuple[Any, ...] = (True, 123456789, "not-the-right-type", [1, 2], {"a": 1})


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def mutate(
    body: dict[str, Any],
    payload: Mapping[str, Any],
    *,
    required: list[str],
    typed: list[str],
    valid_types: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """Break a valid body as a mutation payload says: drop one of the ``required`` fields, or
    give one of the ``typed`` fields a value of another JSON type.

    ``valid_types`` names, per field, further JSON types the protocol accepts there (``prompt``
    of openai-completions takes a string or a list), so the "wrong" value is really wrong.
    """
    pick = payload["pick"]
    broken = dict(body)
    if payload["op"] == "missing_field":
        broken.pop(required[pick % len(required)], None)
        return broken
    name = typed[pick % len(typed)]
    accepted = {_json_type(body.get(name)), *(valid_types or {}).get(name, ())}
    candidates = [payload["wrong_value"], *_WRONG_TYPES]
    wrong = [v for v in candidates if v is not None and _json_type(v) not in accepted]
    broken[name] = wrong[0] if wrong[0] is payload["wrong_value"] else wrong[pick % len(wrong)]
    return broken


def mangle(payload: Mapping[str, Any], body: bytes) -> bytes:
    """Apply a raw family's damage to a valid body (see stress.inputs.damage)."""
    return damage.damage(payload, body)


def raw_headers(payload: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The headers for a raw input: its ``content_type`` (None: no header) replaces ours."""
    return damage.headers(payload, headers)


def usage_tokens(document: Any) -> tuple[int | None, int | None]:
    """(prompt, completion) token counts from an OpenAI-style ``usage`` object, if any."""
    usage = document.get("usage") if isinstance(document, dict) else None
    if not isinstance(usage, dict):
        return None, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else None,
        completion if isinstance(completion, int) and not isinstance(completion, bool) else None,
    )


def excerpt(body: bytes, size: int = 160) -> str:
    """The start of an answer for a message: decoded leniently, on one line."""
    return " ".join(body[: size * 2].decode("utf-8", "replace").split())[:size]


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """Decode a JSON answer; the second item names the problem, if any (one strict parse
    shared with the strict_json check: stress.targets.strictjson)."""
    return strictjson.loads(body)
