"""Scenario files: the model of a scenario, loading it from YAML, and validating it.

Every problem is reported with the file, the key path, the bad value and the fix, for example
``scenarios/x.yaml: load.phases[1].users: expected a positive integer, got -5 (line 12)``.
Unknown keys are errors (a typo must never silently pass), with "did you mean" when close.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from stress import jsonpath
from stress.errors import ScenarioError, UsageError
from stress.secrets import MissingVariable, references, resolve, secret_values

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"1.5m"``, ``"500ms"`` or ``"1h"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    else:
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"expected a positive duration like 30s, 2m or 500ms, got {value!r}")
    return seconds


def parse_fraction(value: object) -> float:
    """A fraction in [0, 1] from ``0.01`` or ``"1%"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a fraction like 0.01 or 1%, got {value!r}")
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            fraction = float(value.strip()[:-1]) / 100
        elif isinstance(value, int | float | str):
            fraction = float(value)
        else:
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"expected a fraction like 0.01 or 1%, got {value!r}") from None
    if not 0 <= fraction <= 1:
        raise ValueError(f"expected a fraction between 0 and 1 (or 0% to 100%), got {value!r}")
    return fraction


def format_duration(seconds: float) -> str:
    """The shortest of ``"500ms"``, ``"45s"``, ``"2m"`` that says exactly ``seconds``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


_BYTE_SIZE = TypeAdapter(ByteSize)


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"16MiB"``, ``"512KB"``; raises ValueError."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(_BYTE_SIZE.validate_python(value))
    except (ValueError, ValidationError):
        raise ValueError(
            f"expected a size like 16MiB, 512KB or 1048576 (bytes), got {value!r}"
        ) from None


Size = Annotated[int, BeforeValidator(parse_size)]

Duration = Annotated[
    float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]


class Protocol(StrEnum):
    """Wire protocols a target speaks (adapters live in stress.targets)."""

    OPENAI_CHAT = "openai-chat"
    MLFLOW = "mlflow"
    OPENAI_COMPLETIONS = "openai-completions"
    OPENAI_EMBEDDINGS = "openai-embeddings"
    KSERVE_V2 = "kserve-v2"
    KSERVE_V1 = "kserve-v1"
    HTTP_JSON = "http-json"


# Protocols whose answers can stream (SSE); the others reject `stream: true`.
STREAMING_PROTOCOLS = frozenset({Protocol.OPENAI_CHAT, Protocol.OPENAI_COMPLETIONS})
# Protocols that send table rows, so the scenario must declare the feature columns.
TABULAR_PROTOCOLS = frozenset({Protocol.MLFLOW, Protocol.KSERVE_V2, Protocol.KSERVE_V1})
# Body layouts a protocol offers (the first is the default); see stress/targets.
FORMATS = {
    Protocol.MLFLOW: ("dataframe_split", "dataframe_records", "instances", "inputs"),
    Protocol.KSERVE_V1: ("instances", "instances_records"),
}
# Open Inference Protocol tensor types that can carry a numeric feature table.
DATATYPES = ("FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8")
# http-json request templates: "{{name}}" placeholders, by what input they need.
PROMPT_PLACEHOLDERS = ("prompt", "messages")
ROW_PLACEHOLDERS = ("rows", "row", "values", "columns")
COMMON_PLACEHOLDERS = ("input_id", "model", "max_tokens")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_enum_values=False)


class ResponseMap(_Model):
    """http-json: where the parts of an answer are (path expressions), and its JSON Schema."""

    text: str | None = None
    prediction: str | None = None
    output_tokens: str | None = None
    finish_reason: str | None = None
    json_schema: dict[str, Any] | None = None

    @field_validator("text", "prediction", "output_tokens", "finish_reason")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            jsonpath.parse(value)
        return value

    @field_validator("json_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from jsonschema import exceptions, validators

            try:
                validators.validator_for(value).check_schema(value)
            except exceptions.SchemaError as exc:
                where = "/".join(str(part) for part in exc.path) or "(top)"
                raise ValueError(
                    f"not a valid JSON Schema: {exc.message} (at {where}); see json-schema.org"
                ) from None
        return value


class OpenApi(_Model):
    """http-json: the OpenAPI document to import (a file, or a URL on the target's own host)
    and the operation (``POST /predict`` or an operationId) whose schemas drive the run.

    Resolved when the scenario is loaded (stress.openapi, through ``KnownNames.openapi``): the
    operation's path, method, request and response schemas fill the keys the scenario leaves
    out, and the resolved scenario keeps them inline instead of this key.
    """

    file: Annotated[str, Field(min_length=1)] | None = None
    url: Annotated[str, Field(min_length=1)] | None = None
    operation: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OpenApi:
        if (self.file is None) == (self.url is None):
            raise ValueError(
                "give exactly one of file (a path, relative to the scenario) or url (a path "
                "on the target such as /openapi.json), e.g. openapi: {url: /openapi.json}"
            )
        if self.url is not None and not re.match(r"^(/|https?://)", self.url):
            raise _KeyedError(
                ("url",),
                f"expected a path on the target (/openapi.json) or an http(s) URL on the "
                f"target's host, got {self.url!r}; a local document is openapi.file",
            )
        return self


class Target(_Model):
    """Where requests go and how they are spoken."""

    url: str = Field(description="http(s)://host:port or builtin:demo")
    protocol: Protocol
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 10.0
    model: str = "demo-ngram"
    max_tokens: PositiveInt = 64
    stream: bool = False
    # Query parameters added to every request; like headers, values may use ${ENV_VAR}.
    params: dict[str, str] = Field(default_factory=dict)
    # The endpoint path (with {model} filled in) when it is not the protocol's usual one.
    path: str | None = None
    # The readiness path probed before load, when not the protocol's usual one.
    health: str | None = None
    # Every request names its input in this header (null: no header), for server logs.
    input_id_header: str | None = "X-Stress-Input-Id"
    # Streaming: a gap with no bytes longer than this ends the request as a stall finding.
    stall_timeout: Duration | None = None
    # Reading an answer stops here (error kind body_too_large): an endless or huge body must
    # not exhaust the tester's memory. Bytes, or a size like 16MiB, 512KB.
    max_body_bytes: Annotated[Size, Field(ge=1024)] = 16 * 1024 * 1024
    # mlflow and kserve-v1: the body layout (FORMATS); null takes the protocol's default.
    format: str | None = None
    # kserve-v2: name and datatype of the input tensor.
    input_name: Annotated[str, Field(min_length=1)] = "input-0"
    datatype: str = "FP32"
    # http-json: the method, the request template with {{placeholders}}, and the answer map.
    method: Annotated[str, Field(pattern=r"^[A-Z]+$")] = "POST"
    request: Any = None
    response: ResponseMap | None = None
    # http-json: an OpenAPI operation that fills path, method, request and schemas.
    openapi: OpenApi | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if url in ("builtin:demo", "builtin:noop") or re.match(r"^https?://[^/\s]+", url):
            return url.rstrip("/")
        raise ValueError(
            f"expected http://host:port, https://host:port or builtin:demo, got {url!r}"
        )

    @field_validator("headers", "params")
    @classmethod
    def _references(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            try:
                references(value)
            except ValueError as exc:
                raise _KeyedError((key,), str(exc)) from None
        return values

    @model_validator(mode="after")
    def _protocol_options(self) -> Target:
        protocol = self.protocol
        for key in ("path", "health"):
            value = getattr(self, key)
            if value is not None and not value.startswith("/"):
                raise _KeyedError((key,), f"expected a path starting with /, got {value!r}")
        if self.input_id_header is not None and not _HEADER_NAME_RE.match(self.input_id_header):
            raise _KeyedError(
                ("input_id_header",),
                f"expected an HTTP header name like X-Stress-Input-Id (or null for none), "
                f"got {self.input_id_header!r}",
            )
        if self.stream and protocol not in STREAMING_PROTOCOLS:
            names = ", ".join(sorted(p.value for p in STREAMING_PROTOCOLS))
            raise _KeyedError(
                ("stream",), f"protocol {protocol.value} does not stream; only {names} do"
            )
        if self.format is not None:
            allowed = FORMATS.get(protocol)
            if allowed is None:
                names = ", ".join(p.value for p in FORMATS)
                raise _KeyedError(
                    ("format",), f"protocol {protocol.value} has no formats; only {names} do"
                )
            if self.format not in allowed:
                close = difflib.get_close_matches(self.format, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise _KeyedError(
                    ("format",),
                    f"{hint}expected one of {', '.join(allowed)} for {protocol.value}, "
                    f"got {self.format!r}",
                )
        if self.stall_timeout is not None and not self.stream:
            raise _KeyedError(
                ("stall_timeout",),
                "a stall is a pause in a streamed answer; set stream: true "
                "(openai-chat, openai-completions) or remove stall_timeout",
            )
        only = {"input_name": Protocol.KSERVE_V2, "datatype": Protocol.KSERVE_V2}
        only["method"] = Protocol.HTTP_JSON
        for key, owner in only.items():
            # Compared with the default, not "was it written": a resolved scenario.yaml spells
            # out every default.
            if getattr(self, key) != type(self).model_fields[key].default and protocol is not owner:
                raise _KeyedError(
                    (key,),
                    f"{key} applies to protocol {owner.value} only, not {protocol.value}; "
                    f"remove it",
                )
        if self.datatype not in DATATYPES:
            raise _KeyedError(
                ("datatype",), f"expected one of {', '.join(DATATYPES)}, got {self.datatype!r}"
            )
        if protocol is Protocol.HTTP_JSON:
            self._check_template()
        else:
            for key in ("request", "response", "openapi"):
                if getattr(self, key) is not None:
                    raise _KeyedError(
                        (key,),
                        f"only protocol http-json takes "
                        f"{'an OpenAPI document' if key == 'openapi' else f'a {key} template'}; "
                        f"remove it or set protocol: http-json",
                    )
        return self

    def _check_template(self) -> None:
        if self.request is None and self.openapi is not None:
            return  # derived from the OpenAPI request schema when the scenario is loaded
        if self.request is None:
            raise _KeyedError(
                ("request",),
                'protocol http-json needs a request template, e.g. request: {"text": "{{prompt}}"}',
            )
        names = self.placeholders()
        known = (*PROMPT_PLACEHOLDERS, *ROW_PLACEHOLDERS, *COMMON_PLACEHOLDERS)
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {{{{{close[0]}}}}}? " if close else ""
                raise _KeyedError(
                    ("request",),
                    f"unknown placeholder {{{{{name}}}}}; {hint}known: "
                    + ", ".join("{{" + k + "}}" for k in known),
                )
        prompt = names & set(PROMPT_PLACEHOLDERS)
        rows = names & set(ROW_PLACEHOLDERS)
        if prompt and rows:
            raise _KeyedError(
                ("request",),
                f"the template mixes prompt placeholders ({', '.join(sorted(prompt))}) with "
                f"row placeholders ({', '.join(sorted(rows))}); a target takes one or the other",
            )
        if not prompt and not rows:
            raise _KeyedError(
                ("request",),
                "the template has no placeholder for the input; put {{prompt}} or "
                "{{messages}} (text models) or {{rows}}, {{row}}, {{values}} (tabular) in it",
            )

    def placeholders(self) -> set[str]:
        """The {{placeholder}} names used anywhere in the http-json request template."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, str):
                found.update(PLACEHOLDER_RE.findall(value))
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk(key)
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self.request)
        return found

    @property
    def takes_rows(self) -> bool:
        """Whether this target sends table rows (else prompts)."""
        if self.protocol is Protocol.HTTP_JSON:
            return bool(self.placeholders() & set(ROW_PLACEHOLDERS))
        return self.protocol in TABULAR_PROTOCOLS

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers with ${ENV_VAR} references filled in; raises secrets.MissingVariable."""
        return {name: resolve(value, environ) for name, value in self.headers.items()}

    def resolved_params(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Query parameters with ${ENV_VAR} references filled in."""
        return {name: resolve(value, environ) for name, value in self.params.items()}

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The values of every variable the headers and params refer to: never to be written."""
        return secret_values([*self.headers.values(), *self.params.values()], environ)


class Feature(_Model):
    """The realistic range of one tabular feature column."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Feature:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max}); swap them")
        return self


