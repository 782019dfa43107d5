"""What a per-request check sees (Exchange, Settings) and what it returns (Finding).

Kept apart from the checks themselves so that every check module can import them without
importing each other. Like the check modules it imports only the standard library at run time:
exported reproducers carry a copy of it (stress.repro.oracle).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from stress.checks.limits import LimitBook

if TYPE_CHECKING:  # annotations only: this module runs on the standard library alone
    from stress.inputs.corpus import Input
    from stress.scenario import Scenario
    from stress.targets.base import HttpRequest, Outcome

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

# Header names whose values are credentials: a response echoing one leaks it.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "openai-api-key"}
)
# Shorter strings than this are not matched as secrets: "Bearer" or "test" would match
# ordinary text and turn the check into noise.
MIN_SECRET_CHARS = 8
# Leak checks search only the start of a body: leaks sit at the top of error pages, and a
# runaway body must not cost the load generator seconds of regex time.
SEARCH_BYTES = 65536
_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Finding:
    """A failed check: data, not an exception.

    ``severity`` is "error" (the request counts as failed: error rate, exit code), "warning"
    or "info"; the scenario may override it per check. ``expected`` and ``got`` are the
    evidence, in words a reader of failures.jsonl understands.
    """

    check: str
    message: str
    severity: str = ERROR
    expected: str | None = None
    got: str | None = None


@dataclass(frozen=True)
class Settings:
    """What the scenario says a correct answer looks like (see Scenario.answers)."""

    protocol: str | None = None
    max_tokens: int | None = None
    json_schema: Mapping[str, Any] | None = None
    labels: tuple[str | int, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    max_bytes: int = 1_048_576
    system_prompts: tuple[str, ...] = ()
    # (where it was declared, the secret): the place is reported, never the value.
    secrets: tuple[tuple[str, str], ...] = ()
    # A compiled validator for json_schema (jsonschema's), built once per run.
    validator: Any = None
    # amplification / input_echo (stress.checks.amplify): answers.amplification.
    amplify_ratio: float = 10.0
    amplify_min_bytes: int = 65_536
    amplify_error_min_bytes: int = 16_384
    echo_min_bytes: int = 1_024
    # runaway_generation (stress.checks.runaway): answers.runaway.
    runaway_token_slack: int = 1
    runaway_ms_per_token: float | None = None
    runaway_min_ms: float = 1_000.0
    # The server's limits: target.limits, and what refusals named since (one per process).
    limits: LimitBook | None = None

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Settings:
        answers = scenario.answers
        validator = None
        if answers.json_schema is not None:
            from jsonschema.validators import validator_for

            validator = validator_for(answers.json_schema)(answers.json_schema)
        return cls(
            protocol=scenario.target.protocol.value,
            max_tokens=scenario.target.max_tokens,
            json_schema=answers.json_schema,
            labels=tuple(answers.labels) if answers.labels is not None else None,
            min_value=answers.min_value,
            max_value=answers.max_value,
            max_bytes=answers.max_bytes,
            system_prompts=tuple(p for p in answers.system_prompt if p.strip()),
            secrets=_secrets(answers.secrets, scenario.target.headers),
            validator=validator,
            amplify_ratio=answers.amplification.ratio,
            amplify_min_bytes=answers.amplification.min_bytes,
            amplify_error_min_bytes=answers.amplification.error_min_bytes,
            echo_min_bytes=answers.amplification.echo_min_bytes,
            runaway_token_slack=answers.runaway.token_slack,
            runaway_ms_per_token=answers.runaway.max_ms_per_token,
            runaway_min_ms=answers.runaway.min_ms,
            limits=LimitBook(dict(scenario.target.limits.known())),
        )


def _secrets(declared: list[str], headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for index, value in enumerate(declared):
        match = _ENV.match(value.strip())
        if match:
            value = os.environ.get(match.group(1), "")
        if len(value) >= MIN_SECRET_CHARS:
            found.append((f"answers.secrets[{index}]", value))
    for name, value in headers.items():
        if name.lower() not in SECRET_HEADERS or "${" in value:
            continue  # an unresolved ${ENV} reference is not the secret itself
        # "Bearer sk-..." leaks as the token, not as the scheme word.
        token = value.split(None, 1)[-1] if " " in value.strip() else value.strip()
        if len(token) >= MIN_SECRET_CHARS:
            found.append((f"target.headers.{name}", token))
    return tuple(found)


DEFAULT_SETTINGS = Settings()


T = TypeVar("T")


class once(Generic[T]):
    """functools.cached_property without its lock (Python 3.11 takes an RLock on every first
    access; an Exchange is judged by one thread): computed on first access, then read from
    the instance like any attribute."""

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    @overload
    def __get__(self, instance: None, owner: type) -> once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> once[T] | T:
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.name] = value
        return value


@dataclass  # not frozen: built per answer, and a frozen one costs ~1 µs more to build
class Exchange:
    """What the checks see of one request: the expectation, the status and the outcome.

    ``headers`` (lower-case names) and ``body`` are the raw answer; ``item`` is the corpus
    input that was sent (None when replaying a stored failure without its corpus);
    ``request`` what went on the wire (None when the caller did not say).
    """

    expect: str
    status: int
    error_kind: str | None
    outcome: Outcome
    latency_ms: float
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    item: Input | None = None
    settings: Settings = DEFAULT_SETTINGS
    request: HttpRequest | None = None

    # Cached: every check asks (a dozen times per answer on the load's hot path).
    @once
    def answered(self) -> bool:
        """A 2xx answer arrived in full (no hang or reset after the headers)."""
        return 200 <= self.status < 300 and self.error_kind in (None, "invalid_response")

    @once
    def parsed(self) -> bool:
        """A 2xx answer the protocol understood: the checks of its content apply."""
        return self.answered and self.outcome.problem is None

    @once
    def server_text(self) -> str | None:
        """What the server itself wrote in the body (error bodies, unreadable 2xx bodies),
        decoded once for every leak check; None for a parsed answer (the model's content)."""
        if not self.body or self.parsed:
            return None
        return self.body[:SEARCH_BYTES].decode("utf-8", "replace")

    @once
    def headers_text(self) -> str:
        return "\n".join(map(": ".join, self.headers.items()))

    def payload(self) -> Mapping[str, Any]:
        payload = self.item.payload if self.item is not None else None
        return payload if isinstance(payload, Mapping) else {}
