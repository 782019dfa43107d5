"""Information leaks in any response: stack traces, internal paths, server versions, secrets.

=====================  ========================================================  ========
check                  fires on                                                  default
=====================  ========================================================  ========
stack_trace_leak       a Python, Java, JavaScript, Go, .NET or Ruby stack trace  warning
file_path_leak         an internal file path (/srv/..., /home/x/..., C:\\...)    warning
server_version_leak    a product version in Server/X-Powered-By or an error      info
                       page (nginx/1.25.3, PHP/8.1)
secret_leak            a declared secret (answers.secrets, the target's          error
                       credentials) anywhere; a private key or cloud key
                       pattern in what the server (not the model) wrote
=====================  ========================================================  ========

What the server wrote is searched: headers, error bodies, and 2xx bodies the protocol could
not read. The model's own answer text is content (a coding assistant may well print a
traceback or /etc/hosts), so only declared secrets are searched in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stress.checks.exchange import ERROR, INFO, SEARCH_BYTES, WARNING, Exchange, Finding

_STACK_TRACES = (
    (
        "Python",
        re.compile(
            r"Traceback \(most recent call last\):|^\s*File \"[^\"]+\", line \d+, in ", re.M
        ),
    ),
    (
        "Java",
        re.compile(r"^\s+at [\w$.]+\([\w$]+\.(?:java|kt|scala):\d+\)|Exception in thread \"", re.M),
    ),
    (
        "JavaScript",
        re.compile(
            r"^\s+at (?:[\w$.<> \[\]]+ )?\(?(?:/|[A-Za-z]:\\|file:|node:)[^\s()]+:\d+:\d+\)?", re.M
        ),
    ),
    ("Go", re.compile(r"^goroutine \d+ \[[\w ]+\]:|^panic: .+\n\ngoroutine", re.M)),
    (".NET", re.compile(r"^\s+at [\w.<>`]+\(.*\) in .+:line \d+", re.M)),
    ("Ruby", re.compile(r"^\s*(?:from )?/[\w./-]+\.rb:\d+:in [`'‘]", re.M)),
    (
        "PHP",
        re.compile(r"(?:Fatal error|Stack trace):.*\bin /[\w./-]+\.php(?: on line |:)\d+", re.M),
    ),
)

_FILE_PATH = re.compile(
    r"(?<![\w/.])(?:"
    r"/(?:home|Users|root|srv|opt|var/(?:www|lib|app)|usr/(?:local/)?lib|app|workspace|mnt|tmp|etc)"
    r"(?:/[\w.@+-]+){2,}"
    # Anywhere else: a path into installed packages, or to a server-side source file (a
    # traceback's frames name the server's venv wherever it lives; .js is left to the
    # JavaScript trace pattern, since web pages link /static/js/app.js).
    r"|(?:/[\w.@+-]+)+/(?:site-packages|dist-packages|node_modules|gems)(?:/[\w.@+-]+)+"
    r"|(?:/[\w.@+-]+){2,}/[\w@+-]+\.(?:py|pyc|pyx|java|kt|scala|rb|php|go|rs|cs|pl|so|jar)\b"
    # Windows paths, with backslashes single or JSON-escaped (doubled).
    r"|[A-Za-z]:\\{1,2}(?:[\w.$ -]+\\{1,2})+[\w.$ -]*"
    r")"
)
_VERSION_HEADERS = ("server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version")
_PRODUCT_VERSION = re.compile(
    r"\b(?:nginx|Apache|Werkzeug|gunicorn|uvicorn|hypercorn|Jetty|Tomcat|Express|Kestrel|"
    r"Microsoft-IIS|openresty|envoy|Caddy|lighttpd|Python|PHP|OpenSSL|Node\.js|BaseHTTP|"
    r"TorchServe|Triton|vLLM|Ruby|Puma|Tornado|aiohttp|Jersey|Undertow)/\d+(?:\.\d+)+",
    re.IGNORECASE,
)
_SECRET_PATTERNS = (
    ("a private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("an OpenAI-style API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
)

# One pass over the text for all of them; the kind is found again on the match only.
_ANY_SECRET = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in _SECRET_PATTERNS))
# A literal every one of those patterns contains: text without any of them cannot match, and
# a search for literals alone is several times cheaper than the patterns' word boundaries
# (this check runs on every answer's headers).
_SECRET_HINT = re.compile(r"PRIVATE KEY|AKIA|ASIA|sk-|gh[pousr]_|xox[abposr]-|AIza")


def _server_text(exchange: Exchange) -> str | None:
    """What the server itself wrote in the body: error bodies and unreadable 2xx bodies."""
    return exchange.server_text


def _where(exchange: Exchange) -> str:
    return f"the HTTP {exchange.status} body"


def stack_trace_leak(exchange: Exchange) -> Finding | None:
    """A stack trace in an error body (or a 2xx body the protocol could not read)."""
    text = _server_text(exchange)
    if text is None:
        return None
    for language, pattern in _STACK_TRACES:
        match = pattern.search(text)
        if match:
            return Finding(
                "stack_trace_leak",
                f"{_where(exchange)} holds a {language} stack trace",
                WARNING,
                expected="an error message without internals",
                got=_line(text, match.start()),
            )
    return None


def file_path_leak(exchange: Exchange) -> Finding | None:
    """An internal file path in an error body (or a 2xx body the protocol could not read)."""
    text = _server_text(exchange)
    if text is None:
        return None
    match = _FILE_PATH.search(text)
    if match is None:
        return None
    return Finding(
        "file_path_leak",
        f"{_where(exchange)} reveals the file path {match.group(0)[:120]!r}",
        WARNING,
        expected="no server file paths",
        got=match.group(0)[:200],
    )


def server_version_leak(exchange: Exchange) -> Finding | None:
    """A product version in the Server/X-Powered-By headers or in an error page."""
    for name in _VERSION_HEADERS:
        value = exchange.headers.get(name)
        if value and (
            name.startswith("x-aspnet") or ("/" in value and _PRODUCT_VERSION.search(value))
        ):
            return Finding(
                "server_version_leak",
                f"header {name}: {value[:120]!r} names a product version",
                INFO,
                expected=f"no version in {name}",
                got=f"{name}: {value[:200]}",
            )
    text = _server_text(exchange)
    match = _PRODUCT_VERSION.search(text) if text is not None and "/" in text else None
    if match is None:
        return None
    return Finding(
        "server_version_leak",
        f"{_where(exchange)} names the product version {match.group(0)!r}",
        INFO,
        expected="no product versions in error pages",
        got=match.group(0),
    )


def secret_leak(exchange: Exchange) -> Finding | None:
    """A declared secret anywhere in the response; a key pattern in what the server wrote."""
    secrets = exchange.settings.secrets
    head = exchange.body[: SEARCH_BYTES * 16]
    if secrets:
        headers = exchange.headers_text
        text = exchange.outcome.text or ""
        for place, secret in secrets:
            encoded = secret.encode("utf-8", "surrogatepass")
            if encoded in head or secret in headers or secret in text:
                # The value itself is never written anywhere: only where it was declared.
                return Finding(
                    "secret_leak",
                    f"the response contains the secret declared at {place}",
                    ERROR,
                    expected=f"no trace of {place}",
                    got=f"the value of {place} (not shown)",
                )
    server = _server_text(exchange) or ""
    server += "\n" + exchange.headers_text
    match = _ANY_SECRET.search(server) if _SECRET_HINT.search(server) else None
    if match is None:
        return None
    found = match.group(0)
    kind = next((k for k, pattern in _SECRET_PATTERNS if pattern.match(found)), "a credential")
    shown = found[:8] + "…"
    return Finding(
        "secret_leak",
        f"the response holds what looks like {kind} ({shown})",
        ERROR,
        expected="no credentials in responses",
        got=f"{kind} starting {shown}",
    )


def _line(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end >= 0 else len(text)].strip()[:200]


CHECKS: dict[str, Callable[[Exchange], Finding | None]] = {
    "stack_trace_leak": stack_trace_leak,
    "file_path_leak": file_path_leak,
    "server_version_leak": server_version_leak,
    "secret_leak": secret_leak,
}

DEFAULT_SEVERITY = {
    "stack_trace_leak": WARNING,
    "file_path_leak": WARNING,
    "server_version_leak": INFO,
    "secret_leak": ERROR,
}