class Limits(_Model):
    """The endpoint's declared limits, probed exactly by the size and numbers families."""

    max_prompt_chars: PositiveInt = 32_000
    max_rows: PositiveInt = 1_000
    max_tokens: PositiveInt = 4_096


class CustomFamily(_Model):
    """A family defined by the scenario: ``module:function`` returning a Hypothesis strategy."""

    function: str
    expect: Literal["accept", "reject", "resist"] = "accept"
    description: str = ""

    @field_validator("function")
    @classmethod
    def _reference(cls, function: str) -> str:
        if re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", function):
            return function
        raise ValueError(
            f"expected 'module:function' (e.g. my_package.inputs:greetings), got {function!r}"
        )


# Kinds of personal data scrubbed from logged requests (stress.logs.scrub.KINDS).
PII_KINDS = ("email", "iban", "card", "ssn", "ip", "phone", "address", "name")


class ScrubPattern(_Model):
    """A scenario's own kind of personal data: a regular expression and its substitute."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    regex: str
    # A Faker bothify template (# a digit, ? a letter); default: the match with each digit
    # and letter redrawn.
    replace: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc}), got {regex!r}") from None
        if compiled.fullmatch(""):
            raise ValueError(f"the pattern matches the empty string, got {regex!r}; tighten it")
        return regex


class Scrub(_Model):
    """Personal data replaced in logged requests before anything is written."""

    # Kinds to leave alone (e.g. [ip] when the log has no personal IP addresses).
    skip: list[Literal["email", "iban", "card", "ssn", "ip", "phone", "address", "name"]] = Field(
        default_factory=list
    )
    patterns: list[ScrubPattern] = Field(default_factory=list)
    # Phone numbers without a +country code are read as numbers of this region (ISO 3166).
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    # The Faker locale substitute names come from.
    locale: Annotated[str, Field(pattern=r"^[a-z]{2}_[A-Z]{2}$")] = "en_US"

    @model_validator(mode="after")
    def _unique_names(self) -> Scrub:
        names = [p.name for p in self.patterns]
        for index, name in enumerate(names):
            if name in PII_KINDS or name in names[:index]:
                raise _KeyedError(
                    ("patterns", index, "name"),
                    f"{name!r} is already a kind of personal data; give the pattern its own name",
                )
        return self


class FromLog(_Model):
    """Real requests as the corpus's seeds (stress.logs): the realistic inputs, and what the
    perturbation and messy families vary."""

    # Relative to the scenario file.
    path: str
    format: Literal["auto", "jsonl", "har", "openai-batch"] = "auto"
    # At most this many logged requests, a random sample decided by inputs.seed.
    max: PositiveInt = 500
    scrub: Scrub = Field(default_factory=Scrub)


def is_glob(name: str) -> bool:
    return any(char in name for char in "*?[")


class Inputs(_Model):
    """The corpus: how many inputs, from which families, from which seed."""

    seed: Annotated[int, Field(strict=True, ge=0)] = 0
    count: PositiveInt = 200
    # Family name or glob (`unicode.*`) -> weight; an exact name beats a glob, a later glob
    # beats an earlier one.
    families: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)
    # Tabular protocols: the feature columns the model takes, with realistic ranges.
    features: dict[str, Feature] = Field(default_factory=dict)
    # Names or globs taken out of what `families` selects.
    exclude: list[str] = Field(default_factory=list)
    # Exact number of inputs for these families, taken out of `count`; the rest of `count`
    # is split over `families` by weight.
    counts: dict[str, PositiveInt] = Field(default_factory=dict)
    custom: dict[str, CustomFamily] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    # JSON Schema of the request body: valid bodies are generated from it and the structure
    # and numbers families damage its fields (default: the protocol's own schema).
    body_schema: dict[str, Any] | None = None
    # Logged requests to start from (docs/logs.md).
    from_log: FromLog | None = None

    def weights(self, available: Mapping[str, Sequence[str]], protocol: str) -> dict[str, float]:
        """Family -> weight after globs and excludes; ``available`` maps each family to the
        protocols it applies to. Families in ``counts`` are left to those counts."""
        usable = [name for name, protocols in available.items() if protocol in protocols]
        chosen: dict[str, float] = {}
        for key, weight in self.families.items():
            if is_glob(key):
                for name in fnmatch.filter(usable, key):
                    if name not in self.families:
                        chosen[name] = weight
            else:
                chosen[key] = weight
        for pattern in self.exclude:
            for name in fnmatch.filter(list(chosen), pattern):
                del chosen[name]
        return {name: weight for name, weight in chosen.items() if name not in self.counts}


class PhaseKind(StrEnum):
    """How a phase's load moves over time (stress.load.phases turns each into steps)."""

    STEADY = "steady"  # the same users or rate for the whole phase
    RAMP = "ramp"  # linearly from start_users / start_rate to users / rate
    STEP = "step"  # `steps` equal steps up to users / rate, step_duration each
    SOAK = "soak"  # steady, for long: reported like steady, named for what it looks for
    SWEEP = "sweep"  # steps up until a step breaks the `until` limits (or the last step)
    DAILY = "daily"  # a day's traffic curve (night trough, afternoon peak) in `duration`
    TRACE = "trace"  # replays the timestamps of a request log, `speed` times faster


