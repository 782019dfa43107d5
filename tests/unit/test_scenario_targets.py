"""Target sections of scenarios: every protocol option, secrets and families that do not fit.

One table of invalid targets with the exact message each gets, as tests/unit/test_scenario.py
does for the rest of the scenario.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stress.errors import ScenarioError
from stress.runner import load_scenario

BASE = """\
name: t
target: {target}
inputs: {{seed: 1, count: 10, families: {families}{features}}}
load:
  phases:
    - {{name: load, users: 1, duration: 2s}}
{extra}"""
CHAT = "{url: 'http://127.0.0.1:9', protocol: openai-chat, model: m}"
ROWS_FEATURES = ", features: {a: {min: 0, max: 1}}"


def scenario(
    target: str = CHAT,
    *,
    families: str = "{realistic.chat_prompt: 1}",
    features: str = "",
    extra: str = "",
) -> str:
    return BASE.format(target=target, families=families, features=features, extra=extra)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


INVALID = [
    (
        scenario(
            "{url: 'http://h:1', protocol: openai-chat, headers: {Authorization: 'Bearer ${KEY'}}"
        ),
        "x.yaml: target.headers.Authorization: unclosed ${ in 'Bearer ${KEY'; write ${NAME} "
        "(or $${ for a literal) (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: openai-chat, params: {key: '${STRESS_TEST_UNSET_VAR}'}}"
        ),
        "x.yaml: target.params.key: environment variable STRESS_TEST_UNSET_VAR is not set; "
        "export it before running (export STRESS_TEST_UNSET_VAR=...) or remove the reference",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: kserve-v2, stream: true}",
            features=ROWS_FEATURES,
            families="{realistic.tabular_rows: 1}",
        ),
        "x.yaml: target.stream: protocol kserve-v2 does not stream; only openai-chat, "
        "openai-completions do (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: mlflow, format: records}",
            features=ROWS_FEATURES,
            families="{realistic.tabular_rows: 1}",
        ),
        "x.yaml: target.format: expected one of dataframe_split, dataframe_records, instances, "
        "inputs for mlflow, got 'records' (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, format: instances}"),
        "x.yaml: target.format: protocol openai-chat has no formats; only mlflow, kserve-v1 do "
        "(line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: kserve-v2, datatype: FLOAT}",
            features=ROWS_FEATURES,
            families="{realistic.tabular_rows: 1}",
        ),
        "x.yaml: target.datatype: expected one of FP16, FP32, FP64, INT8, INT16, INT32, INT64, "
        "UINT8, got 'FLOAT' (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: kserve-v1}", families="{realistic.tabular_rows: 1}"
        ),
        "x.yaml: inputs.features: protocol kserve-v1 needs the model's feature columns, e.g. "
        "features: {sepal_length: {min: 4.3, max: 7.9}} (line 3)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, stall_timeout: 5s}"),
        "x.yaml: target.stall_timeout: a stall is a pause in a streamed answer; set stream: "
        "true (openai-chat, openai-completions) or remove stall_timeout (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: mlflow, datatype: FP64}",
            features=ROWS_FEATURES,
            families="{realistic.tabular_rows: 1}",
        ),
        "x.yaml: target.datatype: datatype applies to protocol kserve-v2 only, not mlflow; "
        "remove it (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, method: PUT}"),
        "x.yaml: target.method: method applies to protocol http-json only, not openai-chat; "
        "remove it (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, path: v1/chat}"),
        "x.yaml: target.path: expected a path starting with /, got 'v1/chat' (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, input_id_header: 'X Id'}"),
        "x.yaml: target.input_id_header: expected an HTTP header name like X-Stress-Input-Id "
        "(or null for none), got 'X Id' (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, request: {q: '{{prompt}}'}}"),
        "x.yaml: target.request: only protocol http-json takes a request template; remove it "
        "or set protocol: http-json (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: http-json}"),
        "x.yaml: target.request: protocol http-json needs a request template, e.g. request: "
        '{"text": "{{prompt}}"} (line 2)',
    ),
    (
        scenario("{url: 'http://h:1', protocol: http-json, request: {q: '{{promt}}'}}"),
        "x.yaml: target.request: unknown placeholder {{promt}}; did you mean {{prompt}}? known: "
        "{{prompt}}, {{messages}}, {{rows}}, {{row}}, {{values}}, {{columns}}, {{input_id}}, "
        "{{model}}, {{max_tokens}} (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: http-json, request: {q: '{{prompt}}', x: '{{rows}}'}}"
        ),
        "x.yaml: target.request: the template mixes prompt placeholders (prompt) with row "
        "placeholders (rows); a target takes one or the other (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: http-json, request: {q: fixed}}"),
        "x.yaml: target.request: the template has no placeholder for the input; put {{prompt}} "
        "or {{messages}} (text models) or {{rows}}, {{row}}, {{values}} (tabular) in it (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: http-json, request: {q: '{{prompt}}'}, "
            "response: {text: 'choices[0]'}}"
        ),
        "x.yaml: target.response.text: expected a path starting with $, like "
        "$.choices[0].text, got 'choices[0]' (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: http-json, request: {q: '{{prompt}}'}, "
            "response: {json_schema: {type: 3}}}"
        ),
        "x.yaml: target.response.json_schema: not a valid JSON Schema: 3 is not valid under any "
        "of the given schemas (at type); see json-schema.org (line 2)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: http-json, request: {q: '{{prompt}}'}}",
            features=ROWS_FEATURES,
        ),
        "x.yaml: inputs.features: features are for table rows, but the http-json template "
        "takes text; remove inputs.features or use {{rows}}, {{row}} or {{values}} in "
        "target.request (line 3)",
    ),
    (
        scenario(
            "{url: 'http://h:1', protocol: http-json, request: ['{{prompt}}']}",
            families="{structure.missing_field: 1}",
        ),
        "x.yaml: inputs.families.structure.missing_field: does not fit this target: stress does "
        "not know the request schema of protocol 'http-json'; give inputs.body_schema; remove it "
        "(line 3)",
    ),
    (
        scenario("{url: builtin:demo, protocol: openai-embeddings}"),
        "x.yaml: target.url: builtin:demo speaks openai-chat and mlflow only, not "
        "openai-embeddings; point target.url (or --target) at a server that speaks it "
        "(scenarios/openai-embeddings.yaml says how to start one)",
    ),
    (
        scenario(extra="slo: {per_request: {ttft_ms: 500}}\n"),
        "x.yaml: slo.per_request.ttft_ms: ttft_ms is measured on streamed answers only; set "
        "target.stream: true (openai-chat, openai-completions) or use latency_ms (line 7)",
    ),
    (
        scenario(extra="slo: {per_request: {latency_ms: 500}, goodput: 120%}\n"),
        "x.yaml: slo.goodput: expected a fraction between 0 and 1 (or 0% to "
        "100%), got '120%' (line 7)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, max_body_bytes: 12 parsecs}"),
        "x.yaml: target.max_body_bytes: expected a size like 16MiB, 512KB or 1048576 (bytes), "
        "got '12 parsecs' (line 2)",
    ),
    (
        scenario("{url: 'http://h:1', protocol: openai-chat, max_body_bytes: 100}"),
        "x.yaml: target.max_body_bytes: expected a number of at least 1024, got 100 (line 2)",
    ),
]


@pytest.mark.parametrize(
    ("value", "size"), [("2MiB", 2 * 1024 * 1024), ("512KB", 512_000), (4096, 4096)]
)
def test_max_body_bytes_takes_sizes(tmp_path: Path, value: object, size: int) -> None:
    target = f"{{url: 'http://h:1', protocol: openai-chat, max_body_bytes: {value}}}"
    loaded = load_scenario(write(tmp_path, scenario(target)))
    assert loaded.target.max_body_bytes == size
    # The resolved scenario.yaml of a run says it in bytes and reads back the same.
    dumped = loaded.model_dump(mode="json")["target"]["max_body_bytes"]
    assert dumped == size


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_target_gets_exact_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems] == [message]


@pytest.mark.parametrize(
    ("target", "families", "features"),
    [
        (
            "{url: 'http://h:1', protocol: openai-completions, stream: true, stall_timeout: 2s}",
            "{realistic.chat_prompt: 1, encoding.truncated_json: 1}",
            "",
        ),
        (
            "{url: 'http://h:1', protocol: openai-embeddings}",
            "{unicode.arbitrary: 1, encoding.truncated_json: 1}",
            "",
        ),
        (
            "{url: 'http://h:1', protocol: kserve-v2, model: iris, datatype: FP64}",
            "{realistic.tabular_rows: 1, numbers.non_finite: 1}",
            ROWS_FEATURES,
        ),
        (
            "{url: 'http://h:1', protocol: kserve-v1, model: iris, format: instances_records}",
            "{realistic.tabular_rows: 1}",
            ROWS_FEATURES,
        ),
        (
            "{url: 'http://h:1', protocol: http-json, request: {x: '{{values}}'}}",
            "{realistic.tabular_rows: 1, encoding.invalid_utf8: 1}",
            ROWS_FEATURES,
        ),
        (
            "{url: 'http://h:1', protocol: http-json, request: {q: '{{prompt}}'}, "
            "response: {text: $.a}}",
            "{realistic.chat_prompt: 1, encoding.invalid_utf8: 1}",
            "",
        ),
    ],
)
def test_valid_targets_load(tmp_path: Path, target: str, families: str, features: str) -> None:
    load_scenario(write(tmp_path, scenario(target, families=families, features=features)))


def test_the_resolved_scenario_keeps_the_reference_not_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRESS_TEST_KEY", "sk-very-secret-value")
    text = scenario(
        "{url: 'http://h:1', protocol: openai-chat, headers: {Authorization: 'Bearer "
        "${STRESS_TEST_KEY}'}, params: {key: '${STRESS_TEST_KEY}'}}"
    )
    loaded = load_scenario(write(tmp_path, text))
    resolved = loaded.to_yaml()
    assert "sk-very-secret-value" not in resolved
    assert yaml.safe_load(resolved)["target"]["headers"] == {
        "Authorization": "Bearer ${STRESS_TEST_KEY}"
    }
    assert loaded.target.resolved_headers() == {"Authorization": "Bearer sk-very-secret-value"}
    assert loaded.target.secrets() == ["sk-very-secret-value"]
