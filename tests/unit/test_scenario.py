"""Scenario loading: one table of invalid scenarios with the exact message each gets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from stress.errors import ScenarioError, UsageError
from stress.runner import known_names, load_scenario
from stress.scenario import from_path, parse_duration, parse_fraction, with_overrides

VALID = """\
name: t
target: {url: "http://127.0.0.1:9", protocol: openai-chat}
inputs: {seed: 1, count: 10, families: {realistic.chat_prompt: 1}}
load:
  phases:
    - {name: baseline, users: 1, duration: 2s}
    - {name: load, users: 4, duration: 3s}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


INVALID = [
    (
        VALID.replace("users: 4", "users: -5"),
        "x.yaml: load.phases[1].users: expected a positive integer, got -5 (line 7)",
    ),
    (
        VALID.replace("users: 4", "users: 1.5"),
        "x.yaml: load.phases[1].users: expected an integer, got 1.5 (line 7)",
    ),
    (
        VALID.replace("users: 4", 'users: "many"'),
        "x.yaml: load.phases[1].users: expected an integer, got 'many' (line 7)",
    ),
    (
        VALID.replace("target:", "targt:"),
        "x.yaml: targt: unknown key 'targt'; did you mean 'target'? (line 2)",
    ),
    (
        VALID.replace("duration: 3s", "duration: forever"),
        "x.yaml: load.phases[1].duration: expected a duration like 30s, 2m or 500ms, "
        "got 'forever' (line 7)",
    ),
    (
        VALID.replace("protocol: openai-chat", "protocol: grpc"),
        "x.yaml: target.protocol: expected one of 'openai-chat', 'mlflow', "
        "'openai-completions', 'openai-embeddings', 'kserve-v2', 'kserve-v1' or 'http-json', "
        "got 'grpc' (line 2)",
    ),
    (
        VALID.replace("http://127.0.0.1:9", "ftp://x"),
        "x.yaml: target.url: expected http://host:port, https://host:port or builtin:demo, "
        "got 'ftp://x' (line 2)",
    ),
    (
        VALID + "slo: {error_rate: 150%}\n",
        "x.yaml: slo.error_rate: expected a fraction between 0 and 1 (or 0% to 100%), "
        "got '150%' (line 8)",
    ),
    (
        VALID + "slo: {p95: 100}\n",
        "x.yaml: slo.p95: unknown key 'p95'; did you mean 'p95_ms'? (line 8)",
    ),
    (
        VALID + "chekcs: []\n",
        "x.yaml: chekcs: unknown key 'chekcs'; did you mean 'checks'? (line 8)",
    ),
    (
        VALID + "checks: [not_a_server_eror]\n",
        "x.yaml: checks[0]: unknown check 'not_a_server_eror'; did you mean "
        "'not_a_server_error'? (`stress checks` lists them; custom checks are module:function) "
        "(line 8)",
    ),
    (
        VALID + "checks: [degradaton]\n",
        "x.yaml: checks[0]: unknown check 'degradaton'; did you mean 'degradation'? "
        "(`stress checks` lists them; custom checks are module:function) (line 8)",
    ),
    (
        VALID + "checks: ['no_such_module_xyz:check']\n",
        "x.yaml: checks[0]: custom check 'no_such_module_xyz:check': cannot import module "
        "'no_such_module_xyz' (ModuleNotFoundError: No module named 'no_such_module_xyz'); run "
        "stress from the directory that holds it or add it to PYTHONPATH (line 8)",
    ),
    (
        VALID + "checks: ['json:no_such_function']\n",
        "x.yaml: checks[0]: custom check 'json:no_such_function': module 'json' has no "
        "'no_such_function' (its functions: detect_encoding, dump, dumps, load, loads) (line 8)",
    ),
    (
        VALID + "severity: {strict_jsn: info}\n",
        "x.yaml: severity.strict_jsn: unknown check; did you mean 'strict_json'? "
        "(`stress checks` lists them) (line 8)",
    ),
    (
        VALID + "severity: {strict_json: fatal}\n",
        "x.yaml: severity.strict_json: expected one of error, warn or info, got 'fatal' (line 8)",
    ),
    (
        VALID + "fail_on: [error, warnings]\n",
        "x.yaml: fail_on[1]: expected one of error, warn or info, got 'warnings' (line 8)",
    ),
    (
        VALID + "slo: {p99_mss: 100}\n",
        "x.yaml: slo.p99_mss: unknown key 'p99_mss'; did you mean 'p99_ms'? (line 8)",
    ),
    (
        VALID + "slo: {phases: {load: {goodpt: 90%}}}\n",
        "x.yaml: slo.phases.load.goodpt: unknown key 'goodpt'; did you mean 'goodput'? (line 8)",
    ),
    # The old goodput form: each key says what to write instead.
    (
        VALID + "slo:\n  goodput: 90%\n  goodput_ms: 800\n",
        "x.yaml: slo.goodput_ms: moved, got 800: write slo.per_request.latency_ms: 800 (the "
        "limit of a good request); slo.goodput stays the least share of good requests (line 10)",
    ),
    (
        VALID + "slo: {phases: {load: {goodput: 80%, goodput_ttft_ms: 300}}}\n",
        "x.yaml: slo.phases.load.goodput_ttft_ms: moved, got 300: write "
        "slo.per_request.ttft_ms: 300 (the limit of a good request, one for every phase and "
        "family); slo.phases.load.goodput stays the least share of good requests (line 8)",
    ),
    (
        VALID + "slo: {families: {realistic.chat_prompt: {goodput_ms: 1.5}}}\n",
        "x.yaml: slo.families.realistic.chat_prompt.goodput_ms: moved, got 1.5: write "
        "slo.per_request.latency_ms: 1.5 (the limit of a good request, one for every phase "
        "and family); slo.families.realistic.chat_prompt.goodput stays the least share of good "
        "requests (line 8)",
    ),
    (
        VALID + "slo:\n  per_request:\n    latency_ms: 800\n    attainment: 90%\n",
        "x.yaml: slo.per_request.attainment: moved, got '90%': write slo.goodput: 90% (the "
        "least share of good requests in each phase; slo.phases.<name>.goodput and "
        "slo.families.<name>.goodput override it); slo.per_request keeps only the limits of a "
        "good request (line 11)",
    ),
    (
        VALID + "slo: {families: {realistic.chat_promt: {p95_ms: 100}}}\n",
        "x.yaml: slo.families.realistic.chat_promt: the scenario sends no input of this family; "
        "did you mean 'realistic.chat_prompt'? (families: realistic.chat_prompt) (line 8)",
    ),
    (
        VALID + "degradation: {baseline: basline}\n",
        "x.yaml: degradation.baseline: no load phase is named 'basline'; did you mean "
        "'baseline'? (phases: baseline, load) (line 8)",
    ),
    (
        VALID + "degradation: {methods: [normalised]}\n",
        "x.yaml: degradation.methods[0]: expected one of 'exact', 'normalized', 'label', "
        "'numeric', 'length' or 'semantic', got 'normalised' (line 8)",
    ),
    (
        VALID + "answers: {json_schema: {type: 12}}\n",
        "x.yaml: answers.json_schema: not a valid JSON Schema at type: 12 is not valid under "
        "any of the given schemas; see json-schema.org (line 8)",
    ),
    (
        VALID + "answers: {min_value: 1, max_value: 0}\n",
        "x.yaml: answers: min_value (1.0) must not exceed max_value (0.0); swap them (line 8)",
    ),
    (
        VALID.replace("realistic.chat_prompt", "realistic.chat_promt"),
        "x.yaml: inputs.families.realistic.chat_promt: unknown input family; did you mean "
        "'realistic.chat_prompt'? (`stress families` lists them) (line 3)",
    ),
    (
        VALID.replace(
            "realistic.chat_prompt: 1", "realistic.chat_prompt: 1, numbers.non_finite: 1"
        ),
        "x.yaml: inputs.families.numbers.non_finite: this family does not apply to protocol "
        "'openai-chat'; remove it or pick one for this protocol (line 3)",
    ),
    (
        VALID + "slo: {phases: {lod: {p95_ms: 3}}}\n",
        "x.yaml: slo.phases.lod: no load phase has this name; did you mean 'load'? "
        "(phases: baseline, load) (line 8)",
    ),
    (
        VALID.replace("name: load", "name: baseline"),
        "x.yaml: load.phases[1].name: phase names must be unique, 'baseline' is used twice "
        "(line 7)",
    ),
    (
        VALID + "  max_duration: 3s\n",
        "x.yaml: load.max_duration: the phases last 5s but max_duration is 3s; raise "
        "load.max_duration or shorten the phases (line 8)",
    ),
    (
        VALID.replace("openai-chat", "mlflow").replace(
            "realistic.chat_prompt", "realistic.tabular_rows"
        ),
        "x.yaml: inputs.features: protocol mlflow needs the model's feature columns, e.g. "
        "features: {sepal_length: {min: 4.3, max: 7.9}} (line 3)",
    ),
    (
        "- a\n- b\n",
        "x.yaml: (top level): expected a mapping with name, target, inputs and load, got a list",
    ),
    (
        "",
        "x.yaml: (top level): expected a mapping with name, target, inputs and load, "
        "got an empty file",
    ),
    (
        "name: [unclosed\n",
        "x.yaml: not valid YAML (line 2, column 1): expected ',' or ']', "
        "but got '<stream end>'; fix the syntax",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_scenario_gets_exact_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems] == [message]


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found; check the path"):
        from_path(tmp_path / "nope.yaml")


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = VALID.replace("users: 4", "users: 0").replace("duration: 2s", "duration: -1s")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert len(caught.value.problems) == 2


def test_valid_scenario_round_trips_through_resolved_yaml(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.load.phases[1].duration == 3.0
    again = load_scenario(write(tmp_path, scenario.to_yaml()))
    assert again == scenario
    resolved = yaml.safe_load(scenario.to_yaml())
    assert resolved["load"]["max_requests"] == 1_000_000  # runaway guards are visible
    assert resolved["load"]["phases"][1]["duration"] == "3s"


def test_overrides_apply_to_the_last_phase(tmp_path: Path) -> None:
    scenario = from_path(write(tmp_path, VALID), known=known_names())
    changed = with_overrides(scenario, users=9, duration="10m", seed=7, target="http://h:1")
    assert [p.users for p in changed.load.phases] == [1, 9]
    assert changed.load.phases[1].duration == 600
    assert changed.load.max_duration >= changed.total_duration
    assert (changed.inputs.seed, changed.target.url) == (7, "http://h:1")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"users": 0}, "--users: expected a positive integer, got 0"),
        ({"duration": "soon"}, "--duration: expected a duration like 30s, 2m or 500ms"),
        ({"target": "localhost:80"}, "--target: expected http://host:port"),
    ],
)
def test_bad_overrides_name_the_flag(tmp_path: Path, overrides: dict, message: str) -> None:
    scenario = from_path(write(tmp_path, VALID))
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        with_overrides(scenario, **overrides)


@given(st.floats(min_value=0.001, max_value=1e6), st.sampled_from(["ms", "s", "m", "h", ""]))
@example(1.5, "m")
def test_parse_duration_scales_units(number: float, unit: str) -> None:
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "": 1}[unit]
    assert parse_duration(f"{number!r}{unit}") == pytest.approx(number * scale)


@given(st.one_of(st.text(), st.booleans(), st.none(), st.floats(max_value=0)))
@example("-1s")
@example(float("inf"))
def test_parse_duration_rejects_with_value_error_only(value: object) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        message = str(exc)
        seconds = None
    if seconds is None:
        assert "duration" in message
    else:
        assert 0 < seconds < float("inf")


@given(st.one_of(st.text(max_size=8), st.floats(allow_nan=True), st.integers()))
@example("5%")
@example("nan")
def test_parse_fraction_only_returns_values_in_range(value: object) -> None:
    try:
        fraction = parse_fraction(value)
    except ValueError:
        return
    assert 0 <= fraction <= 1
