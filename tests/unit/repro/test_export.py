"""Exports: the printf body survives any shell byte for byte, Python literals evaluate back to
the body, secrets are referred to and never written, generated code compiles."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stress.checks.request import CHECKS
from stress.errors import UsageError
from stress.repro.export import (
    Format,
    Header,
    export_headers,
    printf_command,
    render,
    reproducer,
    shell_quote,
)
from stress.repro.script import python_body
from stress.scenario import Scenario

SHELLS = [shell for shell in ("/bin/sh", "/bin/bash") if Path(shell).exists()]


def scenario(url: str = "http://127.0.0.1:8000", headers: dict[str, str] | None = None) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "t",
            "target": {"url": url, "protocol": "openai-chat", "headers": headers or {}},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": "p", "users": 1, "duration": "1s"}]},
        }
    )


def case(body: str, *, headers: dict[str, str] | None = None, check: str = "not_a_server_error"):  # type: ignore[no-untyped-def]
    return {
        "input_id": "unicode.bidi-0001",
        "family": "unicode.bidi",
        "expect": "accept",
        "check": check,
        "message": 'server error: HTTP 500 """ \\ end',
        "findings": [{"check": check, "message": "m", "severity": "error"}],
        "request": {
            "method": "POST",
            "path": "/v1/chat/completions",
            "headers": headers or {"Content-Type": "application/json"},
            "body": body,
        },
        "response": {"status": 500},
    }


def shell_output(shell: str, lines: list[str]) -> bytes:
    result = subprocess.run(
        [shell, "-c", "\n".join(lines)], capture_output=True, timeout=10, check=True
    )
    return result.stdout


@pytest.mark.parametrize("shell", SHELLS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=300)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
@example(body=b"")
@example(body=b"-n leading dash")
@example(body=b"\x00\x01\xff\xc0\x80'\"%s%%\\\\c\\n$HOME`id`\n\r\t\xe2\x80\xae")
@example(body=b"12\x003")  # an octal escape followed by digits
def test_printf_body_is_byte_exact_in_every_shell(shell: str, body: bytes) -> None:
    assert shell_output(shell, printf_command(body, width=37)) == body


def test_printf_body_has_only_printable_ascii_for_invisible_characters() -> None:
    lines = printf_command("a\u202eb\u200bc\x00é中".encode())
    text = "\n".join(lines)
    assert "\u202e" not in text
    assert "\u200b" not in text
    assert "é中" in text  # printable non-ASCII stays readable


