"""The python and pytest exports: a script that sends a stored case and judges the answer.

The script needs only the standard library (and pytest for the pytest format; jsonschema
when the scenario declares answers.json_schema). It judges the answer as the run did: it
carries the source of stress's check modules (stress.repro.oracle.COPIED), each loaded as a
module of its own with its imports of stress pointed at the other copies, and calls the
copy of ``oracle.judge`` with the scenario's checks, severity overrides and answer settings.

The request goes out as the input gives it (the wire contract in ARCHITECTURE.md): the
request line, Host, the stored headers in their order and case, Content-Length when there
is a body or the method carries one (not with a Transfer-Encoding: a chunked body is stored
framed, and goes out as stored), nothing else (http.client's Accept-Encoding is skipped;
its Host is the contract's, skipped when the input gives one). With Expect: 100-continue
the body waits for the 100, up to framing.EXPECT_WAIT seconds, as the load's does.
The answer is read within the target's timeout and up to target.max_body_bytes, and a
failure is named with stress's error kinds.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from typing import Any

from stress import framing
from stress.httpread import BODY_METHODS
from stress.repro import oracle
from stress.repro.reproducer import LINE_CHARS, Header, Reproducer, about, wrap


def _rewrite(name: str, source: str) -> str:
    """``source`` with every import from stress replaced by the copies it names."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        if node.module != "stress" and not node.module.startswith("stress."):
            continue
        statements = []
        for alias in node.names:
            bound = alias.asname or alias.name
            whole = f"{node.module}.{alias.name}"
            if whole in oracle.COPIED:
                statements.append(f"{bound} = _copy({whole!r})")
            elif node.module in oracle.COPIED:
                statements.append(f"{bound} = _copy({node.module!r}).{alias.name}")
        # Imports of anything else are for annotations only (under TYPE_CHECKING).
        indent = " " * node.col_offset
        assert node.end_lineno is not None
        edits.append((node.lineno, node.end_lineno, indent + ("; ".join(statements) or "pass")))
    for start, end, text in sorted(edits, reverse=True):
        lines[start - 1 : end] = [text + "\n"]
    return "".join(lines)


def _literal(source: str) -> str:
    """A triple-quoted Python literal equal to ``source``."""
    escaped = source.replace("\\", "\\\\").replace("'''", "\\'\\'\\'")
    return "'''" + escaped + "'''"


def copied_modules() -> str:
    """The script's copy of stress's judgement: module sources and their loader."""
    parts = ["_COPIED = {"]
    for name in oracle.COPIED:
        source = inspect.getsource(importlib.import_module(name))
        parts.append(f"    {name!r}: {_literal(_rewrite(name, source))},")
    parts.append("}")
    return "\n".join(parts) + "\n\n\n" + _LOADER.strip()


_LOADER = '''
def _copy(name: str) -> types.ModuleType:
    """One of the copied stress modules, loaded once as a module of its own."""
    qualified = "_stress_copy." + name
    module = sys.modules.get(qualified)
    if module is None:
        module = types.ModuleType(qualified)
        module.__dict__["_copy"] = _copy
        sys.modules[qualified] = module
        exec(compile(_COPIED[name], f"<stress copy of {name}>", "exec"), module.__dict__)
    return module
'''