class Arrival(StrEnum):
    """Open-loop arrival process: when the requests of a ``rate`` phase are due."""

    CONSTANT = "constant"  # evenly spaced, 1/rate apart
    POISSON = "poisson"  # exponential gaps (gamma gaps when burstiness != 1)


class _SetOnly(_Model):
    """A model whose resolved form shows only the keys that are set."""

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class Until(_SetOnly):
    """Where a sweep stops: the first step that breaks any of these limits."""

    p50_ms: Annotated[float, Field(gt=0)] | None = None
    p95_ms: Annotated[float, Field(gt=0)] | None = None
    p99_ms: Annotated[float, Field(gt=0)] | None = None
    error_rate: Fraction | None = None


class TraceFormat(StrEnum):
    """How a trace phase's log gives its timestamps (stress.load.trace reads them)."""

    AUTO = "auto"  # from the extension (.har, .jsonl/.ndjson, .csv, .txt), else the content
    JSONL = "jsonl"  # one JSON object a line, the time in `timestamp_field` (or a usual name)
    HAR = "har"  # a browser/proxy HAR file: log.entries[].startedDateTime
    CSV = "csv"  # a column named `timestamp_field` (or a usual name), or a single column
    TEXT = "text"  # one timestamp a line


class TraceInputs(StrEnum):
    """What a trace phase's arrivals send (docs/load.md, "Replaying a log as it happened")."""

    CORPUS = (
        "corpus"  # the corpus's inputs, in its usual seeded order: only the timing is the log's
    )
    LOGGED = "logged"  # arrival i sends logged request i (realistic.logged of inputs.from_log)


class Spike(_SetOnly):
    """A window of a phase where the rate is ``rate``, or ``factor`` × the phase's rate."""

    at: Duration
    duration: Duration
    rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    factor: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one_level(self) -> Spike:
        if (self.rate is None) == (self.factor is None):
            which = "both" if self.rate is not None else "neither"
            raise _KeyedError(
                ("rate",),
                f"a spike takes rate (requests/s) or factor (× the phase's rate), got {which};"
                f" e.g. rate: 200 or factor: 5",
            )
        return self


class Bursts(_SetOnly):
    """``size`` requests due at the same instant, every ``every`` from ``start`` (default:
    ``every``)."""

    every: Duration
    size: PositiveInt
    start: Duration | None = None


# Keys that only closed-loop (users) phases take, and those only open-loop (rate) phases take.
_USERS_KEYS = ("start_users", "spawn_rate")
_RATE_KEYS = ("start_rate", "arrival", "burstiness", "max_in_flight")
_STEPPED = ("steps", "step_duration")
# Keys of one kind each (stress.load.shapes): a day's curve, a trace, extras on a rate.
_DAILY_KEYS = ("min_rate", "peak_at", "trough_at")
_TRACE_KEYS = ("path", "speed", "format", "timestamp_field", "inputs")
_EXTRA_KEYS = ("spikes", "bursts")


