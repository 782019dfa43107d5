"""`stress init`: find out what an endpoint speaks, probe it, and write a commented scenario.

    detect(url)        each protocol's own paths, asked in turn (stress.detect): the protocol,
                       model, endpoint path, columns and whether answers stream
    inspect_log(path)  a request log given with --from-log: its entries and, when each has a
                       timestamp, their span (the written replay phase's speed comes from it)
    render(plan)       the scenario as YAML text, every section commented
    check(text)        validated as `stress validate` would (the OpenAPI document resolved)
    probe(scenario)    the preflight, then one valid request, timed (stress.scaffold_probe,
                       with Probe, its warning and the readiness endpoint it found)

The written SLOs come from the probe: ``p95_ms`` is ten times its latency, at least one
second, since one quiet request says little about the tail under load. A credential given
with ``--header`` is written as a ``${VAR}`` reference, never as its value.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from stress import healthwatch
from stress.checks.exchange import SECRET_HEADERS
from stress.detect import Detected as Detected
from stress.detect import detect as detect
from stress.detect import read_rows as read_rows
from stress.errors import UsageError
from stress.limitprobe import CHARS_PER_WORD
from stress.scaffold_probe import Probe as Probe
from stress.scaffold_probe import probe as probe
from stress.scaffold_probe import probe_limits as probe_limits
from stress.scenario import TABULAR_PROTOCOLS, Protocol, Scenario

# A probe GET needs no more than this, whatever the target's own timeout.
PROBE_TIMEOUT = 5.0
# Protocols whose requests name a model the server must serve.
MODEL_PROTOCOLS = (
    Protocol.OPENAI_CHAT,
    Protocol.OPENAI_COMPLETIONS,
    Protocol.OPENAI_EMBEDDINGS,
    Protocol.KSERVE_V2,
    Protocol.KSERVE_V1,
)
# The written SLO: p95 = max(P95_FACTOR x the probe's latency, P95_FLOOR_MS).
P95_FACTOR = 10
P95_FLOOR_MS = 1000
# target.timeout = max(TIMEOUT_FACTOR x the probe's latency, 10 s).
TIMEOUT_FACTOR = 30
# The replay phase written for a log with timestamps lasts about this long at most: a first
# run should take a minute, not the hours a production log spans (speed: span / this).
REPLAY_SECONDS = 60

# Family groups a new scenario starts with, per kind of target, with the comment each gets.
TEXT_GROUPS = (
    ("realistic.*", 6, "what real users send: any failure here is an outage"),
    ("unicode.*", 1, "messy but valid text: emoji, right-to-left, control characters"),
    ("size.*", 0.5, "at and past the declared limits (inputs.limits)"),
    ("numbers.*", 0.5, "request parameters (max_tokens, temperature, ...) at and past bounds"),
    ("structure.*", 0.5, "malformed bodies: a clean 4xx, never a 5xx"),
    ("encoding.*", 0.5, "broken bytes, truncated JSON, a wrong Content-Type"),
    ("injection.*", 1, "prompt injection: must not be obeyed"),
    ("perturbation.*", 1, "small edits that must not change the answer"),
)
TABLE_GROUPS = (
    ("realistic.*", 6, "rows inside the declared feature ranges"),
    ("numbers.*", 1, "NaN, Infinity, huge and out-of-range numbers"),
    ("size.*", 0.5, "empty and oversized batches"),
    ("structure.*", 0.5, "malformed bodies: a clean 4xx, never a 5xx"),
    ("encoding.*", 0.5, "broken bytes, truncated JSON, a wrong Content-Type"),
    ("perturbation.*", 1, "small edits that must not change the prediction"),
)
SCHEMA_GROUPS = (
    ("realistic.*", 6, "prompts in the template, and valid bodies from the request schema"),
    ("unicode.*", 1, "messy but valid text: emoji, right-to-left, control characters"),
    ("size.*", 0.5, "empty, whitespace-only and over-limit text: answer or refuse cleanly"),
    ("structure.*", 1, "each field of the request schema broken in turn: a clean 4xx"),
    ("numbers.*", 1, "the schema's number fields at and past their bounds"),
    ("encoding.*", 0.5, "broken bytes, truncated JSON, a wrong Content-Type"),
    ("injection.*", 1, "prompt injection: must not be obeyed"),
)


@dataclass
class Plan:
    """What the scenario will say. ``headers`` are as written (credentials as ``${VAR}``);
    ``environ`` holds the values of those variables for the probe only."""

    url: str
    protocol: Protocol
    name: str
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    features: dict[str, tuple[float, float]] = field(default_factory=dict)
    openapi: str | None = None
    operation: str | None = None
    # --from-log: the log as the scenario names it (relative to its folder), and what it holds.
    from_log: str | None = None
    log: LogInfo | None = None
    # The endpoint path when not the protocol's usual one; answers stream (SSE).
    path: str | None = None
    stream: bool = False
    # Where the feature columns came from (a comment above them); kserve-v2's input tensor.
    features_note: str | None = None
    input_name: str | None = None
    datatype: str | None = None


@dataclass(frozen=True)
class LogInfo:
    """A request log's entries, and the seconds between its first and last timestamp (None
    when some entry has none: it cannot be replayed as it happened)."""

    entries: int
    span: float | None

    @property
    def speed(self) -> int:
        """The replay speed that fits the log into about REPLAY_SECONDS."""
        return max(1, math.ceil((self.span or 0.0) / REPLAY_SECONDS))


def interactive() -> bool:
    """Whether to prompt for what the flags leave out: only at a terminal."""
    import sys

    return sys.stdin.isatty()


def protocol(value: str) -> Protocol:
    try:
        return Protocol(value)
    except ValueError:
        names = ", ".join(p.value for p in Protocol)
        raise UsageError(f"--protocol: expected one of {names}, got {value!r}") from None


def resolve(value: str, environ: Mapping[str, str]) -> str:
    """A header value as the probe sends it: ${VAR}s from ``environ``, else the environment."""
    from stress.secrets import MissingVariable
    from stress.secrets import resolve as fill

    try:
        return fill(value, {**os.environ, **environ})
    except MissingVariable as exc:
        raise UsageError(
            f"--header: environment variable {exc.name} is not set; export it first"
        ) from None


def check_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(f"URL: expected http://host:port or https://host, got {url!r}")
    return url.rstrip("/")


def default_name(url: str, protocol: Protocol) -> str:
    host = urlsplit(url).hostname or "endpoint"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{protocol.value}-{host}").strip("-")


def parse_header(text: str, plan_environ: dict[str, str]) -> tuple[str, str]:
    """``"Name: value"`` -> (name, value as written). A credential header's value is replaced
    by a ``${VAR}`` reference (its value goes into ``plan_environ`` for the probe)."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise UsageError(f"--header: expected 'Name: value', got {text!r}")
    if name.lower() not in SECRET_HEADERS or "${" in value:
        return name, value
    variable = "API_KEY" if name.lower() == "authorization" else re.sub(r"\W", "_", name).upper()
    scheme, _, token = value.partition(" ")
    if token and scheme.lower() in ("bearer", "basic", "token"):
        plan_environ[variable] = token.strip()
        return name, f"{scheme} ${{{variable}}}"
    plan_environ[variable] = value
    return name, f"${{{variable}}}"