_SEND = '''
def connect() -> http.client.HTTPConnection:
    url = urllib.parse.urlsplit(URL)
    kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    return kind(url.hostname or "", url.port, timeout=TIMEOUT)


def send(
    connection: http.client.HTTPConnection | None = None,
    request: tuple[str, str, dict[str, str], bytes] | None = None,
) -> tuple[int, dict[str, str], bytes, str | None, float]:
    """Send the request once: (status, headers, body, error kind or None, milliseconds).

    On ``connection`` (kept open for a next request) when given, else on a new one, closed.
    ``request``: (method, path, headers, body), the case's own by default."""
    own = connection is None
    connection = connect() if connection is None else connection
    method, path, fields, body = request or (METHOD, PATH, HEADERS, BODY)
    started = time.monotonic()
    deadline = started + TIMEOUT
    status, headers, chunks, error = 0, {}, [], None
    try:
        # The wire contract: the request line, Host (http.client's, from URL, unless the
        # input gives its own), the input's headers in its order and case, Content-Length
        # when there is a body or the method carries one; no Accept-Encoding of http.client.
        names = {name.lower() for name in fields}
        connection.putrequest(
            method,
            urllib.parse.urlsplit(URL).path.rstrip("/") + path,
            skip_host="host" in names,
            skip_accept_encoding=True,
        )
        for name, value in fields.items():
            connection.putheader(name, value)
        # A Transfer-Encoding frames the body itself: the body is stored framed, as sent.
        framed = names & {"content-length", "transfer-encoding"}
        if (body or method.upper() in BODY_METHODS) and not framed:
            connection.putheader("Content-Length", str(len(body)))
        if body and any(
            name.lower() == "expect" and value.strip().lower() == "100-continue"
            for name, value in fields.items()
        ):
            # The head alone; the body after "100 Continue", or after EXPECT_WAIT seconds
            # of silence (as curl does); not after a final answer that came first.
            connection.endheaders()
            ready, _, _ = select.select([connection.sock], [], [], min(EXPECT_WAIT, TIMEOUT))
            peek = ready and urllib.parse.urlsplit(URL).scheme == "http"  # TLS: no peeking
            first = connection.sock.recv(12, socket.MSG_PEEK) if peek else b""
            if not first or first[9:12] == b"100":
                connection.send(body)
        else:
            connection.endheaders(body or None)
        response = connection.getresponse()
        status = response.status
        headers = {name.lower(): value for name, value in response.getheaders()}
        size = 0
        while chunk := response.read1(65536):
            if size + len(chunk) > MAX_BODY_BYTES:
                chunks.append(chunk[: MAX_BODY_BYTES - size])
                error = "body_too_large"
                break
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                error = "timeout"
                break
        else:
            response.close()  # read to its end: the connection can carry a next request
    except TimeoutError:
        error = "timeout"
    except ConnectionRefusedError:
        error = "connection_refused"
    except (ConnectionResetError, BrokenPipeError, http.client.IncompleteRead):
        error = "connection_reset"
    except http.client.HTTPException:
        error = "invalid_http"
    except OSError:
        error = "connection_error"
    finally:
        if own or error is not None:
            connection.close()
    return status, headers, b"".join(chunks), error, (time.monotonic() - started) * 1000


def dropped_again(connection: http.client.HTTPConnection) -> bool:
    """A second request on the connection the case's answer kept (connection_dropped_after_
    answer): True when the server dropped it before any byte of an answer and the same
    request on a new connection was answered (stress's rule: the drop is the answer
    before it). An answer that said Connection: close left nothing kept: http.client opens
    a new connection, and nothing drops."""
    request = (METHOD, PATH, HEADERS, BODY)
    status, _, _, error, _ = send(connection, request)
    connection.close()
    if status or error != "connection_reset":
        return False
    return send(None, request)[0] > 0


def slow_again(oracle, exchange, status, headers, body, latency_ms) -> list:
    """slow_generation, judged after the load, re-judged on this answer: slower than
    slow_factor x its output tokens x the pace the run learned, and slow_min_ms beyond."""
    outcome = oracle.parse(SETTINGS["protocol"], status, headers, body, response=RESPONSE)
    tokens = outcome.output_tokens
    if not tokens:
        return []
    expected = POST_LOAD["pace_ms_per_token"] * tokens
    if latency_ms <= POST_LOAD["slow_factor"] * expected:
        return []
    if latency_ms - expected <= POST_LOAD["slow_min_ms"]:
        return []
    level = next((s for c, s in FAILED if c == "slow_generation"), "error")
    message = f"{latency_ms:.0f} ms for {tokens} output tokens (the run's pace: {expected:.0f} ms)"
    return [exchange.Finding("slow_generation", message, level)]


def judged() -> tuple[int, bytes, str | None, list]:
    """Send once and judge the answer as stress does: (status, body, error kind, findings)."""
    exchange = _copy("stress.checks.exchange")
    oracle = _copy("stress.repro.oracle")
    validator = None
    if SETTINGS["json_schema"] is not None:
        try:
            from jsonschema.validators import validator_for
        except ImportError:
            raise SystemExit("this reproducer judges answers.json_schema: pip install jsonschema")
        validator = validator_for(SETTINGS["json_schema"])(SETTINGS["json_schema"])
    labels = SETTINGS["labels"]
    settings = exchange.Settings(
        protocol=SETTINGS["protocol"],
        max_tokens=SETTINGS["max_tokens"],
        json_schema=SETTINGS["json_schema"],
        labels=None if labels is None else tuple(labels),
        min_value=SETTINGS["min_value"],
        max_value=SETTINGS["max_value"],
        max_bytes=SETTINGS["max_bytes"],
        system_prompts=tuple(SETTINGS["system_prompts"]),
        secrets=exchange._secrets(
            list(SECRETS), {name: HEADERS[name] for name in SECRET_HEADERS if name in HEADERS}
        ),
        validator=validator,
        amplify_ratio=SETTINGS["amplification"]["ratio"],
        amplify_min_bytes=SETTINGS["amplification"]["min_bytes"],
        amplify_error_min_bytes=SETTINGS["amplification"]["error_min_bytes"],
        echo_min_bytes=SETTINGS["amplification"]["echo_min_bytes"],
        runaway_token_slack=SETTINGS["runaway"]["token_slack"],
        runaway_ms_per_token=SETTINGS["runaway"]["max_ms_per_token"],
        runaway_min_ms=SETTINGS["runaway"]["min_ms"],
    )
    connection = connect()
    status, headers, body, error, latency_ms = send(connection if FOLLOW else None)
    kept = FOLLOW and error is None  # read whole: the connection is there for a next request
    answered = error is None
    item = None if ITEM is None else oracle.Item(ITEM["kind"], ITEM["payload"])
    error, findings = oracle.judge(
        CHECKS,
        SEVERITY,
        settings,
        expect=EXPECT,
        status=status,
        headers=headers,
        body=body,
        error_kind=error,
        latency_ms=latency_ms,
        item=item,
        response=RESPONSE,
        request=oracle.Request(METHOD, PATH, HEADERS, BODY),
    )
    if answered and POST_LOAD and POST_LOAD.get("check") == "slow_generation":
        findings += slow_again(oracle, exchange, status, headers, body, latency_ms)
    if kept and dropped_again(connection):
        dropped = _copy("stress.checks.connection")
        level = SEVERITY.get(dropped.DROPPED, dropped.DEFAULT_SEVERITY[dropped.DROPPED])
        findings.append(dropped.dropped_after(CASE, status, CASE, severity=level))
    connection.close()
    print("FINDINGS " + json.dumps(sorted([f.check, f.severity] for f in findings)))
    return status, body, error, findings


def verdict(error: str | None, findings: list) -> str:
    """fails while one of the case's errors is an error again (a case of warnings only:
    while one of its checks fires), no_answer when nothing answered, else passes."""
    errors = {check for check, severity in FAILED if severity == "error"}
    if errors:
        again = [f for f in findings if f.severity == "error" and f.check in errors]
    else:
        again = [f for f in findings if f.check in {check for check, _ in FAILED}]
    if again:
        return "fails"
    no_answer = ("timeout", "hang", *_copy("stress.errorkinds").CONNECTION_KINDS)
    return "no_answer" if error in no_answer else "passes"
'''