class Phase(_Model):
    """One load phase: closed-loop ``users`` or an open-loop ``rate`` (requests/s).

    ========================================  =================================================
    ``{users: 20, duration: 1m}``             20 users send back to back (reached at spawn_rate)
    ``{rate: 200, duration: 1m}``             200 requests/s whatever the answers' latency
    ``{kind: ramp, rate: 200, duration: 1m}`` 0 → 200 requests/s (from start_rate if given)
    ``{kind: step, users: 50, steps: 5, ...}`` 10, 20, ... 50 users, step_duration each
    ``{kind: sweep, rate: 2000, steps: 10,``  200, 400, ... 2000 requests/s until a step breaks
    ``step_duration: 20s, until: {...}}``     ``until`` (default: the phase's SLO limits)
    ``{kind: daily, rate: 50, min_rate: 5,``  a day in 10 minutes: 5 requests/s at the night
    ``duration: 10m}``                        trough (04:00), 50 at the peak (peak_at 0.6)
    ``{rate: 20, duration: 2m, spikes:``      20 requests/s, 200 for 5 s from 30 s in, and
    ``[{at: 30s, duration: 5s, rate: 200}],`` 50 requests at once every 20 s (spikes and
    ``bursts: {every: 20s, size: 50}}``       bursts go on steady, soak, ramp, daily phases)
    ``{kind: trace, path: logs/a.jsonl,``     the log's timestamps replayed 10 times faster
    ``speed: 10}``                            (path relative to the scenario file)
    ``{kind: trace, inputs: logged,``         inputs.from_log's requests, each sent at its
    ``speed: 2}``                             logged time ÷ 2 (the log replayed as it happened)
    ========================================  =================================================
    """

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: PhaseKind = PhaseKind.STEADY
    users: PositiveInt | None = None
    spawn_rate: Annotated[float, Field(gt=0)] = 10.0
    duration: Duration | None = None
    start_users: Annotated[int, Field(strict=True, ge=0)] | None = None
    rate: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    start_rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    arrival: Arrival = Arrival.CONSTANT
    # Gamma shape of the gaps between arrivals: 1 is Poisson, below 1 burstier (as vLLM's).
    burstiness: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    # Open loop: at most this many requests in flight; an arrival finding every slot busy
    # waits (and is counted late), its latency still measured from its intended send time.
    max_in_flight: PositiveInt = 100
    steps: Annotated[int, Field(strict=True, ge=2)] | None = None
    step_duration: Duration | None = None
    until: Until | None = None
    # kind daily: the rate at the night trough (default a tenth of `rate`, the peak), and
    # where in the day (0 midnight, 0.5 noon) the peak and the trough fall.
    min_rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    peak_at: Fraction | None = None
    trough_at: Fraction | None = None
    # Open-loop steady, soak, ramp and daily phases: windows of another rate, and bursts.
    spikes: list[Spike] | None = None
    bursts: Bursts | None = None
    # kind trace: the log whose timestamps are replayed, how many times faster, its format
    # and the field or column holding the time (default: timestamp, time, ts, created...).
    path: Annotated[str, Field(min_length=1)] | None = None
    speed: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    format: TraceFormat = TraceFormat.AUTO
    timestamp_field: Annotated[str, Field(min_length=1)] | None = None
    # kind trace: `logged` sends logged request i at arrival i (times from inputs.from_log).
    inputs: TraceInputs = TraceInputs.CORPUS

    @property
    def logged(self) -> bool:
        """True for a trace phase that replays inputs.from_log's requests at their times."""
        return self.kind is PhaseKind.TRACE and self.inputs is TraceInputs.LOGGED

    @property
    def open_loop(self) -> bool:
        """True for an arrival-rate phase (``rate``, or a trace), False for closed-loop users."""
        return self.rate is not None or self.kind is PhaseKind.TRACE

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The resolved scenario shows the keys this kind of phase uses, defaults filled in,
        # and none of the others, so that it loads again exactly as it was.
        data: dict[str, Any] = handler(self)
        drop = set(_USERS_KEYS if self.open_loop else _RATE_KEYS)
        if self.arrival is not Arrival.POISSON:
            drop.add("burstiness")
        if self.kind not in (PhaseKind.STEP, PhaseKind.SWEEP):
            drop.update((*_STEPPED, "until"))
        if self.kind is not PhaseKind.TRACE:
            drop.update(_TRACE_KEYS)
        else:
            drop.update(("arrival", "burstiness"))
            if self.logged:
                drop.update(("format", "timestamp_field"))
        return {k: v for k, v in data.items() if k not in drop and v is not None}

    @model_validator(mode="after")
    def _consistent(self) -> Phase:
        given = self.model_fields_set
        _check_shaped(self, given)
        if self.kind is PhaseKind.TRACE:
            return self
        if (self.users is None) == (self.rate is None):
            which = "both" if self.users is not None else "neither"
            raise _KeyedError(
                ("users",),
                f"a phase takes users (closed loop) or rate (open loop, requests/s), got {which};"
                f" e.g. users: 20 or rate: 200",
            )
        wrong = _USERS_KEYS if self.open_loop else _RATE_KEYS
        for key in wrong:
            if key in given:
                loop = "an open-loop (rate)" if self.open_loop else "a closed-loop (users)"
                raise _KeyedError((key,), f"does not apply to {loop} phase; remove it")
        if "burstiness" in given and self.arrival is not Arrival.POISSON:
            raise _KeyedError(
                ("burstiness",), "applies to arrival: poisson only; add that or remove burstiness"
            )
        stepped = self.kind in (PhaseKind.STEP, PhaseKind.SWEEP)
        if not stepped:
            for key in (*_STEPPED, "until"):
                if key in given:
                    raise _KeyedError(
                        (key,), f"applies to kind step or sweep, not {self.kind.value}; remove it"
                    )
            if self.kind is not PhaseKind.RAMP:
                for key in ("start_users", "start_rate"):
                    if key in given:
                        raise _KeyedError(
                            (key,), f"applies to kind ramp, step or sweep, not {self.kind.value}"
                        )
            if self.duration is None:
                raise _KeyedError(("duration",), "required key is missing")
            return self
        if self.steps is None:
            raise _KeyedError(("steps",), f"a {self.kind.value} phase needs steps, e.g. steps: 5")
        if self.step_duration is None and self.duration is None:
            raise _KeyedError(
                ("step_duration",), f"a {self.kind.value} phase needs step_duration, e.g. 30s"
            )
        if self.step_duration is None:
            assert self.duration is not None
            self.step_duration = self.duration / self.steps
        elif self.duration is None:
            self.duration = self.step_duration * self.steps
        elif not math.isclose(self.duration, self.step_duration * self.steps, rel_tol=1e-9):
            raise _KeyedError(
                ("duration",),
                f"{format_duration(self.duration)} is not steps × step_duration "
                f"({self.steps} × {format_duration(self.step_duration)}); give one of them",
            )
        start = self.start_rate if self.open_loop else self.start_users
        top = self.rate if self.open_loop else self.users
        assert top is not None
        if start is not None and start >= top:
            key = "start_rate" if self.open_loop else "start_users"
            target = "rate" if self.open_loop else "users"
            raise _KeyedError(
                (key,), f"must be below {target} ({top:g}) so the steps go up, got {start:g}"
            )
        return self


def _check_shaped(phase: Phase, given: set[str]) -> None:
    """The keys of the daily, trace, spikes and bursts shapes: where they apply, and that
    they fit the phase (stress.load.shapes draws them)."""
    kind = phase.kind.value
    for keys, owner in ((_DAILY_KEYS, PhaseKind.DAILY), (_TRACE_KEYS, PhaseKind.TRACE)):
        for key in keys:
            if key in given and phase.kind is not owner:
                raise _KeyedError((key,), f"applies to kind {owner.value}, not {kind}; remove it")
    if phase.kind is PhaseKind.TRACE:
        wrong = ("users", "rate", *_USERS_KEYS, "start_rate", "arrival", "burstiness")
        for key in (*wrong, *_STEPPED, "until", *_EXTRA_KEYS):
            if key in given:
                raise _KeyedError(
                    (key,),
                    "does not apply to a trace phase: its log's timestamps say when each "
                    "request is due; remove it (speed: N replays N times faster)",
                )
        if phase.inputs is TraceInputs.LOGGED:
            for key in ("format", "timestamp_field"):
                if key in given:
                    raise _KeyedError(
                        (key,),
                        "does not apply with inputs: logged: the times are the logged "
                        "requests' own, read with inputs.from_log.format; remove it",
                    )
        elif phase.path is None:
            raise _KeyedError(
                ("path",),
                "a trace phase needs the log to replay, e.g. path: logs/requests.jsonl (or "
                "inputs: logged to replay inputs.from_log's requests at their times)",
            )
    if phase.kind is PhaseKind.DAILY:
        if phase.rate is None:
            raise _KeyedError(
                ("rate",),
                "a daily phase is open-loop: give rate, the peak's requests/s (e.g. rate: 50)",
            )
        if phase.min_rate is None:
            phase.min_rate = phase.rate / 10
        if phase.min_rate >= phase.rate:
            raise _KeyedError(
                ("min_rate",),
                f"must be below rate ({phase.rate:g}), the peak, got {phase.min_rate:g}",
            )
        phase.peak_at = 0.6 if phase.peak_at is None else phase.peak_at
        phase.trough_at = 1 / 6 if phase.trough_at is None else phase.trough_at
        if phase.peak_at % 1.0 == phase.trough_at % 1.0:
            raise _KeyedError(
                ("peak_at",),
                f"must differ from trough_at ({phase.trough_at:g}); e.g. peak_at: 0.6 "
                f"(14:24) and trough_at: 0.17 (04:00)",
            )
    extras = [key for key in _EXTRA_KEYS if key in given]
    if not extras:
        return
    shaped = (PhaseKind.STEADY, PhaseKind.SOAK, PhaseKind.RAMP, PhaseKind.DAILY)
    if phase.kind not in shaped or phase.rate is None:
        raise _KeyedError(
            (extras[0],),
            f"applies to open-loop (rate) steady, soak, ramp and daily phases, not "
            f"{'a closed-loop' if phase.rate is None else 'a'} {kind} phase; remove it",
        )
    if phase.duration is None:
        return  # reported as missing by the caller
    for index, spike in enumerate(phase.spikes or []):
        if spike.at + spike.duration > phase.duration + 1e-9:
            raise _KeyedError(
                ("spikes", index, "at"),
                f"the spike ({format_duration(spike.at)} + {format_duration(spike.duration)}) "
                f"ends after the phase ({format_duration(phase.duration)}); move it or shorten it",
            )
    if phase.bursts is not None and phase.bursts.every >= phase.duration:
        raise _KeyedError(
            ("bursts", "every"),
            f"{format_duration(phase.bursts.every)} is not shorter than the phase "
            f"({format_duration(phase.duration)}): no burst would happen; use a shorter every",
        )