@given(
    st.binary(max_size=300)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
@example("quote ' and \" and \\ and \u202e and \U0001f600".encode())
def test_python_body_evaluates_to_the_body(body: bytes) -> None:
    assert eval(python_body(body)) == body


def test_shell_quote_survives_the_shell() -> None:
    text = 'it\'s $HOME `id` \\ "x"'
    assert shell_output("/bin/sh", [f"printf %s {shell_quote(text)}"]) == text.encode()


def test_secret_headers_refer_to_the_environment_and_are_never_written() -> None:
    stored = {
        "Content-Type": "application/json",
        "Authorization": "<redacted>",
        "Cookie": "<redacted>",
        "X-Key": "<redacted>",
    }
    headers, notes = export_headers(
        stored, scenario(headers={"authorization": "Bearer ${API_KEY}", "Cookie": "literal-s3cret"})
    )
    assert headers[1] == Header("Authorization", (("Bearer ", False), ("API_KEY", True)))
    assert headers[2] == Header("Cookie", (("STRESS_HEADER_COOKIE", True),))
    assert [h.name for h in headers] == ["Content-Type", "Authorization", "Cookie"]
    assert any("X-Key" in note for note in notes)
    repro = reproducer(
        case("{}", headers=stored),
        scenario(headers={"Authorization": "Bearer ${API_KEY}", "Cookie": "literal-s3cret"}),
        Path("/nonexistent"),
    )
    for fmt in Format:
        text = render(repro, fmt)
        assert "literal-s3cret" not in text
    curl = render(repro, Format.CURL)
    assert "-H 'Authorization: Bearer '\"${API_KEY}\"" in curl
    assert "-H 'Cookie: '\"${STRESS_HEADER_COOKIE}\"" in curl
    assert 'secret("API_KEY")' in render(repro, Format.PYTHON)


@pytest.mark.parametrize("fmt", [Format.PYTHON, Format.PYTEST])
def test_generated_code_compiles_whatever_the_message_says(fmt: Format) -> None:
    repro = reproducer(case('{"a": "\u202e\\u0000"}'), scenario(), Path("/nonexistent"))
    source = render(repro, fmt)
    compile(source, "exported.py", "exec")
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(compile(source, "exported.py", "exec"), namespace)
    assert namespace["BODY"] == '{"a": "\u202e\\u0000"}'.encode()
    assert namespace["CHECKS"] == list(CHECKS)  # the scenario's: every built-in one
    assert namespace["FAILED"] == [["not_a_server_error", "error"]]


def test_builtin_demo_runs_point_at_the_demo_server_default_port() -> None:
    repro = reproducer(case("{}"), scenario(url="builtin:demo"), Path("/nonexistent"))
    assert repro.url == "http://127.0.0.1:8000"
    assert any("stress demo-server" in note for note in repro.notes)
    assert reproducer(case("{}"), scenario(), Path("/x"), target="http://h:1/").url == "http://h:1"


def test_every_built_in_check_is_exported_and_an_unreadable_protocol_is_a_usage_error() -> None:
    repro = reproducer(case("{}", check="injection_obeyed"), scenario(), Path("/nonexistent"))
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(compile(render(repro, Format.PYTEST), "exported.py", "exec"), namespace)
    assert namespace["CHECKS"] == list(CHECKS)
    assert namespace["FAILED"] == [["injection_obeyed", "error"]]
    other = dataclasses.replace(repro, protocol="grpc-someday")
    assert "curl" in render(other, Format.CURL)
    with pytest.raises(UsageError, match="cannot read grpc-someday answers"):
        render(other, Format.PYTEST)


def curl_call(tmp_path: Path, command: str) -> tuple[list[str], bytes]:
    """The arguments and standard input ``command`` gives curl, as the shell parses them (a
    stand-in curl first on PATH records them)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "curl"
    stub.write_text("#!/bin/sh\nprintf '%s\\0' \"$@\" > argv\ncat > stdin\n", encoding="utf-8")
    stub.chmod(0o755)
    subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        check=True,
        timeout=10,
    )
    argv = (tmp_path / "argv").read_bytes().decode().split("\0")[:-1]
    return argv, (tmp_path / "stdin").read_bytes()


def headers_given(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "-H"]


def test_curl_sends_the_inputs_headers_in_order_and_takes_out_its_own(tmp_path: Path) -> None:
    stored = {"X-Late": "1", "Content-Type": "text/plain", "accept": "a/b", "X-Empty": ""}
    repro = reproducer(case("{}", headers=stored), scenario(), Path("/nonexistent"))
    argv, stdin = curl_call(tmp_path, render(repro, Format.CURL))
    assert argv[0] == "-q"  # no ~/.curlrc
    assert {"--http1.1", "--path-as-is", "--globoff", "--noproxy"} <= set(argv)
    # The input's, in its order and case (an empty value in curl's "Name;" form), then
    # curl's own User-Agent and Expect taken out; Accept and Content-Type are the input's.
    assert headers_given(argv) == [
        "X-Late: 1",
        "Content-Type: text/plain",
        "accept: a/b",
        "X-Empty;",
        "User-Agent:",
        "Expect:",
    ]
    assert stdin == b"{}"


def test_curl_adds_no_content_type_when_the_input_has_none(tmp_path: Path) -> None:
    repro = reproducer(case("{}", headers={"X-A": "1"}), scenario(), Path("/nonexistent"))
    argv, _ = curl_call(tmp_path, render(repro, Format.CURL))
    assert headers_given(argv) == ["X-A: 1", "User-Agent:", "Accept:", "Content-Type:", "Expect:"]


@pytest.mark.parametrize(
    ("method", "body", "data"), [("GET", b"", False), ("POST", b"", True), ("GET", b"x", True)]
)
def test_curl_sends_data_when_there_is_a_body_or_the_method_carries_one(
    tmp_path: Path, method: str, body: bytes, data: bool
) -> None:
    repro = reproducer(case("{}"), scenario(), Path("/nonexistent"))
    repro = dataclasses.replace(repro, method=method, body=body)
    argv, stdin = curl_call(tmp_path, render(repro, Format.CURL))
    assert ("--data-binary" in argv) is data  # with it curl sends Content-Length, even 0
    assert stdin == (body if data else b"")


def test_a_slow_generation_export_rejudges_its_answer_against_the_runs_pace() -> None:
    stored = case("{}", check="slow_generation")
    stored["post_load"] = {
        "check": "slow_generation",
        "pace_ms_per_token": 10.0,
        "slow_factor": 10.0,
        "slow_min_ms": 1000.0,
        "time_ms": 8000.0,
        "tokens": 10,
    }
    source = render(reproducer(stored, scenario(), Path("/nonexistent")), Format.PYTHON)
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(source, "exported.py", "exec"), namespace)
    answer = {
        "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"completion_tokens": 10},
    }
    body = json.dumps(answer).encode()
    copies = namespace["_copy"]
    oracle, exchange = copies("stress.repro.oracle"), copies("stress.checks.exchange")

    def slow(latency_ms: float) -> list[tuple[str, str]]:
        found = namespace["slow_again"](
            oracle, exchange, 200, {"content-type": "application/json"}, body, latency_ms
        )
        return [(f.check, f.severity) for f in found]

    # 10 tokens at the run's 10 ms a token explain 100 ms: 2,000 ms is slow, 1,050 ms is not
    # (10.5 x, but under slow_min_ms beyond).
    assert slow(2_000.0) == [("slow_generation", "error")]
    assert slow(1_050.0) == []


def test_a_cost_growth_export_says_it_does_not_judge_the_fit() -> None:
    stored = case("{}", check="cost_growth")
    stored["post_load"] = {"check": "cost_growth", "family": "(all)", "role": "largest"}
    source = render(reproducer(stored, scenario(), Path("/nonexistent")), Format.PYTHON)
    assert "Not judged here: cost_growth is a fit over many answers" in source
