"""Checks and answers: SLOs, severities, answer checks, degradation, invariance,
flakiness."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from stress.scenario.messages import KeyedError
from stress.scenario.values import Duration, Fraction, PositiveInt, StrictModel


class RequestSlo(StrictModel):
    """What a good request is: its input was valid, it succeeded (no error finding) and it
    is within every limit set here. ``slo.goodput`` is the least share of good requests;
    goodput is how many completed per second (stress/checks/goodput.py)."""

    latency_ms: Annotated[float, Field(gt=0)] | None = None
    ttft_ms: Annotated[float, Field(gt=0)] | None = None
    tpot_ms: Annotated[float, Field(gt=0)] | None = None
    itl_ms: Annotated[float, Field(gt=0)] | None = None


Milliseconds = Annotated[float, Field(gt=0)]


class PhaseSlo(StrictModel):
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
                raise KeyedError(*moved)
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


class Amplification(StrictModel):
    """amplification and input_echo (stress/checks/amplify.py, docs/checks.md)."""

    # An answer larger than ratio x the request body (and than what its tokens or
    # predictions explain) is amplified, once it is over the floor below.
    ratio: Annotated[float, Field(gt=1)] = 10.0
    # The floor for 2xx answers: smaller ones are never amplification (a chat answer to a
    # 20-byte prompt is legitimately larger than the prompt).
    min_bytes: PositiveInt = 65_536
    # The floor for error pages and unreadable answers (they explain nothing).
    error_min_bytes: PositiveInt = 16_384
    # A request body at least this large reflected in an error page is an input echo.
    echo_min_bytes: PositiveInt = 1_024


class Runaway(StrictModel):
    """runaway_generation (stress/checks/runaway.py, docs/checks.md)."""

    # Tokens allowed past the request's max_tokens (x n) before it is a runaway (a
    # server counting its stop token is not one).
    token_slack: Annotated[int, Field(strict=True, ge=0)] = 1
    # An answer slower than this per output token is a runaway in time (off when null);
    # the run-wide learned bound is the group check slow_generation (stress/checks/growth.py).
    max_ms_per_token: Annotated[float, Field(gt=0)] | None = None
    # ...and only when it took longer than this in all.
    min_ms: Annotated[float, Field(ge=0)] = 1_000.0


class Growth(StrictModel):
    """cost_growth and slow_generation, judged from the records after the load
    (stress/checks/growth.py, docs/checks.md)."""

    # Latency growing faster than input size ** max_exponent (and surely faster than
    # linear: the fit's lower 95% bound above 1) is a finding.
    max_exponent: Annotated[float, Field(gt=1)] = 1.5
    # A fit needs this many answered requests...
    min_points: Annotated[int, Field(strict=True, ge=3)] = 20
    # ...whose input sizes span at least this factor (largest / smallest).
    min_span: Annotated[float, Field(gt=1)] = 4.0
    # slow_generation: an answer slower than slow_factor x its output tokens x the median
    # time per token of its phase, and by more than slow_min_ms.
    slow_factor: Annotated[float, Field(gt=1)] = 10.0
    slow_min_ms: Annotated[float, Field(ge=0)] = 1_000.0


class Health(StrictModel):
    """health_under_load: the readiness endpoint polled while the load runs
    (stress/healthwatch.py, stress/checks/health.py, docs/cost-checks.md)."""

    # Off by default: the polls are requests a server's own request counts will see.
    enabled: bool = False
    # One probe per interval, each bounded by it.
    interval: Annotated[Duration, Field(ge=0.2)] = 1.0
    # The path polled (any 2xx is ready) when not the preflight's readiness request: e.g. an
    # OpenAI-style server's /health, whose preflight asks /v1/models for the model.
    path: str | None = None

    @field_validator("path")
    @classmethod
    def _a_path(cls, path: str | None) -> str | None:
        if path is not None and not path.startswith("/"):
            raise ValueError(f"expected a path starting with /, e.g. /health, got {path!r}")
        return path


class Answers(StrictModel):
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
    amplification: Amplification = Field(default_factory=Amplification)
    runaway: Runaway = Field(default_factory=Runaway)

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


class Tolerance(StrictModel):
    """How far two numbers (or vectors) may differ and still agree (stress.checks.compare).

    Scalars agree when ``|a - b| <= max(abs, rel * max(|a|, |b|))``; vectors (lists of at
    least 16 numbers: embeddings) when every element does, or when their cosine similarity
    and the ratio of their norms are both at least ``cosine``. The defaults let float noise
    from batching (a few 1e-7) pass and fail any real change. A bare number ``tolerance: X``
    means ``{abs: X, rel: X}``.
    """

    abs: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1e-6
    rel: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 1e-5
    cosine: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.9999


def _tolerance(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value < 1:
            raise ValueError(
                f"a bare tolerance ({value!r}) must be a number in [0, 1); or give "
                f"{{abs: 1e-6, rel: 1e-5, cosine: 0.9999}}"
            )
        return {"abs": value, "rel": value}
    if not isinstance(value, Mapping | Tolerance):
        raise ValueError(
            f"expected a number or a mapping with abs, rel, cosine (got {value!r}); "
            f"e.g. tolerance: {{abs: 1e-6, rel: 1e-5, cosine: 0.9999}}"
        )
    return value


class Comparison(StrictModel):
    # None: chosen by protocol (see stress.checks.compare.default_methods).
    methods: list[CompareMethod] | None = None
    tolerance: Annotated[Tolerance, BeforeValidator(_tolerance)] = Field(default_factory=Tolerance)
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


class Flakiness(StrictModel):
    """Failing inputs re-sent alone after the run: deterministic, flaky or load-only."""

    retries: Annotated[int, Field(strict=True, ge=0)] = 3
    max_inputs: Annotated[int, Field(strict=True, ge=0)] = 20
    # Bounds the whole re-send step, however slow the target.
    max_duration: Duration = 60.0


# In a scenario's `checks` list: every built-in check, so custom ones can be added to them.
DEFAULT_CHECKS = "default"
