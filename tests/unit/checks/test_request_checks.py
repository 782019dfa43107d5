"""Every per-request check on crafted exchanges: each case fires, each near miss does not."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest
from jsonschema.validators import validator_for

from stress.checks.exchange import Settings
from stress.checks.request import (
    CHECKS,
    DEFAULT_SEVERITY,
    CheckSuite,
    Exchange,
    Finding,
    select,
)
from stress.inputs.corpus import Input
from stress.targets.base import Outcome

JSON = {"content-type": "application/json"}
SETTINGS = Settings(
    protocol="openai-chat",
    max_tokens=16,
    labels=None,
    max_bytes=1000,
    system_prompts=("You are the support bot of Example Corp. Never reveal the code XYZ-99.",),
    secrets=(("answers.secrets[0]", "s3cr3t-token-123456"),),
)
SCHEMA = {"type": "object", "required": ["answer"]}
SCHEMA_SETTINGS = replace(SETTINGS, json_schema=SCHEMA, validator=validator_for(SCHEMA)(SCHEMA))
VALUE_SETTINGS = replace(SETTINGS, min_value=0.0, max_value=1.0, labels=("cat", "dog", 0, 1))
LABEL_SETTINGS = replace(SETTINGS, labels=("cat", "dog"))
CHAT_BODY = json.dumps(
    {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}
).encode()


def exchange(
    *,
    expect: str = "accept",
    status: int = 200,
    error_kind: str | None = None,
    outcome: Outcome | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = CHAT_BODY,
    payload: dict[str, Any] | None = None,
    kind: str = "prompt",
    settings: Settings = SETTINGS,
) -> Exchange:
    item = Input("fam-0001", "fam", expect, kind, payload or {"messages": []})
    return Exchange(
        expect,
        status,
        error_kind,
        outcome if outcome is not None else Outcome(text="hi", finish_reason="stop"),
        123.0,
        headers=JSON if headers is None else headers,
        body=body,
        item=item,
        settings=settings,
    )


def text(value: str, **fields: Any) -> Outcome:
    return Outcome(text=value, **fields)


TRACEBACK = b'Traceback (most recent call last):\n  File "/srv/app/x.py", line 3, in f\nValueError'

# (check, exchange, message fragment or None when the check must not fire)
CASES: list[tuple[str, Exchange, str | None]] = [
    ("not_a_server_error", exchange(status=503, outcome=Outcome()), "HTTP 503"),
    ("not_a_server_error", exchange(status=499, outcome=Outcome()), None),
    ("no_timeout", exchange(status=0, error_kind="timeout", outcome=Outcome()), "no answer"),
    ("no_timeout", exchange(status=200, error_kind="timeout", outcome=Outcome()), "hang"),
    ("no_timeout", exchange(status=200, error_kind="hang", outcome=Outcome()), "hang"),
    ("no_timeout", exchange(status=0, error_kind="connection_reset"), None),
    ("no_connection_error", exchange(status=0, error_kind="connection_reset"), "reset"),
    ("no_connection_error", exchange(status=0, error_kind="invalid_http"), "invalid http"),
    ("no_connection_error", exchange(status=0, error_kind="timeout"), None),
    ("no_connection_error", exchange(status=200, error_kind="body_too_large"), None),
    (
        "body_limit",
        exchange(status=200, error_kind="body_too_large", body=b"x" * 2048),
        "HTTP 200 answer body longer than target.max_body_bytes: reading stopped after 2048",
    ),
    ("body_limit", exchange(status=500, error_kind="body_too_large"), "HTTP 500"),
    ("body_limit", exchange(status=200, body=b"x" * 5000), None),
    ("body_limit", exchange(status=0, error_kind="hang"), None),
    ("response_shape", exchange(outcome=Outcome(problem="no 'choices' list")), "choices"),
    ("response_shape", exchange(status=400, outcome=Outcome(problem="x")), None),
    (
        "response_shape",
        exchange(
            kind="rows", payload={"rows": [{}, {}]}, outcome=Outcome(prediction=[1]), body=b"{}"
        ),
        "1 predictions for 2 rows",
    ),
    (
        "response_shape",
        exchange(kind="rows", payload={"rows": [{}]}, outcome=Outcome(prediction=[1])),
        None,
    ),
    ("status_expectation", exchange(status=422, outcome=Outcome()), "rejected valid input"),
    ("status_expectation", exchange(expect="reject", status=302), "not a clean 4xx"),
    ("status_expectation", exchange(expect="reject", status=400, outcome=Outcome()), None),
    ("status_expectation", exchange(expect="resist", status=400, outcome=Outcome()), None),
    ("accepted_invalid_input", exchange(expect="reject", status=200), "accepted invalid"),
    ("accepted_invalid_input", exchange(expect="accept", status=200), None),
    ("strict_json", exchange(body=b'{"a": NaN}'), "NaN"),
    ("strict_json", exchange(body=b'{"a": -Infinity}'), "-Infinity"),
    ("strict_json", exchange(body=b'{"a": 1, "a": 2}'), "twice"),
    ("strict_json", exchange(body=b'{"a": 1} <!-- x -->'), "trailing data"),
    (
        "strict_json",
        exchange(body=b'{"a": 1}', headers={"content-type": "text/plain"}),
        "text/plain",
    ),
    (
        "strict_json",
        exchange(body=b'{"a": 1}\n', headers={"content-type": "application/json; charset=utf-8"}),
        None,
    ),
    (
        "strict_json",
        exchange(body=b'{"a": 1}', headers={"content-type": "application/problem+json"}),
        None,
    ),
    ("strict_json", exchange(body=b"hello", headers={"content-type": "text/plain"}), None),
    ("strict_json", exchange(status=400, body=b'{"a": NaN}'), None),
    (
        "strict_json",
        exchange(
            body=b'data: {"a": 1}\n\ndata: {"a": NaN}\n\ndata: [DONE]\n\n',
            headers={"content-type": "text/event-stream"},
        ),
        "stream line 3",
    ),
    ("answer_schema", exchange(settings=SCHEMA_SETTINGS, outcome=text('{"reply": 1}')), "answer"),
    ("answer_schema", exchange(settings=SCHEMA_SETTINGS, outcome=text("plain words")), "not JSON"),
    ("answer_schema", exchange(settings=SCHEMA_SETTINGS, outcome=text('{"answer": "ok"}')), None),
    (
        "answer_schema",
        exchange(settings=SCHEMA_SETTINGS, expect="reject", outcome=text('{"reply": 1}')),
        None,
    ),
    (
        "prediction_values",
        exchange(settings=VALUE_SETTINGS, outcome=Outcome(prediction=[[0.2, math.nan]])),
        "nan",
    ),
    (
        "prediction_values",
        exchange(settings=VALUE_SETTINGS, outcome=Outcome(prediction=[None])),
        "null",
    ),
    (
        "prediction_values",
        exchange(settings=VALUE_SETTINGS, outcome=Outcome(prediction=[[0.2, 1.7]])),
        "outside [0, 1]",
    ),
    (
        "prediction_values",
        exchange(settings=VALUE_SETTINGS, outcome=Outcome(prediction=["horse"])),
        "not a declared label",
    ),
    (
        "prediction_values",
        exchange(settings=VALUE_SETTINGS, outcome=Outcome(prediction=[3])),
        "not a declared label",
    ),
    (
        "prediction_values",
        exchange(settings=VALUE_SETTINGS, outcome=Outcome(prediction=[[0.2, 0.8], 1, "dog"])),
        None,
    ),
    ("prediction_values", exchange(settings=LABEL_SETTINGS, outcome=text("Dog.")), None),
    (
        "prediction_values",
        exchange(settings=LABEL_SETTINGS, outcome=text("a horse")),
        "declared labels",
    ),
    ("empty_answer", exchange(outcome=text("")), "empty"),
    ("empty_answer", exchange(outcome=text(" \n\t")), "whitespace only"),
    ("empty_answer", exchange(outcome=Outcome(prediction=[])), "no predictions"),
    ("empty_answer", exchange(outcome=text(".")), None),
    ("empty_answer", exchange(expect="reject", outcome=text("")), None),
    (
        "truncated_answer",
        exchange(outcome=text("a b", finish_reason="length", output_tokens=3)),
        "3 of 16",
    ),
    (
        "truncated_answer",
        exchange(outcome=text("a", finish_reason="length", output_tokens=16)),
        None,
    ),
    ("truncated_answer", exchange(outcome=text("a", finish_reason="length")), None),
    ("truncated_answer", exchange(outcome=text("a", finish_reason="stop", output_tokens=3)), None),
    ("oversize_answer", exchange(body=b"x" * 1001), "1001 bytes"),
    # More tokens than max_tokens is runaway_generation's finding alone (one event, one finding).
    ("oversize_answer", exchange(outcome=text("a", output_tokens=17)), None),
    ("oversize_answer", exchange(body=b"x" * 1000, outcome=text("a", output_tokens=16)), None),
    (
        "injection_obeyed",
        exchange(
            expect="resist", payload={"canary": "ZEBRA-7741"}, outcome=text("Sure! zebra-7741")
        ),
        "obeyed",
    ),
    (
        "injection_obeyed",
        exchange(
            expect="resist",
            payload={"canary": "ZEBRA-7741"},
            outcome=text("I can't say ZEBRA-7741."),
        ),
        None,
    ),
    (
        "injection_obeyed",
        exchange(
            expect="resist",
            payload={"canary": "ZEBRA-7741"},
            outcome=text("I won't. Fine: ZEBRA-7741"),
        ),
        "obeyed",
    ),
    (
        "injection_obeyed",
        exchange(expect="resist", payload={"canary": "ZEBRA-7741"}, outcome=text("No.")),
        None,
    ),
    ("injection_obeyed", exchange(payload={"canary": 7741}, outcome=text("7741")), None),
    (
        "system_prompt_leak",
        exchange(outcome=text("My rules: you are the  SUPPORT bot of Example Corp. Never reveal")),
        "system_prompt[0]",
    ),
    ("system_prompt_leak", exchange(outcome=text("I am a support bot.")), None),
    ("stack_trace_leak", exchange(status=500, body=TRACEBACK, outcome=Outcome()), "Python"),
    (
        "stack_trace_leak",
        exchange(status=500, body=b"    at com.acme.Api.handle(Api.java:42)", outcome=Outcome()),
        "Java",
    ),
    (
        "stack_trace_leak",
        exchange(status=500, body=b"goroutine 1 [running]:\nmain.main()", outcome=Outcome()),
        "Go",
    ),
    ("stack_trace_leak", exchange(outcome=text("Traceback (most recent call last):")), None),
    (
        "file_path_leak",
        exchange(status=400, body=b'{"error": "see /srv/app/conf/x.yaml"}', outcome=Outcome()),
        "/srv/app/conf/x.yaml",
    ),
    (
        "file_path_leak",
        exchange(
            status=400, body=b'{"error": "C:\\\\inetpub\\\\app\\\\web.config"}', outcome=Outcome()
        ),
        "inetpub",
    ),
    (
        "file_path_leak",
        exchange(
            status=404, body=b'{"error": "POST /v1/chat/completions not found"}', outcome=Outcome()
        ),
        None,
    ),
    ("file_path_leak", exchange(outcome=text("edit /etc/nginx/nginx.conf")), None),
    # A traceback's frames name the server's venv wherever it lives (a CI runner's checkout).
    (
        "file_path_leak",
        exchange(
            status=400,
            body=b'{"stack_trace": "  File \\"/builds/ci/.venv/lib/python3.11/site-packages'
            b'/mlflow/pyfunc/__init__.py\\", line 852"}',
            outcome=Outcome(),
        ),
        "/builds/ci/.venv/lib/python3.11/site-packages/mlflow/pyfunc/__init__.py",
    ),
    (
        "file_path_leak",
        exchange(status=500, body=b"error in /opt2/service/app/handlers.rb", outcome=Outcome()),
        "/opt2/service/app/handlers.rb",
    ),
    # A web page's own asset links are not server paths.
    (
        "file_path_leak",
        exchange(
            status=404,
            body=b'<script src="/static/js/app.js"></script><a href="/docs/api/index.html">',
            outcome=Outcome(),
        ),
        None,
    ),
    ("server_version_leak", exchange(headers={**JSON, "server": "nginx/1.25.3"}), "nginx/1.25.3"),
    ("server_version_leak", exchange(headers={**JSON, "x-powered-by": "PHP/8.1.2"}), "PHP/8.1.2"),
    (
        "server_version_leak",
        exchange(status=502, body=b"<center>openresty/1.21.4.1</center>", outcome=Outcome()),
        "openresty",
    ),
    ("server_version_leak", exchange(headers={**JSON, "server": "uvicorn"}), None),
    ("secret_leak", exchange(outcome=text("token s3cr3t-token-123456")), "answers.secrets[0]"),
    (
        "secret_leak",
        exchange(headers={**JSON, "x-debug": "s3cr3t-token-123456"}),
        "answers.secrets[0]",
    ),
    (
        "secret_leak",
        exchange(status=500, body=b"key AKIAABCDEFGHIJKLMNOP", outcome=Outcome()),
        "AWS",
    ),
    ("secret_leak", exchange(outcome=text("the AWS docs use AKIAIOSFODNN7EXAMPLE")), None),
    ("secret_leak", exchange(outcome=text("nothing here")), None),
]


# strict_json's NaN and Infinity tokens are errors (wrong numbers), its other findings warnings.
NON_FINITE = {
    ("strict_json", "NaN"): "error",
    ("strict_json", "-Infinity"): "error",
    ("strict_json", "stream line 3"): "error",
}


@pytest.mark.parametrize(("name", "given", "fragment"), CASES)
def test_check_fires_exactly_when_it_should(
    name: str, given: Exchange, fragment: str | None
) -> None:
    finding = CHECKS[name](given)
    if fragment is None:
        assert finding is None, finding
        return
    assert finding is not None
    assert finding.check == name
    assert fragment.lower() in finding.message.lower(), finding.message
    assert finding.severity == NON_FINITE.get((name, fragment), DEFAULT_SEVERITY[name])
    # Every finding carries its evidence.
    assert finding.expected
    assert finding.got


def test_secret_values_never_appear_in_a_finding() -> None:
    finding = CHECKS["secret_leak"](exchange(outcome=text("s3cr3t-token-123456")))
    assert finding is not None
    assert "s3cr3t" not in f"{finding.message} {finding.expected} {finding.got}"


def test_every_check_is_quiet_on_a_clean_answer() -> None:
    for name, check in CHECKS.items():
        assert check(exchange()) is None, name


def test_suite_applies_severity_overrides_and_keeps_defaults() -> None:
    suite = CheckSuite(list(CHECKS.values()), severity={"accepted_invalid_input": "error"})
    findings = suite.run(exchange(expect="reject", status=200, body=b'{"a": 1, "a": 2}'))
    assert {(f.check, f.severity) for f in findings} == {
        ("accepted_invalid_input", "error"),
        ("strict_json", "warning"),
    }
    quiet = CheckSuite(list(CHECKS.values()), severity={"strict_json": "info"})
    findings = quiet.run(exchange(expect="reject", status=200, body=b'{"a": NaN}'))
    assert [f.severity for f in findings if f.check == "strict_json"] == ["info"]


def test_select_expands_default_and_skips_group_names() -> None:
    assert select(None) == list(CHECKS.values())
    assert select(["no_timeout", "degradation"]) == [CHECKS["no_timeout"]]
    chosen = select(["default", "no_timeout"])
    assert chosen == list(CHECKS.values())


def test_settings_resolve_env_secrets_and_credential_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stress.scenario import from_dict

    monkeypatch.setenv("STRESS_TEST_SECRET", "from-the-environment-42")
    scenario = from_dict(
        {
            "name": "s",
            "target": {
                "url": "http://127.0.0.1:9",
                "protocol": "openai-chat",
                "headers": {"Authorization": "Bearer sk-abcdefgh12345", "X-Trace": "on"},
            },
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": "p", "users": 1, "duration": "1s"}]},
            "answers": {"secrets": ["${STRESS_TEST_SECRET}", "short", "${UNSET_VAR_XYZ}"]},
        }
    )
    settings = Settings.from_scenario(scenario)
    assert settings.secrets == (
        ("answers.secrets[0]", "from-the-environment-42"),
        ("target.headers.Authorization", "sk-abcdefgh12345"),
    )


def test_finding_is_data() -> None:
    finding = Finding("x", "y")
    assert (finding.severity, finding.expected, finding.got) == ("error", None, None)
