"""Scenario files: the model of a scenario, loading it from YAML, and validating it.

Every problem is reported with the file, the key path, the bad value and the fix, for example
``scenarios/x.yaml: load.phases[1].users: expected a positive integer, got -5 (line 12)``.
Unknown keys are errors (a typo must never silently pass), with "did you mean" when close.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from stress.errors import ScenarioError, UsageError

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


Duration = Annotated[
    float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]


class Protocol(StrEnum):
    """Wire protocols a target speaks (adapters live in stress.targets)."""

    OPENAI_CHAT = "openai-chat"
    MLFLOW = "mlflow"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_enum_values=False)


class Target(_Model):
    """Where requests go and how they are spoken."""

    url: str = Field(description="http(s)://host:port or builtin:demo")
    protocol: Protocol
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 10.0
    model: str = "demo-ngram"
    max_tokens: PositiveInt = 64
    stream: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if url in ("builtin:demo", "builtin:noop") or re.match(r"^https?://[^/\s]+", url):
            return url.rstrip("/")
        raise ValueError(
            f"expected http://host:port, https://host:port or builtin:demo, got {url!r}"
        )


class Feature(_Model):
    """The realistic range of one tabular feature column."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Feature:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max}); swap them")
        return self


class Inputs(_Model):
    """The corpus: how many inputs, from which families, from which seed."""

    seed: Annotated[int, Field(strict=True, ge=0)] = 0
    count: PositiveInt = 200
    families: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)
    # Tabular protocols: the feature columns the model takes, with realistic ranges.
    features: dict[str, Feature] = Field(default_factory=dict)


class PhaseKind(StrEnum):
    """How a phase's load moves over time (stress.load.phases turns each into steps)."""

    STEADY = "steady"  # the same users or rate for the whole phase
    RAMP = "ramp"  # linearly from start_users / start_rate to users / rate
    STEP = "step"  # `steps` equal steps up to users / rate, step_duration each
    SOAK = "soak"  # steady, for long: reported like steady, named for what it looks for
    SWEEP = "sweep"  # steps up until a step breaks the `until` limits (or the last step)


class Arrival(StrEnum):
    """Open-loop arrival process: when the requests of a ``rate`` phase are due."""

    CONSTANT = "constant"  # evenly spaced, 1/rate apart
    POISSON = "poisson"  # exponential gaps (gamma gaps when burstiness != 1)


class Until(_Model):
    """Where a sweep stops: the first step that breaks any of these limits."""

    p50_ms: Annotated[float, Field(gt=0)] | None = None
    p95_ms: Annotated[float, Field(gt=0)] | None = None
    p99_ms: Annotated[float, Field(gt=0)] | None = None
    error_rate: Fraction | None = None

    @model_serializer(mode="wrap")
    def _set_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


# Keys that only closed-loop (users) phases take, and those only open-loop (rate) phases take.
_USERS_KEYS = ("start_users", "spawn_rate")
_RATE_KEYS = ("start_rate", "arrival", "burstiness", "max_in_flight")
_STEPPED = ("steps", "step_duration")


class Phase(_Model):
    """One load phase: closed-loop ``users`` or an open-loop ``rate`` (requests/s).

    ========================================  =================================================
    ``{users: 20, duration: 1m}``             20 users send back to back (reached at spawn_rate)
    ``{rate: 200, duration: 1m}``             200 requests/s whatever the answers' latency
    ``{kind: ramp, rate: 200, duration: 1m}`` 0 → 200 requests/s (from start_rate if given)
    ``{kind: step, users: 50, steps: 5, ...}`` 10, 20, ... 50 users, step_duration each
    ``{kind: sweep, rate: 2000, steps: 10,``  200, 400, ... 2000 requests/s until a step breaks
    ``step_duration: 20s, until: {...}}``     ``until`` (default: the phase's SLO limits)
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

    @property
    def open_loop(self) -> bool:
        """True for an arrival-rate phase (``rate``), False for closed-loop users."""
        return self.rate is not None

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
        return {k: v for k, v in data.items() if k not in drop and v is not None}

    @model_validator(mode="after")
    def _consistent(self) -> Phase:
        given = self.model_fields_set
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


class PhaseSlo(_Model):
    """Limits that hold for one phase (overrides of the scenario-wide limits)."""

    error_rate: Fraction | None = None
    p95_ms: Annotated[float, Field(gt=0)] | None = None


class Slo(_Model):
    """Service-level objectives, checked per phase."""

    error_rate: Fraction | None = 0.01
    p95_ms: Annotated[float, Field(gt=0)] | None = None
    phases: dict[str, PhaseSlo] = Field(default_factory=dict)


class Scenario(_Model):
    """A whole scenario file."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    target: Target
    inputs: Inputs
    load: Load
    checks: list[str] | None = None
    slo: Slo = Field(default_factory=Slo)

    @model_validator(mode="after")
    def _features_for_tabular(self) -> Scenario:
        if self.target.protocol is Protocol.MLFLOW and not self.inputs.features:
            raise _KeyedError(
                ("inputs", "features"),
                "protocol mlflow needs the model's feature columns, e.g. "
                "features: {sepal_length: {min: 4.3, max: 7.9}}",
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
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
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
    if kind == "enum":
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
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for family in scenario.inputs.families:
        if family not in known.families:
            close = difflib.get_close_matches(family, list(known.families), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"inputs.families.{family}: unknown input family{hint} "
                    f"(`stress families` lists them)",
                    ("inputs", "families", family),
                )
            )
        elif scenario.target.protocol.value not in known.families[family]:
            problems.append(
                (
                    f"inputs.families.{family}: this family does not apply to protocol "
                    f"{scenario.target.protocol.value!r}; remove it or pick one for this protocol",
                    ("inputs", "families", family),
                )
            )
    for index, check in enumerate(scenario.checks or []):
        if check not in known.checks:
            close = difflib.get_close_matches(check, list(known.checks), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                (
                    f"checks[{index}]: unknown check {check!r}{hint} "
                    f"(known: {', '.join(known.checks)})",
                    ("checks", index),
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


class KnownNames(BaseModel):
    """Names a scenario may refer to: families (with the protocols each applies to), checks."""

    families: dict[str, list[str]]
    checks: list[str]


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
    problems = [
        _with_line(f"{source}: {problem}", loc, lines)
        for problem, loc in _check_known_names(scenario, known)
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


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
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{source}: cannot read the file: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(
            [f"{source}: not valid YAML{where}: {problem}; fix the syntax"]
        ) from None
    return from_dict(data, source=source, text=text, known=known)


def with_overrides(
    scenario: Scenario,
    *,
    target: str | None = None,
    duration: str | None = None,
    users: int | None = None,
    seed: int | None = None,
    count: int | None = None,
    rate: float | None = None,
) -> Scenario:
    """A copy with command-line overrides applied; raises UsageError naming the flag.

    ``duration``, ``users`` and ``rate`` apply to the last (main load) phase; earlier phases,
    such as the low-concurrency baseline, stay as the scenario says.
    """
    data = scenario.model_dump(mode="json")
    phases = data["load"]["phases"]
    last = scenario.load.phases[-1]
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
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            line.replace("command line: target.url:", "--target:")
            for line in _problems(exc, "command line", {})
        ]
        raise UsageError("\n".join(problems)) from None