_IMPORTS = [
    "import http.client",
    "import json",
    "import os",
    "import select",
    "import socket",
    "import sys",
    "import time",
    "import types",
    "import urllib.parse",
]

_MAIN = """
def main() -> int:
    status, body, error, findings = judged()
    result = verdict(error, findings)
    if result == "no_answer":
        print(f"{CASE}: no answer from {URL}: {error.replace('_', ' ')}", file=sys.stderr)
        return 2
    print(f"HTTP {status}, {len(body)} bytes: {body[:300].decode('utf-8', 'replace')!r}")
    for finding in findings:
        print(f"  {finding.check} ({finding.severity}): {finding.message}")
    if result == "fails":
        print(f"{CASE} still fails")
        return 1
    print(f"{CASE} passes: none of {', '.join(sorted({c for c, _ in FAILED}))} fails now")
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""


def _data(value: Any) -> str:
    """A Python expression equal to a JSON value (NaN and Infinity included)."""
    return f"json.loads({py_str(json.dumps(value, allow_nan=True))})"


def _constants(repro: Reproducer) -> str:
    judgement = repro.judgement
    assert judgement is not None
    return "\n".join(
        [
            f'URL = os.environ.get("STRESS_TARGET", {py_str(repro.url)})',
            f"METHOD = {py_str(repro.method)}",
            f"PATH = {_python_path(repro)}",
            f"HEADERS = {_python_headers(repro.headers)}",
            f"BODY = {python_body(repro.body)}",
            "# Methods sent with a Content-Length even when the body is empty.",
            f"BODY_METHODS = {_data(sorted(BODY_METHODS))}",
            f"TIMEOUT = {repro.timeout!r}",
            "# Seconds to wait for 100 Continue before sending the body anyway (curl's).",
            f"EXPECT_WAIT = {framing.EXPECT_WAIT!r}",
            f"MAX_BODY_BYTES = {judgement.max_bytes!r}",
            "# What the answer is judged by: the scenario's checks, severities and settings.",
            f"CASE = {py_str(repro.case_id)}",
            f"EXPECT = {py_str(repro.expect)}",
            f"CHECKS = {_data(list(judgement.checks))}",
            f"SEVERITY = {_data(judgement.severity)}",
            f"SETTINGS = {_data(judgement.settings)}",
            f"SECRETS = {_data(list(judgement.secrets))}",
            f"SECRET_HEADERS = {_data(list(judgement.secret_headers))}",
            f"ITEM = {_data(judgement.item)}",
            f"RESPONSE = {_data(judgement.response)}",
            "# The findings the run stored for this case: (check, severity).",
            f"FAILED = {_data([list(pair) for pair in judgement.failed])}",
            "# connection_dropped_after_answer: after the answer, the same request once more on",
            "# the connection it kept, to see whether the server drops it again.",
            f"FOLLOW = {judgement.follow!r}",
            "# A finding judged after the load (slow_generation: the run's pace), else None.",
            f"POST_LOAD = {_data(judgement.post_load)}",
        ]
    )


def _notes(repro: Reproducer) -> list[str]:
    judgement = repro.judgement
    assert judgement is not None
    notes = []
    if judgement.unjudged:
        notes.append(f"Not judged here (custom checks): {', '.join(judgement.unjudged)}.")
    if judgement.secrets:
        notes.append("answers.secrets are read from the environment variables they name.")
    if (judgement.post_load or {}).get("check") == "cost_growth":
        notes.append(
            "Not judged here: cost_growth is a fit over many answers; `stress replay` judges "
            "the fit's smallest and largest input together. This sends one of them."
        )
    return notes


def _module(repro: Reproducer, docstring: list[str], tail: str) -> str:
    # Messages come from the endpoint's answers: nothing in them may end the docstring.
    doc = "\n".join(docstring).replace("\\", "\\\\").replace('"', '\\"')
    head = f'"""{doc}\n"""\n\nfrom __future__ import annotations\n\n' + "\n".join(_IMPORTS)
    parts = [
        head + "\n\n\n" + _SECRET.strip(),
        _constants(repro),
        "# The judgement as stress runs it: its own modules, copied by `stress repro`.\n"
        + copied_modules(),
        _SEND.strip(),
        tail.strip(),
    ]
    return "\n\n\n".join(parts) + "\n"


def python_script(repro: Reproducer) -> str:
    """A standalone script: exit 1 while the failure reproduces, 0 once fixed, 2 no answer."""
    docstring = [
        *about(repro),
        *_notes(repro),
        "",
        f"Run: python3 THIS_FILE (sends to {repro.url}; set STRESS_TARGET to change it).",
        "Exit 1 while it still fails, 0 once it is fixed, 2 when no answer arrives.",
        "Written by `stress repro --format python`; needs only the standard library.",
    ]
    return _module(repro, docstring, _MAIN)


def test_name(case_id: str) -> str:
    import re

    return "test_" + re.sub(r"\W", "_", case_id).strip("_")


def pytest_file(repro: Reproducer) -> str:
    """One pytest test that fails while the bug exists and passes once it is fixed."""
    docstring = [
        *about(repro),
        *_notes(repro),
        "",
        f"Run: pytest THIS_FILE (sends to {repro.url}; set STRESS_TARGET to change it).",
        "The test fails while the endpoint still fails this way and passes once it is fixed;",
        "an endpoint that does not answer fails it too. Written by `stress repro --format",
        "pytest`; needs only pytest and the standard library.",
    ]
    tail = f"""
