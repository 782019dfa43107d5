"""Export a stored case as a reproducer someone else can run: curl, a Python script, a pytest test.

All three send exactly the stored method, path, headers and body bytes, with nothing of
stress needed to run them:

    format   what it is                                  exit / result
    curl     a POSIX shell command (sh, bash, zsh)        curl's; the answer is printed
    python   a standalone script (standard library)      1 still fails, 0 fixed, 2 no answer
    pytest   one test, standard library + pytest         fails while the bug exists

A chunked body is given to curl unframed, for curl frames it again: only a body framed as
curl frames it (``curl_data``) is exported to curl. The body is written so that every byte
survives: in the shell command it is the format string
of ``printf`` in single quotes, with every byte that is not a printable character written as
an octal escape (NUL, invalid UTF-8, control and bidirectional characters included), so the
command is shell-safe and shows no invisible characters. Secrets are never written out: a
redacted header refers to the environment variable the scenario takes it from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stress import framing
from stress.checks import connection
from stress.checks.exchange import SECRET_HEADERS
from stress.errors import UsageError
from stress.httpread import BODY_METHODS
from stress.invocation import command
from stress.repro import oracle
from stress.repro.cases import (
    ENV_REFERENCE,
    REDACTED,
    body_of,
    case_input,
    corpus_inputs,
    path_parts,
    secret_value,
)

# Format is part of this module's face (render(repro, Format.CURL)): re-exported.
from stress.repro.reproducer import LINE_CHARS, Header, Judgement, Reproducer, about, wrap
from stress.repro.reproducer import Format as Format
from stress.rundir import layout
from stress.rundir.read import read_run_info
from stress.scenario import Scenario

BUILTIN_DEMO = "builtin:demo"
# What `stress demo-server` listens on by default: where a builtin:demo repro points.
DEMO_URL = "http://127.0.0.1:8000"


def export_url(run_dir: Path, scenario: Scenario, target: str | None) -> tuple[str, list[str]]:
    """The URL an export points at, and notes on where it came from.

    ``target`` wins; a builtin:demo run points at ``stress demo-server``'s default address
    (the run's own demo server lived on a random port and is gone); otherwise the URL the run
    loaded, as run.json has it.
    """
    if target and target != BUILTIN_DEMO:
        return target.rstrip("/"), []
    if target == BUILTIN_DEMO or scenario.target.url == BUILTIN_DEMO:
        return DEMO_URL, [
            "The run's target was builtin:demo, the bundled demo server on a random port. Start",
            f"it before running this (port 8000 is its default): {command('demo-server')}",
        ]
    info = read_run_info(run_dir)
    url = _run_json_url(run_dir) or info.target or scenario.target.url
    return url.rstrip("/"), []


def _run_json_url(run_dir: Path) -> str | None:
    try:
        data = json.loads(layout.run_info(run_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def secret_variable(header: str) -> str:
    """The variable an export reads a secret from when the scenario wrote it literally."""
    return "STRESS_HEADER_" + re.sub(r"[^A-Za-z0-9]", "_", header).upper()


def export_headers(
    headers: Mapping[str, str], scenario: Scenario
) -> tuple[tuple[Header, ...], list[str]]:
    """Stored headers for an export; redacted ones refer to environment variables."""
    out: list[Header] = []
    notes: list[str] = []
    for name, value in headers.items():
        if value != REDACTED:
            out.append(Header(name, ((value, False),)))
            continue
        configured = secret_value(name, scenario)
        if configured is None:
            notes.append(f"Header {name} was sent but is redacted and not in the scenario: add it.")
            continue
        if not ENV_REFERENCE.search(configured):
            variable = secret_variable(name)
            notes.append(f"Header {name} is a secret: set {variable} to the scenario's value.")
            out.append(Header(name, ((variable, True),)))
            continue
        parts: list[tuple[str, bool]] = []
        position = 0
        for match in ENV_REFERENCE.finditer(configured):
            if match.start() > position:
                parts.append((configured[position : match.start()], False))
            parts.append((match.group(1), True))
            position = match.end()
        if position < len(configured):
            parts.append((configured[position:], False))
        variables = ", ".join(text for text, is_env in parts if is_env)
        notes.append(f"Header {name} is a secret taken from the environment: {variables}.")
        out.append(Header(name, tuple(parts)))
    return tuple(out), notes


def judgement(case: Mapping[str, Any], scenario: Scenario, run_dir: Path) -> Judgement:
    """How an export judges ``case``'s answer: as the run did (stress.checks.judge)."""
    from stress.checks.request import select

    chosen = {getattr(check, "__name__", "") for check in select(scenario.checks)}
    checks = tuple(name for name in oracle.BUILTIN if name in chosen)
    custom = tuple(name for name in (scenario.checks or []) if ":" in name)
    severity = {
        str(name): str(level)
        for name, level in scenario.severity.items()
        if name in oracle.BUILTIN or name == connection.DROPPED
    }
    failed = tuple(
        (str(f.get("check")), str(f.get("severity", "error")))
        for f in case.get("findings") or []
        if isinstance(f, Mapping)
    ) or ((str(case["check"]), "error"),)
    answers = scenario.answers
    settings = {
        "protocol": scenario.target.protocol.value,
        "max_tokens": scenario.target.max_tokens,
        "json_schema": answers.json_schema,
        "labels": answers.labels,
        "min_value": answers.min_value,
        "max_value": answers.max_value,
        "max_bytes": answers.max_bytes,
        "system_prompts": [p for p in answers.system_prompt if p.strip()],
        "amplification": answers.amplification.model_dump(),
        "runaway": answers.runaway.model_dump(),
    }
    # A secret written into the scenario is never written out: the script reads it from
    # the environment (STRESS_SECRET_<n>), as it reads a literal secret header.
    secrets = tuple(
        value if ENV_REFERENCE.fullmatch(value.strip()) else f"${{STRESS_SECRET_{index}}}"
        for index, value in enumerate(answers.secrets)
    )
    secret_headers = tuple(
        name
        for name, value in scenario.target.headers.items()
        if name.lower() in SECRET_HEADERS and "${" not in value
    )
    item = case_input(case, corpus_inputs(run_dir, [str(case.get("input_id"))]))
    return Judgement(
        checks=checks,
        severity=severity,
        failed=failed,
        settings=settings,
        secrets=secrets,
        secret_headers=secret_headers,
        max_bytes=scenario.target.max_body_bytes,
        item=None if item is None else {"kind": item.kind, "payload": item.payload},
        unjudged=custom,
        response=response.model_dump() if (response := scenario.target.response) else None,
        follow=any(check == connection.DROPPED for check, _ in failed),
        post_load=dict(post) if isinstance(post := case.get("post_load"), Mapping) else None,
    )


def reproducer(
    case: Mapping[str, Any],
    scenario: Scenario,
    run_dir: Path,
    *,
    target: str | None = None,
) -> Reproducer:
    """The format-independent content of an export of ``case``."""
    url, notes = export_url(run_dir, scenario, target)
    request = case["request"]
    headers, header_notes = export_headers(request["headers"], scenario)
    shrink = case.get("shrink") or {}
    if shrink.get("status") == "shrunk":
        notes = [
            f"Minimal case from `stress shrink`: {shrink.get('shrunk_bytes')} body bytes "
            f"(the stored failure had {shrink.get('original_bytes')}).",
            *notes,
        ]
    checks = tuple(
        dict.fromkeys(f["check"] for f in case.get("findings", []) if f.get("check"))
    ) or (str(case["check"]),)
    pieces = path_parts(str(request["path"]), scenario)
    if variables := [text for text, is_env in pieces if is_env]:
        header_notes.append(
            f"Query parameters are secrets taken from the environment: {', '.join(variables)}."
        )
    return Reproducer(
        case_id=str(case["input_id"]),
        family=str(case.get("family", "")),
        expect=str(case.get("expect", "accept")),
        check=str(case["check"]),
        message=str(case.get("message", "")),
        checks=checks,
        protocol=scenario.target.protocol.value,
        url=url,
        method=str(request["method"]),
        path=str(request["path"]),
        headers=headers,
        body=body_of(request),
        timeout=float(scenario.target.timeout),
        notes=(*notes, *header_notes),
        path_parts=pieces,
        judgement=judgement(case, scenario, run_dir),
    )


def render(repro: Reproducer, fmt: Format) -> str:
    if fmt is Format.CURL:
        return curl(repro)
    if repro.protocol not in oracle.PROTOCOLS:
        raise UsageError(
            f"--format {fmt.value}: a standalone script cannot read {repro.protocol} answers "
            f"yet (it reads {', '.join(oracle.PROTOCOLS)}); use --format curl, or `stress "
            f"replay` to judge the answer with stress"
        )
    from stress.repro.script import pytest_file, python_script

    return python_script(repro) if fmt is Format.PYTHON else pytest_file(repro)


# ------------------------------------------------------------------ curl

# The largest body curl sends as a single chunk: it chunks what it reads in upload-buffer
# pieces (64 KiB in curl 7.88, 16 KiB in older ones).
CURL_ONE_CHUNK = 16_000


def curl_data(repro: Reproducer) -> bytes:
    """The bytes curl is given to send: the stored body, or for a chunked one the data it
    carries, which curl frames again itself, as one chunk with a lower-case size and no
    extension. A body framed any other way cannot be sent by curl: a UsageError says so."""
    if not any(header.name.lower() == "transfer-encoding" for header in repro.headers):
        return repro.body
    try:
        data = framing.dechunk(repro.body)
    except ValueError as exc:
        data, problem = b"", f"its chunked body is not well framed ({exc})"
    else:
        problem = (
            "curl chunks a body itself, as one chunk with a lower-case size and no extension "
            f"(up to {CURL_ONE_CHUNK} bytes); this case's body is framed otherwise"
        )
    if framing.chunked(data) == repro.body and len(data) <= CURL_ONE_CHUNK:
        return data
    raise UsageError(
        f"--format curl: {problem}. Use --format python or --format pytest (they send the "
        "stored bytes), or `stress replay`"
    )


def _printf_pieces(body: bytes) -> list[str]:
    """``body`` as printf format-string pieces, one per character or byte.

    Inside single quotes only ``'`` is special to the shell; printf then interprets ``\\``
    and ``%``. Everything that is not a printable character (str.isprintable: controls, bidi
    and other format characters, separators, unassigned) and every invalid UTF-8 byte becomes
    a three-digit octal escape, which every POSIX printf reads the same way.
    """
    pieces: list[str] = []
    for char in body.decode("utf-8", "surrogateescape"):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            pieces.append(f"\\{code - 0xDC00:03o}")
        elif char == "\\":
            pieces.append("\\\\")
        elif char == "%":
            pieces.append("%%")
        elif char == "\n":
            pieces.append("\\n")
        elif char == "\t":
            pieces.append("\\t")
        elif char != "'" and char.isprintable():
            pieces.append(char)
        else:
            pieces.append("".join(f"\\{byte:03o}" for byte in char.encode("utf-8")))
    return pieces


def printf_command(body: bytes, *, width: int = LINE_CHARS) -> list[str]:
    """Shell lines whose standard output is exactly ``body``: one printf, or a { } group."""
    lines = []
    for line in wrap(_printf_pieces(body), width):
        if line.startswith("-"):  # printf would read it as an option
            line = "\\055" + line[1:]
        lines.append(f"printf '{line}'")
    if len(lines) == 1:
        return lines
    return ["{", *(f"  {line}" for line in lines), "}"]


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _shell_url(repro: Reproducer) -> str:
    """The URL as a shell word; a secret query value is ``"${VAR}"``, inserted as it is (a
    value with characters other than letters, digits and -._~ must be URL-encoded first)."""
    return _shell_word(repro.url, repro.path_pieces())


def _shell_header(header: Header) -> str:
    if not header.parts or header.parts == (("", False),):
        # "Name:" would make curl drop the header; "Name;" sends it with an empty value.
        return shell_quote(f"{header.name};")
    return _shell_word(f"{header.name}: ", header.parts)


def _shell_word(prefix: str, parts: tuple[tuple[str, bool], ...]) -> str:
    """``prefix`` and ``parts`` as one shell word; variables expand as ``"${VAR}"``."""
    words = []
    for index, (text, is_env) in enumerate(parts):
        lead = prefix if index == 0 else ""
        if is_env:
            if lead:
                words.append(shell_quote(lead))
            words.append(f'"${{{text}}}"')
        else:
            words.append(shell_quote(lead + text))
    return "".join(words)


def _comment(lines: list[str] | tuple[str, ...], prefix: str = "# ") -> list[str]:
    return [(prefix + line).rstrip() for line in lines]


# Headers curl adds of its own: a -H "Name:" (empty) takes each one out unless the input
# sends it. User-Agent and Accept always; Content-Type (a form type) and Expect
# ("100-continue" for large bodies) with a body. Host stays: it is the contract's own.
CURL_OWN_HEADERS = ("User-Agent", "Accept", "Content-Type", "Expect")


# What a connection_dropped_after_answer export says about its second URL.
FOLLOW_NOTE = [
    "The URL is given twice: curl sends the request a second time on the connection the",
    "first answer kept. Where the server drops that connection again, curl's --verbose",
    "output says 'Connection died, retrying a fresh connect' (curl sends it again on a new",
    "connection); a server that says Connection: close makes curl open a new one at once.",
]


def curl(repro: Reproducer) -> str:
    """A shell command that sends the stored request byte for byte with curl (the wire
    contract: request line, Host, the stored headers in their order and case, Content-Length
    when there is a body or the method carries one, nothing else)."""
    names = {header.name.lower() for header in repro.headers}
    options = [
        # -q first: no ~/.curlrc adds options; HTTP/1.1 as the run spoke it; the path as
        # stored (no /../ squashing, no [] {} globbing); straight to the target, no proxy.
        "-q --http1.1 --path-as-is --globoff --noproxy '*'",
        "--silent --show-error --include",
        f"--max-time {repro.timeout:g}",
        f"--request {shell_quote(repro.method)} {_shell_url(repro)}",
        *(
            # Twice: curl sends the request again on the connection the first answer kept.
            [f"--verbose {_shell_url(repro)}"]
            if repro.judgement is not None and repro.judgement.follow
            else []
        ),
        *(f"-H {_shell_header(header)}" for header in repro.headers),
        *(f"-H '{name}:'" for name in CURL_OWN_HEADERS if name.lower() not in names),
    ]
    body_bytes = curl_data(repro)
    lines = _comment(
        [
            *about(repro),
            *(FOLLOW_NOTE if repro.judgement is not None and repro.judgement.follow else []),
            f"Body: {len(body_bytes)} bytes, written as printf octal escapes.",
        ]
    )
    if not body_bytes and repro.method.upper() not in BODY_METHODS:
        # No body and no Content-Length: curl without data sends neither.
        lines.append("curl " + " \\\n    ".join(options))
        return "\n".join(lines) + "\n"
    options.append("--data-binary @-")
    body = printf_command(body_bytes)
    lines += body[:-1]
    lines.append(f"{body[-1]} | curl " + " \\\n    ".join(options))
    return "\n".join(lines) + "\n"
