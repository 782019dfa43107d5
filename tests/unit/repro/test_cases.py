"""Stored cases: secrets come back from the environment, ids are looked up with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stress.errors import UsageError
from stress.repro.cases import (
    body_fields,
    body_of,
    expand_env,
    find_case,
    path_parts,
    restore_headers,
    restore_path,
    signature,
)
from stress.scenario import Scenario

SCENARIO = Scenario.model_validate(
    {
        "name": "t",
        "target": {
            "url": "http://127.0.0.1:1",
            "protocol": "openai-chat",
            "headers": {"Authorization": "Bearer ${API_KEY}", "X-Plain": "literal"},
        },
        "inputs": {"families": {"realistic.chat_prompt": 1}},
        "load": {"phases": [{"name": "p", "users": 1, "duration": "1s"}]},
    }
)


def test_redacted_headers_are_restored_with_variables_expanded() -> None:
    stored = {
        "authorization": "<redacted>",
        "X-Plain": "<redacted>",
        "Cookie": "<redacted>",
        "Accept": "application/json",
    }
    headers, missing = restore_headers(stored, SCENARIO, environ={"API_KEY": "k1"})
    assert headers == {
        "authorization": "Bearer k1",
        "X-Plain": "literal",
        "Accept": "application/json",
    }
    assert missing == ["Cookie"]


def test_an_unset_variable_names_the_header_the_variable_and_the_fix() -> None:
    with pytest.raises(UsageError) as info:
        expand_env("Bearer ${API_KEY}", header="Authorization", environ={})
    message = str(info.value)
    assert "target.headers.Authorization" in message
    assert "API_KEY is not set" in message
    assert "export API_KEY=" in message


@pytest.mark.parametrize("body", [b"", b"plain", "\u202e\x00".encode(), b"\xff\xfe\x00"])
def test_body_fields_round_trip(body: bytes) -> None:
    assert body_of(body_fields(body)) == body


def test_signature_is_check_and_status_class() -> None:
    assert signature({"check": "no_timeout", "response": {"status": 0}}).describe() == (
        "no_timeout with no answer"
    )
    assert signature({"check": "not_a_server_error", "response": {"status": 503}}).status_class == 5


def test_find_case_errors(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "scenario.yaml").write_text(SCENARIO.to_yaml())
    line = {"input_id": "a-0001", "check": "c", "request": {}, "findings": []}
    (run_dir / "failures.jsonl").write_text(json.dumps(line) + "\n{cut off")
    assert find_case(run_dir, "a-0001")["check"] == "c"
    with pytest.raises(UsageError, match=r"no stored failure .* 'b-1' .*some: a-0001"):
        find_case(run_dir, "b-1")
    with pytest.raises(UsageError, match="not a case id"):
        find_case(run_dir, "../../etc/passwd")
    with pytest.raises(UsageError, match="run `stress shrink"):
        find_case(run_dir, "a-0001", shrunk=True)


def test_redacted_query_parameters_are_restored_url_encoded_from_the_environment() -> None:
    target = SCENARIO.target.model_copy(
        update={"params": {"api_key": "k-${API_KEY}", "version": "2024"}}
    )
    scenario = SCENARIO.model_copy(update={"target": target})
    stored = "/v1/chat/completions?api_key=<redacted>&version=2024"
    assert path_parts(stored, scenario) == (
        ("/v1/chat/completions?api_key=k-", False),
        ("API_KEY", True),
        ("&version=2024", False),
    )
    restored = restore_path(stored, scenario, environ={"API_KEY": "a/b+c=="})
    assert restored == "/v1/chat/completions?api_key=k-a%2Fb%2Bc%3D%3D&version=2024"
    assert restore_path("/v1/x?version=2024", scenario, environ={}) == "/v1/x?version=2024"
    with pytest.raises(UsageError, match=r"target\.params: environment variable API_KEY is not"):
        restore_path(stored, scenario, environ={})
