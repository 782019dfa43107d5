"""Scenario files: the model of a scenario, loading it from YAML, and validating it.

Every problem is reported with the file, the key path, the bad value and the fix, for example
``scenarios/x.yaml: load.phases[1].users: expected a positive integer, got -5 (line 12)``.
Unknown keys are errors (a typo must never silently pass), with "did you mean" when close.

One module per section, each importing only those below it:

    values     durations, fractions, sizes; the strict base model
    messages   pydantic errors → "file: key.path: problem (line N)"; YAML line numbers
    target     the ``target`` section (protocol, URL, formats, templates, OpenAPI)
    inputs     the ``inputs`` section (families, counts, features, limits, from_log)
    load       the ``load`` section (phases and their kinds)
    checks     SLOs, severities, answers, degradation, invariance, flakiness
    model      Scenario, the whole file
    loading    file or mapping → Scenario; a Catalog judges the names it refers to
    overrides  Overrides: key paths and the ``stress run`` flags, one mechanism

Every name other modules use is importable from ``stress.scenario`` itself.
"""

from stress.scenario.checks import (
    DEFAULT_CHECKS,
    Answers,
    CompareMethod,
    Comparison,
    Degradation,
    Flakiness,
    Invariance,
    Milliseconds,
    PhaseSlo,
    RequestSlo,
    Severity,
    SeverityName,
    Slo,
    Tolerance,
    parse_severity,
)
from stress.scenario.inputs import (
    PII_KINDS,
    CustomFamily,
    Feature,
    FromLog,
    Inputs,
    Limits,
    Scrub,
    ScrubPattern,
    is_glob,
)
from stress.scenario.load import (
    Arrival,
    Bursts,
    Load,
    Phase,
    PhaseKind,
    Spike,
    TraceFormat,
    TraceInputs,
    Until,
)
from stress.scenario.loading import (
    Catalog,
    ScenarioKeyError,
    check_environment,
    from_dict,
    from_path,
)
from stress.scenario.messages import line_map, with_line
from stress.scenario.model import Scenario
from stress.scenario.overrides import Overrides, with_overrides
from stress.scenario.target import (
    COMMON_PLACEHOLDERS,
    DATATYPES,
    FORMATS,
    PLACEHOLDER_RE,
    PROMPT_PLACEHOLDERS,
    ROW_PLACEHOLDERS,
    STREAMING_PROTOCOLS,
    TABULAR_PROTOCOLS,
    OpenApi,
    Protocol,
    ResponseMap,
    Target,
    TargetMetrics,
)
from stress.scenario.values import (
    Duration,
    Fraction,
    PositiveInt,
    Size,
    format_duration,
    parse_duration,
    parse_fraction,
    parse_size,
)

__all__ = [
    "COMMON_PLACEHOLDERS",
    "DATATYPES",
    "DEFAULT_CHECKS",
    "FORMATS",
    "PII_KINDS",
    "PLACEHOLDER_RE",
    "PROMPT_PLACEHOLDERS",
    "ROW_PLACEHOLDERS",
    "STREAMING_PROTOCOLS",
    "TABULAR_PROTOCOLS",
    "Answers",
    "Arrival",
    "Bursts",
    "Catalog",
    "CompareMethod",
    "Comparison",
    "CustomFamily",
    "Degradation",
    "Duration",
    "Feature",
    "Flakiness",
    "Fraction",
    "FromLog",
    "Inputs",
    "Invariance",
    "Limits",
    "Load",
    "Milliseconds",
    "OpenApi",
    "Overrides",
    "Phase",
    "PhaseKind",
    "PhaseSlo",
    "PositiveInt",
    "Protocol",
    "RequestSlo",
    "ResponseMap",
    "Scenario",
    "ScenarioKeyError",
    "Scrub",
    "ScrubPattern",
    "Severity",
    "SeverityName",
    "Size",
    "Slo",
    "Spike",
    "Target",
    "TargetMetrics",
    "Tolerance",
    "TraceFormat",
    "TraceInputs",
    "Until",
    "check_environment",
    "format_duration",
    "from_dict",
    "from_path",
    "is_glob",
    "line_map",
    "parse_duration",
    "parse_fraction",
    "parse_severity",
    "parse_size",
    "with_line",
    "with_overrides",
]