class Load(_Model):
    """Ordered phases plus the runaway guards every run has."""

    phases: list[Phase] = Field(min_length=1)
    # Runaway protection: a typo such as `duration: 10h` must not run all night by accident.
    max_duration: Duration = 1800.0
    max_requests: PositiveInt = 1_000_000

    @model_validator(mode="after")
    def _unique_names(self) -> Load:
        seen: set[str] = set()
        for index, phase in enumerate(self.phases):
            if phase.name in seen:
                raise _KeyedError(
                    ("phases", index, "name"),
                    f"phase names must be unique, {phase.name!r} is used twice",
                )
            seen.add(phase.name)
        return self


class RequestSlo(_Model):
    """What a good request is: its input was valid, it succeeded (no error finding) and it
    is within every limit set here. ``slo.goodput`` is the least share of good requests;
    goodput is how many completed per second (stress/checks/goodput.py)."""

    latency_ms: Annotated[float, Field(gt=0)] | None = None
    ttft_ms: Annotated[float, Field(gt=0)] | None = None
    tpot_ms: Annotated[float, Field(gt=0)] | None = None
    itl_ms: Annotated[float, Field(gt=0)] | None = None


Milliseconds = Annotated[float, Field(gt=0)]


class PhaseSlo(_Model):
    """Limits that hold for one phase or one family (overrides of the scenario-wide limits)."""

    error_rate: Fraction | None = None
    p95_ms: Milliseconds | None = None
    p50_ms: Milliseconds | None = None
    p99_ms: Milliseconds | None = None
    # Streaming targets: the p95 of the time to first token.
    ttft_p95_ms: Milliseconds | None = None
    # The least share of requests with valid inputs that are good (slo.per_request).
    goodput: Fraction | None = None


class Slo(PhaseSlo):
    """Service-level objectives, checked per phase (and per family where listed)."""

    error_rate: Fraction | None = 0.01
    phases: dict[str, PhaseSlo] = Field(default_factory=dict)
    # Per-family objectives, judged over the family's requests in every phase; a family
    # not listed here is judged only through the phase objectives.
    families: dict[str, PhaseSlo] = Field(default_factory=dict)
    per_request: RequestSlo | None = None

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            moved = _moved_goodput_key(data)
            if moved is not None:
                raise _KeyedError(*moved)
        return data


# Keys that once defined a good request beside slo.goodput, and where each went.
_MOVED_LIMITS = {"goodput_ms": "latency_ms", "goodput_ttft_ms": "ttft_ms"}