def parse_feature(text: str) -> tuple[str, tuple[float, float]]:
    """``"name=min:max"`` -> (name, (min, max)); the name is anything before the last ``=``
    (MLflow columns are named freely: ``sepal length (cm)=4.3:7.9``)."""
    name, sep, bounds = text.rpartition("=")
    low_text, colon, high_text = bounds.partition(":")
    try:
        if not sep or not name.strip() or not colon:
            raise ValueError
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise UsageError(
            f"--feature: expected NAME=MIN:MAX with the column's realistic range, e.g. "
            f"sepal_length=4.3:7.9, got {text!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise UsageError(f"--feature: {text!r}: MIN must be a finite number not above MAX")
    return name.strip(), (low, high)


def _q(value: str) -> str:
    """A YAML scalar for ``value`` (a JSON string is valid YAML)."""
    return (
        value
        if re.match(r"^[A-Za-z0-9_./:-]+$", value) and value[0].isalpha()
        else json.dumps(value)
    )


def _c(code: str, comment: str) -> str:
    """A YAML line with its comment in the comment column."""
    return f"{code:<28} # {comment}"


def render(plan: Plan, *, probe: Probe | None = None) -> str:
    """The scenario as commented YAML. Without a probe, placeholder SLOs (for validation)."""
    protocol = plan.protocol
    latency = probe.latency_ms if probe is not None else 100.0
    p95 = max(P95_FACTOR * latency, P95_FLOOR_MS)
    p95 = math.ceil(p95 / 100) * 100
    timeout = max(10, math.ceil(TIMEOUT_FACTOR * latency / 1000))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [f"# Written by `stress init` on {stamp} for {plan.url} ({protocol.value})."]
    if probe is not None:
        lines.append(
            f"# The probe: one valid request answered HTTP {probe.status} in "
            f"{probe.latency_ms:.0f} ms."
        )
        lines += _probe_warning_lines(probe)
    lines += [
        "# Edit freely: `stress validate FILE` checks it, `stress run FILE` runs it, and",
        "# README.md and docs/catalog.md explain every key.",
        f"name: {plan.name}",
        f"description: {_q(f'{protocol.value} endpoint at {plan.url}')}",
        _c("target:", "where requests go and how they are spoken"),
        f"  url: {_q(plan.url)}",
        f"  protocol: {protocol.value}",
    ]
    if plan.model is not None:
        lines.append(f"  model: {_q(plan.model)}")
    if plan.path is not None:
        lines.append(_c(f"  path: {_q(plan.path)}", "not the protocol's usual path"))
    if plan.stream:
        lines.append(_c("  stream: true", "the server streams answers (server-sent events)"))
    if plan.input_name is not None:
        lines.append(f"  input_name: {_q(plan.input_name)}")
    if plan.datatype is not None:
        lines.append(f"  datatype: {_q(plan.datatype)}")
    lines.append(_c(f"  timeout: {timeout}s", "no complete answer by then: a no_timeout finding"))
    lines += _target_limit_lines(probe)
    if plan.headers:
        lines.append(_c("  headers:", "${VAR}: read from the environment, never stored"))
        lines += [f"    {_q(k)}: {_q(v)}" for k, v in plan.headers.items()]
    if plan.openapi is not None:
        key = "url" if plan.openapi.startswith(("/", "http://", "https://")) else "file"
        operation = f", operation: {_q(plan.operation)}" if plan.operation else ""
        lines += [
            "  # The request and response schemas, path and method come from this document",
            "  # (docs/openapi.md); keys written here win over it.",
            f"  openapi: {{{key}: {_q(plan.openapi)}{operation}}}",
        ]
    tabular = protocol in TABULAR_PROTOCOLS
    groups = SCHEMA_GROUPS if plan.openapi else (TABLE_GROUPS if tabular else TEXT_GROUPS)
    lines += [
        _c("inputs:", "the corpus, generated from the seed before any load"),
        _c("  seed: 1", "same seed, same inputs, byte for byte"),
        "  count: 300",
        *_input_limit_lines(probe),
    ]
    if plan.features:
        lines.append(_c("  features:", "the model's columns, with realistic ranges"))
        if plan.features_note:
            lines += [f"    # {line}" for line in textwrap.wrap(plan.features_note, 84)]
        lines += [
            f"    {_q(n)}: {{min: {lo:g}, max: {hi:g}}}" for n, (lo, hi) in plan.features.items()
        ]
    task = probe.task if probe is not None else None
    if probe is not None and task is not None:
        lines.append(_c(f"  task: {task}", f"the seeds fit it (from {probe.task_source})"))
        if task.startswith("classify-") and not any(g[0] == "perturbation.*" for g in groups):
            groups = (*groups, ("perturbation.*", 3, "label-preserving edits of its texts"))
    if plan.from_log is not None:
        lines += [
            _c("  from_log:", "real requests as seeds, scrubbed of personal data (docs/logs.md)"),
            _c(f"    path: {_q(plan.from_log)}", "relative to this file"),
            _c("    max: 500", "a sample of this many, decided by the seed"),
        ]
    lines.append(_c("  families:", "name or glob: weight (`stress families` lists them)"))
    for pattern, weight, why in groups:
        if plan.from_log is not None and pattern == "realistic.*":
            why = "with a log: realistic.logged, the logged requests"
        lines.append(_c(f"    {pattern}: {weight:g}", why))
    lines += [
        "load:",
        _c("  phases:", "in order; the first is the baseline: one request at a time"),
        "    - {name: baseline, users: 1, spawn_rate: 1, duration: 15s}",
        *_replay_lines(plan),
        "    - {name: load, users: 8, spawn_rate: 4, duration: 45s}",
        "# checks: every built-in check runs (`stress checks` lists them); severity: and fail_on:",
        "# tune what fails the run.",
        _c("slo:", f"from the probe ({latency:.0f} ms): p95 = max({P95_FACTOR} x probe, 1 s)"),
        "  error_rate: 1%",
        f"  p95_ms: {p95:g}",
        *(probe.answers if probe is not None else []),
        *(healthwatch.scenario_lines(probe.health) if probe is not None else []),
    ]
    return "\n".join(lines) + "\n"


def _probe_warning_lines(probe: Probe) -> list[str]:
    """The refused valid probe, said at the top of the file."""
    warning = probe.warning()
    if warning is None:
        return []
    import textwrap

    return ["#", *(f"# {line}" for line in textwrap.wrap(warning, 92)), "#"]


def _target_limit_lines(probe: Probe | None) -> list[str]:
    """target.limits: the limit the server named (or the largest size it answered)."""
    found = probe.limits if probe is not None else None
    if found is None:
        return []
    known = found.target_limits()
    lines = [f"  # The limit probe ({found.requests} requests): {note}" for note in found.notes]
    if not known:
        return lines
    if found.named is not None:
        how = "named by its refusal"
        lines.append(f"  # Its refusal said: {json.dumps(found.named.evidence[:100])}")
    else:
        how = f"the largest answered, in {found.dimension}"
    shown = ", ".join(f"{k}: {v}" for k, v in known.items())
    return [*lines, _c(f"  limits: {{{shown}}}", f"the server's own ({how})")]


def _input_limit_lines(probe: Probe | None) -> list[str]:
    """inputs.limits from the limit probe: the size families straddle the server's limit."""
    found = probe.limits if probe is not None else None
    if found is None:
        return []
    if found.max_prompt_chars is not None:
        return [
            _c(
                f"  limits: {{max_prompt_chars: {found.max_prompt_chars}}}",
                f"{found.answered:,} words answered, x{CHARS_PER_WORD} chars a word"
                if found.named is None or found.named.kind != "prompt_chars"
                else "the server's limit in characters",
            )
        ]
    if found.max_rows is not None:
        return [_c(f"  limits: {{max_rows: {found.max_rows}}}", "the largest batch answered")]
    return []


def _replay_lines(plan: Plan) -> list[str]:
    """The phase that replays --from-log as it happened, or why there is none."""
    log = plan.log
    if plan.from_log is None or log is None:
        return []
    if log.span is None:
        return [
            "    # The log's entries do not all carry a timestamp, so it cannot be replayed as it",
            "    # happened (a trace phase with inputs: logged, docs/load.md).",
        ]
    speed = log.speed
    lasts = log.span / speed
    return [
        f"    # The log as it happened: its {log.entries} requests over {log.span:.0f} s, each "
        f"sent at its",
        f"    # logged time ÷ speed (about {lasts:.0f} s here); arrival i sends logged request i.",
        f"    - {{name: replay, kind: trace, inputs: logged, speed: {speed}, max_in_flight: 50}}",
    ]


def check(text: str, *, source: str, inputs: bool = True) -> Scenario:
    """The rendered scenario, validated as `stress validate` does (but for unset ${VAR}s,
    which hold the credentials given on the command line); ``inputs=False`` skips building
    one input of every family (when only the SLOs changed since the last check)."""
    import yaml

    from stress.runner import check_target, known_names
    from stress.scenario import from_dict

    scenario = from_dict(yaml.safe_load(text), source=source, text=text, known=known_names())
    log = scenario.inputs.from_log
    if log is not None:
        # As `stress validate` reads the file: the log's path is from the scenario's folder,
        # and a replay phase takes its length from the log.
        from stress.load import trace

        whole = str((Path(source).parent / log.path).resolve())
        update = {"from_log": log.model_copy(update={"path": whole})}
        scenario = scenario.model_copy(update={"inputs": scenario.inputs.model_copy(update=update)})
        scenario = trace.resolve(scenario, source, text)
    if inputs:
        check_target(scenario, source=source)
    return scenario


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in os.environ for the duration (the scenario's ${VAR}s, to validate it)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def inspect_log(path: str | Path) -> LogInfo:
    """What the log at ``path`` holds (UsageError naming --from-log when it cannot be read)."""
    from stress.logs.readers import LogError, read_log

    try:
        sample = read_log(path)
    except LogError as exc:
        problems = [p.replace("check inputs.from_log.path", "check the path") for p in exc.problems]
        raise UsageError("\n".join(f"--from-log: {p}" for p in problems)) from None
    if not sample.entries:
        raise UsageError(
            f"--from-log: {path}: no logged POST request with a JSON body found; pass a "
            f"JSON-lines, HAR or OpenAI batch file of requests (docs/logs.md)"
        )
    times = [entry.timestamp for entry in sample.entries]
    known = [t for t in times if t is not None]
    span = max(known) - min(known) if len(known) == len(times) else None
    return LogInfo(len(sample.entries), span)


def log_reference(log: str | Path, output: Path) -> str:
    """``--from-log`` as the scenario writes it: relative to the scenario's folder."""
    return os.path.relpath(Path(log).resolve(), output.parent.resolve())


def document_reference(openapi: str, output: Path) -> str:
    """``--openapi`` as the scenario writes it: a path or URL on the target as given, a file
    relative to the scenario's folder (which is where stress looks for it)."""
    if openapi.startswith(("/", "http://", "https://")) and not Path(openapi).is_file():
        return openapi
    return os.path.relpath(Path(openapi).resolve(), output.parent.resolve())


def write(plan: Plan, output: Path) -> Probe:
    """Render, validate, probe, render again with the probe's figures, validate, write."""
    source = str(output)
    if plan.openapi is not None:
        plan.openapi = document_reference(plan.openapi, output)
    if plan.from_log is not None:
        plan.log = inspect_log(plan.from_log)
        plan.from_log = log_reference(plan.from_log, output)
    with _environment(plan.environ):
        scenario = check(render(plan), source=source)
        found = probe(scenario, plan.environ)
        found.limits = probe_limits(scenario, found, plan.environ)
        text = render(plan, probe=found)
        check(text, source=source, inputs=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return found