def {test_name(repro.case_id)}() -> None:
    status, body, error, findings = judged()
    result = verdict(error, findings)
    assert result != "no_answer", f"no answer from {{URL}}: {{error}}"
    shown = "; ".join(f"{{f.check}} ({{f.severity}}): {{f.message}}" for f in findings)
    answer = f"HTTP {{status}}: {{body[:300]!r}}"
    assert result == "passes", f"{{CASE}} still fails: {{shown}} ({{answer}})"
"""
    return _module(repro, docstring, tail)


# ------------------------------------------------------------------ python


def _python_str_pieces(text: str, quote: str) -> list[str]:
    pieces = []
    for char in text:
        if char in ("\\", quote):
            pieces.append("\\" + char)
        elif char.isprintable():
            pieces.append(char)
        elif char == "\n":
            pieces.append("\\n")
        elif ord(char) <= 0xFF:
            pieces.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            pieces.append(f"\\u{ord(char):04x}")
        else:
            pieces.append(f"\\U{ord(char):08x}")
    return pieces


def _python_bytes_pieces(body: bytes, quote: str) -> list[str]:
    pieces = []
    for byte in body:
        char = chr(byte)
        if char in ("\\", quote):
            pieces.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            pieces.append(char)
        else:
            pieces.append(f"\\x{byte:02x}")
    return pieces


def _quote_for(text: str) -> str:
    # JSON is full of double quotes: single-quoted literals keep it readable.
    return "'" if text.count('"') > text.count("'") else '"'


def py_str(text: str) -> str:
    """A Python string literal for ``text`` with every non-printable character escaped."""
    quote = _quote_for(text)
    return quote + "".join(_python_str_pieces(text, quote)) + quote


def python_body(body: bytes, *, indent: str = "    ") -> str:
    """A Python expression equal to ``body``: UTF-8 text when it is, else a bytes literal.

    Non-printable characters (controls, bidi, zero-width) are written as escapes, so the
    source shows every character that is there.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        quote = _quote_for(body.decode("latin-1"))
        lines = wrap(_python_bytes_pieces(body, quote), LINE_CHARS)
        inner = "\n".join(f"{indent}b{quote}{line}{quote}" for line in lines)
        return f"(\n{inner}\n)"
    quote = _quote_for(text)
    lines = wrap(_python_str_pieces(text, quote), LINE_CHARS)
    inner = "\n".join(f"{indent}{quote}{line}{quote}" for line in lines)
    return f'(\n{inner}\n).encode("utf-8")'


def _python_headers(headers: tuple[Header, ...]) -> str:
    lines = ["{"]
    for header in headers:
        parts = [
            f"secret({py_str(text)})" if is_env else py_str(text) for text, is_env in header.parts
        ]
        lines.append(f"    {py_str(header.name)}: {' + '.join(parts) or py_str('')},")
    lines.append("}")
    return "\n".join(lines)


def _python_path(repro: Reproducer) -> str:
    parts = [
        f"urllib.parse.quote_plus(secret({py_str(text)}))" if is_env else py_str(text)
        for text, is_env in repro.path_pieces()
    ]
    return " + ".join(parts)


# Defined before the constants, which call it for secret headers and query parameters.
_SECRET = '''
def secret(name: str) -> str:
    """A secret value from the environment (stress never writes secrets out)."""
    value = os.environ.get(name)
    if value is None:
        raise SystemExit(f"set the environment variable {name}: this request needs it")
    return value
'''