def _moved_goodput_key(slo: Mapping[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """The first key of the old goodput form in a raw ``slo`` mapping: (path below slo,
    the problem and its replacement), or None."""
    places: list[tuple[tuple[str, ...], Any]] = [((), slo)]
    for section in ("phases", "families"):
        entries = slo.get(section)
        if isinstance(entries, Mapping):
            places += [((section, str(name)), v) for name, v in entries.items()]
    for path, limits in places:
        if not isinstance(limits, Mapping):
            continue
        where = "".join(f".{part}" for part in path)
        for old, new in _MOVED_LIMITS.items():
            if old in limits:
                value = limits[old]
                scope = "" if not path else ", one for every phase and family"
                return (
                    (*path, old),
                    f"moved, got {value!r}: write slo.per_request.{new}: {value} (the limit "
                    f"of a good request{scope}); slo{where}.goodput stays the least share of "
                    f"good requests",
                )
    per_request = slo.get("per_request")
    if isinstance(per_request, Mapping) and "attainment" in per_request:
        value = per_request["attainment"]
        return (
            ("per_request", "attainment"),
            f"moved, got {value!r}: write slo.goodput: {value} (the least share of good "
            f"requests in each phase; slo.phases.<name>.goodput and slo.families.<name>.goodput "
            f"override it); slo.per_request keeps only the limits of a good request",
        )
    return None


class Severity(StrEnum):
    """How much a finding matters. The scenario's ``fail_on`` says which fail the run."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


def parse_severity(value: object) -> Severity:
    """``error``, ``warn`` (or ``warning``) or ``info``; raises ValueError naming the choices."""
    if isinstance(value, Severity):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "warn":
            return Severity.WARNING
        with contextlib.suppress(ValueError):
            return Severity(text)
    raise ValueError(f"expected one of error, warn or info, got {value!r}")


SeverityName = Annotated[
    Severity, BeforeValidator(parse_severity), PlainSerializer(str, return_type=str)
]


class Answers(_Model):
    """What a correct answer looks like: the settings of the answer and leak checks."""

    # A JSON Schema the answer must satisfy: the chat answer text parsed as JSON, or the
    # tabular predictions list.
    json_schema: dict[str, Any] | None = None
    # The values a prediction (or a whole chat answer) may take, e.g. class names.
    labels: list[str | int] | None = None
    # Every number in a prediction must lie in [min_value, max_value] (0 and 1 for
    # probabilities).
    min_value: float | None = None
    max_value: float | None = None
    # An answer body larger than this is oversize.
    max_bytes: PositiveInt = 1_048_576
    # The deployment's hidden system prompt(s): an answer quoting one leaks it.
    system_prompt: list[str] = Field(default_factory=list)
    # Strings that must never appear in any response (API keys, internal hostnames).
    # ``${NAME}`` takes the value of the environment variable NAME.
    secrets: list[str] = Field(default_factory=list)

    @field_validator("system_prompt", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is None:
            return None
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(part) for part in exc.path) or "(top level)"
            raise ValueError(
                f"not a valid JSON Schema at {where}: {exc.message}; see json-schema.org"
            ) from None
        return schema

    @model_validator(mode="after")
    def _ordered(self) -> Answers:
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError(
                f"min_value ({self.min_value}) must not exceed max_value ({self.max_value}); "
                f"swap them"
            )
        return self


class CompareMethod(StrEnum):
    """How two answers to the same input are compared (degradation, invariance)."""

    EXACT = "exact"  # byte-identical output
    NORMALIZED = "normalized"  # equal after case, whitespace and Unicode normalization
    LABEL = "label"  # the same label per row (argmax of probabilities, class names)
    NUMERIC = "numeric"  # every number within `tolerance`, everything else equal
    LENGTH = "length"  # lengths within `min_length_ratio` of each other
    SEMANTIC = "semantic"  # embedding cosine >= min_similarity (extra: stress[semantic])


class Comparison(_Model):
    # None: chosen by protocol (see stress.checks.compare.default_methods).
    methods: list[CompareMethod] | None = None
    tolerance: Annotated[float, Field(ge=0)] = 1e-6
    min_length_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_similarity: Annotated[float, Field(ge=-1, le=1)] = 0.8
    # sentence-transformers model name or local path, for the semantic method.
    model: str = "sentence-transformers/all-MiniLM-L6-v2"


class Degradation(Comparison):
    """Answers under load against the baseline phase's answers to the same inputs."""

    enabled: bool = True
    # The low-concurrency phase whose answers are the reference; None: the first phase.
    baseline: str | None = None
    # A confirmed degradation rate above this fails the check (per phase and users level).
    max_rate: Fraction = 0.0
    # Inputs whose answer changed under load are re-sent alone afterwards, at most this
    # many, to tell a load effect from an endpoint that answers differently every time.
    max_resends: Annotated[int, Field(strict=True, ge=0)] = 20


class Invariance(Comparison):
    """Perturbed inputs against their seed input: the answer must not change."""

    enabled: bool = True
    max_flip_rate: Fraction = 0.0


class Flakiness(_Model):
    """Failing inputs re-sent alone after the run: deterministic, flaky or load-only."""

    retries: Annotated[int, Field(strict=True, ge=0)] = 3
    max_inputs: Annotated[int, Field(strict=True, ge=0)] = 20
    # Bounds the whole re-send step, however slow the target.
    max_duration: Duration = 60.0


class Scenario(_Model):
    """A whole scenario file."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    target: Target
    inputs: Inputs
    load: Load
    checks: list[str] | None = None
    slo: Slo = Field(default_factory=Slo)
    # Folder of regression cases replayed before the load (stress/repro/regressions.py).
    regressions: Annotated[str, Field(min_length=1)] | None = None
    # Per-check severity overrides, e.g. {accepted_invalid_input: error, strict_json: info}.
    severity: dict[str, SeverityName] = Field(default_factory=dict)
    # Findings of these severities fail the run.
    fail_on: list[SeverityName] = Field(default_factory=lambda: [Severity.ERROR])
    answers: Answers = Field(default_factory=Answers)
    degradation: Degradation = Field(default_factory=Degradation)
    invariance: Invariance = Field(default_factory=Invariance)
    flakiness: Flakiness = Field(default_factory=Flakiness)

    @model_validator(mode="after")
    def _features_for_tabular(self) -> Scenario:
        if self.target.takes_rows and not self.inputs.features:
            needs = f"protocol {self.target.protocol.value}"
            if self.target.protocol is Protocol.HTTP_JSON:
                needs = "an http-json template with row placeholders"
            raise _KeyedError(
                ("inputs", "features"),
                f"{needs} needs the model's feature columns, e.g. "
                "features: {sepal_length: {min: 4.3, max: 7.9}}",
            )
        http_json = self.target.protocol is Protocol.HTTP_JSON
        if http_json and self.inputs.features and not self.target.takes_rows:
            raise _KeyedError(
                ("inputs", "features"),
                "features are for table rows, but the http-json template takes text; "
                "remove inputs.features or use {{rows}}, {{row}} or {{values}} in "
                "target.request",
            )
        return self

    @model_validator(mode="after")
    def _stream_limits(self) -> Scenario:
        limits = self.slo.per_request
        if limits is None or self.target.stream:
            return self
        for key in ("ttft_ms", "tpot_ms", "itl_ms"):
            if getattr(limits, key) is not None:
                raise _KeyedError(
                    ("slo", "per_request", key),
                    f"{key} is measured on streamed answers only; set target.stream: true "
                    f"(openai-chat, openai-completions) or use latency_ms",
                )
        return self

    @model_validator(mode="after")
    def _sweeps(self) -> Scenario:
        sweeps = [i for i, p in enumerate(self.load.phases) if p.kind is PhaseKind.SWEEP]
        if len(sweeps) > 1:
            raise _KeyedError(
                ("load", "phases", sweeps[1], "kind"),
                "one sweep per scenario (its answer is one maximum rate); "
                "split the sweeps into two scenarios",
            )
        for index in sweeps:
            limits = self.sweep_limits(self.load.phases[index])
            if not any(value is not None for value in limits.model_dump().values()):
                raise _KeyedError(
                    ("load", "phases", index, "until"),
                    "a sweep needs a limit to stop at: set until (e.g. until: {p95_ms: 500}) "
                    "or slo.p95_ms / slo.error_rate",
                )
        return self

    @model_validator(mode="after")
    def _logged_traces(self) -> Scenario:
        logged = [i for i, p in enumerate(self.load.phases) if p.logged]
        if not logged:
            return self
        if self.inputs.from_log is None:
            raise _KeyedError(
                ("load", "phases", logged[0], "inputs"),
                "replays the logged requests of inputs.from_log, got logged but the scenario "
                "has no inputs.from_log; add inputs.from_log: {path: logs/requests.jsonl} "
                "or remove inputs: logged",
            )
        if "realistic.logged" in self.inputs.counts:
            raise _KeyedError(
                ("inputs", "counts", "realistic.logged"),
                f"a trace phase with inputs: logged sends every sampled logged request once, "
                f"so the corpus holds each of them once, got "
                f"{self.inputs.counts['realistic.logged']}; remove this count "
                f"(inputs.from_log.max sets how many are sampled)",
            )
        return self

    def sweep_limits(self, phase: Phase) -> Until:
        """The limits a sweep step must hold: ``until``, else the phase's SLO limits."""
        if phase.until is not None:
            return phase.until
        override = self.slo.phases.get(phase.name)
        error_rate = self.slo.error_rate
        p95_ms = self.slo.p95_ms
        if override is not None:
            error_rate = override.error_rate if override.error_rate is not None else error_rate
            p95_ms = override.p95_ms if override.p95_ms is not None else p95_ms
        return Until(p95_ms=p95_ms, error_rate=error_rate)

    @property
    def total_duration(self) -> float:
        return sum(phase.duration or 0.0 for phase in self.load.phases)

    def to_yaml(self) -> str:
        """The resolved scenario (defaults filled in) as YAML, as written to a run directory."""
        data = self.model_dump(mode="json")
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


class _KeyedError(ValueError):
    """A validator's error about a key below the model being validated."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        self.loc = loc
        super().__init__(message)


# What to say instead of pydantic's wording, keyed by pydantic's error type.
_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list (lines starting with '- ')",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
}


def _location(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _field_names(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed at ``loc`` (used for "did you mean")."""
    current: Any = model
    keyed = False  # the previous part named a mapping, so this part is one of its keys
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if keyed:
            keyed = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        keyed = "dict[" in str(annotation)
        current = _model_in(annotation)
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    value = error.get("input")
    got = f", got {value!r}" if kind != "missing" else ""
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind == "greater_than" and ctx.get("gt") == 0:
        noun = "integer" if isinstance(value, int) else "number"
        return f"expected a positive {noun}{got}"
    if kind == "greater_than":
        return f"expected a number greater than {ctx.get('gt')}{got}"
    if kind == "greater_than_equal":
        return f"expected a number of at least {ctx.get('ge')}{got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s){got}"
    if kind == "string_pattern_mismatch":
        return f"expected letters, digits, '.', '_' or '-' only{got}"
    if kind in ("enum", "literal_error"):
        return f"expected one of {ctx.get('expected')}{got}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}{got}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", error["msg"]))
        return message
    return f"{error['msg']}{got}"


def _problems(
    exc: ValidationError, source: str, lines: Mapping[tuple[str | int, ...], int]
) -> list[str]:
    errors = []
    for error in exc.errors():
        loc: tuple[str | int, ...] = tuple(error["loc"])
        # Drop pydantic's internal tags such as 'function-after[...]' from the path.
        loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _KeyedError):
            loc = loc + cause.loc
        errors.append((loc, error))
    # A misspelt key shows up twice: as unknown, and its intended key as missing. Say it once.
    suggested = set()
    for loc, error in errors:
        if error["type"] == "extra_forbidden":
            allowed = _field_names(Scenario, loc[:-1])
            for close in difflib.get_close_matches(str(loc[-1]), allowed, n=1):
                suggested.add((*loc[:-1], close))
    problems = []
    for loc, error in errors:
        if error["type"] == "missing" and loc in suggested:
            continue
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _field_names(Scenario, loc[:-1])
            message = f"unknown key {key!r}"
            matches = difflib.get_close_matches(key, allowed, n=1)
            if matches:
                message += f"; did you mean {matches[0]!r}?"
            elif allowed:
                message += f"; allowed keys: {', '.join(allowed)}"
        else:
            message = _describe(error)
        line = _nearest_line(loc, lines)
        suffix = f" (line {line})" if line else ""
        problems.append(f"{source}: {_location(loc)}: {message}{suffix}")
    return problems


def _nearest_line(
    loc: tuple[str | int, ...], lines: Mapping[tuple[str | int, ...], int]
) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _line_map(text: str) -> dict[tuple[str | int, ...], int]:
    """Key path -> 1-based line number, from the YAML node tree."""
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return lines


def _with_line(
    problem: str, loc: tuple[str | int, ...], lines: Mapping[tuple[str | int, ...], int]
) -> str:
    line = _nearest_line(loc, lines)
    return f"{problem} (line {line})" if line else problem


def _check_known_names(
    scenario: Scenario, known: KnownNames | None
) -> list[tuple[str, tuple[str | int, ...]]]:
    """Problems with names that only make sense against the catalog: (message, key path)."""
    if known is None:
        return []
    problems = _check_families(scenario, known)
    for family in (name for name in scenario.inputs.families if not is_glob(name)):
        if family not in _available(scenario, known):
            close = difflib.get_close_matches(family, list(known.families), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"inputs.families.{family}: unknown input family{hint} "
                    f"(`stress families` lists them)",
                    ("inputs", "families", family),
                )
            )
        elif scenario.target.protocol.value not in _available(scenario, known)[family]:
            problems.append(
                (
                    f"inputs.families.{family}: this family does not apply to protocol "
                    f"{scenario.target.protocol.value!r}; remove it or pick one for this protocol",
                    ("inputs", "families", family),
                )
            )
    for index, check in enumerate(scenario.checks or []):
        if ":" in check and known.resolve_custom is not None:
            problem = known.resolve_custom(check)
            if problem:
                problems.append((f"checks[{index}]: {problem}", ("checks", index)))
        elif check not in known.checks and check != DEFAULT_CHECKS:
            close = difflib.get_close_matches(check, [*known.checks, DEFAULT_CHECKS], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"checks[{index}]: unknown check {check!r}{hint} "
                    f"(`stress checks` lists them; custom checks are module:function)",
                    ("checks", index),
                )
            )
    custom = [check for check in scenario.checks or [] if ":" in check]
    for name in scenario.severity:
        if name not in known.checks and name not in custom:
            close = difflib.get_close_matches(name, [*known.checks, *custom], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"severity.{name}: unknown check{hint} (`stress checks` lists them)",
                    ("severity", name),
                )
            )
    for family in scenario.slo.families:
        if family not in scenario.inputs.families:
            names = list(scenario.inputs.families)
            close = difflib.get_close_matches(family, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"slo.families.{family}: the scenario sends no input of this family{hint} "
                    f"(families: {', '.join(names)})",
                    ("slo", "families", family),
                )
            )
    phase_names = [phase.name for phase in scenario.load.phases]
    for phase in scenario.slo.phases:
        if phase not in phase_names:
            close = difflib.get_close_matches(phase, phase_names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"slo.phases.{phase}: no load phase has this name{hint} "
                    f"(phases: {', '.join(phase_names)})",
                    ("slo", "phases", phase),
                )
            )
    baseline = scenario.degradation.baseline
    if baseline is not None and baseline not in phase_names:
        close = difflib.get_close_matches(baseline, phase_names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(
            (
                f"degradation.baseline: no load phase is named {baseline!r}{hint} "
                f"(phases: {', '.join(phase_names)})",
                ("degradation", "baseline"),
            )
        )
    if scenario.total_duration > scenario.load.max_duration:
        total = format_duration(scenario.total_duration)
        problems.append(
            (
                f"load.max_duration: the phases last {total}"
                f" but max_duration is {format_duration(scenario.load.max_duration)}; "
                f"raise load.max_duration or shorten the phases",
                ("load", "max_duration"),
            )
        )
    return problems


# In a scenario's `checks` list: every built-in check, so custom ones can be added to them.
DEFAULT_CHECKS = "default"


class KnownNames(BaseModel):
    """Names a scenario may refer to: families (with the protocols each applies to), checks.

    ``custom_problem`` says what is wrong with a custom family's ``module:function`` (None:
    usable); ``schema_problems`` what is wrong with a body_schema.
    ``resolve_custom`` judges a custom check "module:function": None when it can be used,
    else the problem and its fix.
    """

    families: dict[str, list[str]]
    checks: list[str]
    resolve_custom: Callable[[str], str | None] | None = None
    custom_problem: Callable[[str], str | None] | None = None
    schema_problems: Callable[[dict[str, Any]], list[str]] | None = None
    # Why a family named exactly cannot work for this scenario's target (None: it can).
    family_misfit: Callable[[Scenario, str], str | None] | None = None
    # Resolves target.openapi: (scenario data, validated scenario, the scenario file's folder)
    # -> the data with the operation's path, method, template and schemas filled in; raises
    # ScenarioKeyError (exit 2) or TargetUnreachable (exit 3). See stress.openapi.
    openapi: Callable[[dict[str, Any], Scenario, Path], dict[str, Any]] | None = None


def _available(scenario: Scenario, known: KnownNames) -> dict[str, list[str]]:
    """The known families plus the scenario's custom ones (which apply to every protocol)."""
    every = [protocol.value for protocol in Protocol]
    return {**known.families, **dict.fromkeys(scenario.inputs.custom, every)}


def _unknown(name: str, names: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what}{hint} (`stress families` lists them)"


def _check_families(
    scenario: Scenario, known: KnownNames
) -> list[tuple[str, tuple[str | int, ...]]]:
    """Globs, excludes, counts and custom families: each must name something real."""
    inputs = scenario.inputs
    protocol = scenario.target.protocol.value
    available = _available(scenario, known)
    names = list(available)
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    where: tuple[str | int, ...]
    for name, spec in inputs.custom.items():
        where = ("inputs", "custom", name)
        if name in known.families:
            problems.append(
                (f"inputs.custom.{name}: a built-in family has this name; rename it", where)
            )
        elif known.custom_problem is not None:
            problem = known.custom_problem(spec.function)
            if problem:
                problems.append((f"inputs.custom.{name}.function: {problem}", (*where, "function")))
    for key in (k for k in inputs.families if is_glob(k)):
        where = ("inputs", "families", key)
        matching = fnmatch.filter(names, key)
        if not matching:
            problems.append((f"inputs.families.{key}: matches no input family", where))
        elif not any(protocol in available[name] for name in matching):
            problems.append(
                (f"inputs.families.{key}: matches no family for protocol {protocol!r}", where)
            )
    for index, pattern in enumerate(inputs.exclude):
        where = ("inputs", "exclude", index)
        if is_glob(pattern) and not fnmatch.filter(names, pattern):
            problems.append(
                (f"inputs.exclude[{index}]: {pattern!r} matches no input family", where)
            )
        elif not is_glob(pattern) and pattern not in available:
            message = _unknown(pattern, names, f"input family {pattern!r}")
            problems.append((f"inputs.exclude[{index}]: {message}", where))
        elif pattern in inputs.families:
            problems.append(
                (
                    f"inputs.exclude[{index}]: {pattern!r} is both selected in inputs.families "
                    f"and excluded; remove one of them",
                    where,
                )
            )
    for name in inputs.counts:
        where = ("inputs", "counts", name)
        if name not in available:
            problems.append(
                (f"inputs.counts.{name}: {_unknown(name, names, 'input family')}", where)
            )
        elif protocol not in available[name]:
            problems.append(
                (
                    f"inputs.counts.{name}: this family does not apply to protocol {protocol!r}",
                    where,
                )
            )
    if not problems and not inputs.weights(available, protocol) and not inputs.counts:
        problems.append(
            (
                "inputs.families: nothing is left to send after inputs.exclude; "
                "select more families or exclude fewer",
                ("inputs", "families"),
            )
        )
    if not problems and known.family_misfit is not None:
        named = [n for n in inputs.families if not is_glob(n)] + list(inputs.counts)
        for name in named:
            if name in available and protocol in available[name]:
                reason = known.family_misfit(scenario, name)
                key = "counts" if name in inputs.counts else "families"
                if reason:
                    problems.append(
                        (
                            f"inputs.{key}.{name}: does not fit this target: {reason}; remove it",
                            ("inputs", key, name),
                        )
                    )
    if inputs.body_schema is not None and known.schema_problems is not None:
        for problem in known.schema_problems(inputs.body_schema):
            problems.append((f"inputs.body_schema: {problem}", ("inputs", "body_schema")))
    return problems


def from_dict(
    data: object, *, source: str = "<scenario>", text: str = "", known: KnownNames | None = None
) -> Scenario:
    """Validate a parsed scenario; raises ScenarioError listing every problem."""
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            [
                f"{source}: (top level): expected a mapping with name, target, inputs and load, "
                f"got {kind}"
            ]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, source, _line_map(text))) from None
    lines = _line_map(text)
    if scenario.target.openapi is not None:
        scenario = _with_openapi(data, scenario, source, lines, known)
    problems = [
        _with_line(f"{source}: {problem}", loc, lines)
        for problem, loc in _check_known_names(scenario, known)
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


class ScenarioKeyError(_KeyedError):
    """A problem with one key of a scenario, found by a loading hook (KnownNames.openapi):
    ``loc`` is the key path from the top, the message says what is wrong and the fix."""


def _with_openapi(
    data: dict[str, Any],
    scenario: Scenario,
    source: str,
    lines: Mapping[tuple[str | int, ...], int],
    known: KnownNames | None,
) -> Scenario:
    """The scenario with target.openapi resolved into plain http-json keys."""
    where = ("target", "openapi")
    if known is None or known.openapi is None:
        raise ScenarioError(
            [
                _with_line(
                    f"{source}: target.openapi: this command reads resolved scenarios (a run "
                    f"directory's scenario.yaml); load the file with `stress validate` or "
                    f"`stress run`",
                    where,
                    lines,
                )
            ]
        )
    try:
        expanded = known.openapi(data, scenario, Path(source).parent)
    except ScenarioKeyError as exc:
        loc = exc.loc
        raise ScenarioError(
            [_with_line(f"{source}: {_location(loc)}: {exc}", loc, lines)]
        ) from None
    try:
        return Scenario.model_validate(expanded)
    except ValidationError as exc:
        problems = _problems(exc, source, lines)
        raise ScenarioError([f"{p} (from target.openapi)" for p in problems]) from None


def check_environment(
    scenario: Scenario, *, source: str, environ: Mapping[str, str] | None = None
) -> None:
    """Raise ScenarioError naming every ${ENV_VAR} the target refers to that is not set.

    Separate from loading: a run directory's scenario.yaml keeps the references and must stay
    readable (report, compare) where the secrets are not set.
    """
    problems = []
    for section in ("headers", "params"):
        for key, value in getattr(scenario.target, section).items():
            try:
                resolve(value, environ)
            except MissingVariable as exc:
                problems.append(
                    f"{source}: target.{section}.{key}: environment variable {exc.name} is not "
                    f"set; export it before running (export {exc.name}=...) or remove the "
                    f"reference"
                )
    if problems:
        raise ScenarioError(problems)


def from_path(path: str | Path, *, known: KnownNames | None = None) -> Scenario:
    """Load and validate a scenario file; raises ScenarioError (never a traceback)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            [f"{source}: file not found; check the path (scenarios live in scenarios/)"]
        ) from None
    except IsADirectoryError:
        raise ScenarioError([f"{source}: is a directory; pass a scenario .yaml file"]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"]
        ) from None
    except OSError as exc:
        raise ScenarioError(
            [
                f"{source}: cannot read the file ({exc.strerror or exc}); check that it exists "
                f"and that you may read it"
            ]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            [f"{source}: not valid YAML{where}: {problem}; fix the syntax"]
        ) from None
    scenario = from_dict(data, source=source, text=text, known=known)
    log = scenario.inputs.from_log
    if log is not None and not Path(log.path).is_absolute():
        # The log's path is relative to the scenario file; a run's scenario.yaml keeps it whole.
        whole = str((Path(path).parent / log.path).resolve())
        inputs = scenario.inputs.model_copy(
            update={"from_log": log.model_copy(update={"path": whole})}
        )
        scenario = scenario.model_copy(update={"inputs": inputs})
    return scenario


def with_overrides(
    scenario: Scenario,
    *,
    target: str | None = None,
    duration: str | None = None,
    users: int | None = None,
    seed: int | None = None,
    count: int | None = None,
    regressions: str | None = None,
    rate: float | None = None,
) -> Scenario:
    """A copy with command-line overrides applied; raises UsageError naming the flag.

    ``duration``, ``users`` and ``rate`` apply to the last (main load) phase; earlier phases,
    such as the low-concurrency baseline, stay as the scenario says.
    """
    data = scenario.model_dump(mode="json")
    phases = data["load"]["phases"]
    last = scenario.load.phases[-1]
    if last.kind is PhaseKind.TRACE and (users is not None or rate is not None):
        flag = "--users" if users is not None else "--rate"
        raise UsageError(
            f"{flag}: the last phase {last.name!r} replays a trace, whose log sets when each "
            f"request is due; change its speed in the scenario instead"
        )
    if users is not None and last.open_loop:
        raise UsageError(
            f"--users: the last phase {last.name!r} is open-loop (rate: {last.rate:g}); "
            f"pass --rate instead"
        )
    if rate is not None and not last.open_loop:
        raise UsageError(
            f"--rate: the last phase {last.name!r} is closed-loop (users: {last.users}); "
            f"pass --users instead"
        )
    if rate is not None:
        if not rate > 0 or rate == float("inf"):
            raise UsageError(f"--rate: expected a positive number of requests/s, got {rate}")
        phases[-1]["rate"] = rate
    if target is not None:
        data["target"]["url"] = target
    if duration is not None:
        try:
            phases[-1]["duration"] = parse_duration(duration)
        except ValueError as exc:
            raise UsageError(f"--duration: {exc}") from None
        # A stepped phase divides the new duration into its steps.
        phases[-1].pop("step_duration", None)
        # An explicit --duration is a deliberate choice: lift the runaway guard to fit it.
        total = sum(parse_duration(phase["duration"]) for phase in phases)
        data["load"]["max_duration"] = max(parse_duration(data["load"]["max_duration"]), total)
    if users is not None:
        if users <= 0:
            raise UsageError(f"--users: expected a positive integer, got {users}")
        phases[-1]["users"] = users
    if seed is not None:
        if seed < 0:
            raise UsageError(f"--seed: expected a non-negative integer, got {seed}")
        data["inputs"]["seed"] = seed
    if count is not None:
        if count <= 0:
            raise UsageError(f"--count: expected a positive integer, got {count}")
        data["inputs"]["count"] = count
    if regressions is not None:
        data["regressions"] = regressions
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            line.replace("command line: target.url:", "--target:")
            for line in _problems(exc, "command line", {})
        ]
        raise UsageError("\n".join(problems)) from None
