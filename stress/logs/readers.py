"""Read a file of logged requests into entries: a request body and, where the format has one,
the time it was sent.

Formats (``format=None`` detects them: ``.har`` files and a JSON document with ``log.entries``
are HAR; JSON lines whose first object has ``custom_id``, ``method``, ``url`` and ``body`` are
an OpenAI batch input; other JSON lines are ``jsonl``):

    jsonl         one JSON object per line: the request body itself, or a wrapper
                  {"body": {...}, "timestamp": ...} (a line is a wrapper when "body" is an
                  object and every other key is one of WRAPPER_KEYS)
    har           HAR 1.2 (browser dev tools, proxies): log.entries[].request, POST requests
                  with a JSON body; startedDateTime is the timestamp
    openai-batch  OpenAI batch input: {"custom_id", "method", "url", "body"} per line; no time

Timestamps are float epoch seconds (a number in the file is read as seconds, a string as ISO
8601) or None. Entries a format says to leave out (a HAR GET, a non-JSON body) are counted in
``LogSample.skipped`` by reason; a file that cannot be read at all raises LogError naming the
file, the line and the fix. Error messages never quote a logged value: logs carry personal data.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stress.errors import ScenarioError

FORMATS = ("jsonl", "har", "openai-batch")
# The keys a jsonl wrapper line may have besides "body" (anything else: the line is a body).
WRAPPER_KEYS = frozenset({"body", "timestamp", "method", "url", "path", "id", "headers", "status"})
_BATCH_KEYS = frozenset({"custom_id", "method", "url", "body"})


class LogError(ScenarioError):
    """A log file cannot be read: missing, not the format it claims, an unparsable line."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__([f"{path}: {problem}"])


@dataclass(frozen=True)
class LogEntry:
    """One logged request. ``line`` is its line in the file (HAR: the entry's index from 1)."""

    body: dict[str, Any]
    timestamp: float | None
    line: int
    method: str = "POST"
    url: str | None = None


@dataclass(frozen=True)
class LogSample:
    """The usable entries of a log, in file order, and what was left out and why."""

    path: Path
    format: str
    entries: list[LogEntry]
    # Entries in the file, usable or not.
    total: int
    skipped: dict[str, int] = field(default_factory=dict)

    def sample(self, size: int | None, *, seed: int) -> LogSample:
        """At most ``size`` entries, a random choice decided by ``seed``, kept in file order
        (so their timestamps still rise)."""
        if size is None or len(self.entries) <= size:
            return self
        chosen = sorted(random.Random(seed).sample(range(len(self.entries)), size))
        return LogSample(
            self.path,
            self.format,
            [self.entries[i] for i in chosen],
            self.total,
            dict(self.skipped),
        )


def read_log(
    path: str | Path, format: str | None = None, *, max_size: int | None = None, seed: int = 0
) -> LogSample:
    """The entries of the log at ``path``; ``format`` None detects it (see the module doc).

    ``max_size`` keeps at most that many entries, chosen by ``seed`` (see LogSample.sample).
    Raises LogError when the file is missing, unreadable or not in the format.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise LogError(path, f"unknown log format {format!r}; use one of {', '.join(FORMATS)}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LogError(path, "file not found; check inputs.from_log.path") from None
    except IsADirectoryError:
        raise LogError(path, "is a directory; point inputs.from_log.path at a file") from None
    except UnicodeDecodeError as exc:
        raise LogError(path, f"not UTF-8 text (byte {exc.start}); save the log as UTF-8") from None
    except OSError as exc:
        raise LogError(path, f"cannot read the file: {exc.strerror}") from None
    chosen = format or detect(path, text)
    reader = {"jsonl": _jsonl, "har": _har, "openai-batch": _batch}[chosen]
    sample = reader(path, text)
    return sample.sample(max_size, seed=seed)


def detect(path: Path, text: str) -> str:
    """The format of a log from its extension and its first JSON value."""
    if path.suffix.lower() == ".har":
        return "har"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None  # several lines: JSON lines
        if isinstance(document, dict) and isinstance(document.get("log"), dict):
            return "har"
    for _, line in _lines(text):
        try:
            first = json.loads(line)
        except json.JSONDecodeError:
            return "jsonl"  # the jsonl reader reports the line
        if isinstance(first, dict) and set(first) >= _BATCH_KEYS:
            return "openai-batch"
        return "jsonl"
    return "jsonl"


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _parse_line(path: Path, number: int, line: str, example: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise LogError(
            path,
            f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}); each line must "
            f"be one JSON object, e.g. {example}",
        ) from None


def parse_time(value: object) -> float:
    """Unix seconds from a number or a string (seconds; milliseconds, microseconds or
    nanoseconds when too large to be seconds: over 1e11, 1e14, 1e17) or an ISO 8601 string (UTC
    when it has no offset); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a time, got {value!r}")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"expected Unix seconds or an ISO 8601 time, got {value!r}"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    else:
        raise ValueError(f"expected Unix seconds or an ISO 8601 time, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"expected a finite time, got {value!r}")
    for limit, scale in ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3)):
        if abs(number) > limit:
            return number * scale
    return number


def timestamp(value: Any) -> float | None:
    """Epoch seconds (parse_time) from a logged time; None if it is not one."""
    try:
        return parse_time(value)
    except ValueError:
        return None


_JSONL_EXAMPLE = '{"messages": [{"role": "user", "content": "Hi"}]}'


def _jsonl(path: Path, text: str) -> LogSample:
    entries: list[LogEntry] = []
    skipped: Counter[str] = Counter()
    total = 0
    for number, line in _lines(text):
        total += 1
        value = _parse_line(path, number, line, _JSONL_EXAMPLE)
        if not isinstance(value, dict):
            raise LogError(
                path,
                f"line {number}: expected a JSON object, got a {type(value).__name__}; each line "
                f"is a request body, e.g. {_JSONL_EXAMPLE}",
            )
        if isinstance(value.get("body"), dict) and set(value) <= WRAPPER_KEYS:
            if "timestamp" in value and timestamp(value["timestamp"]) is None:
                raise LogError(
                    path,
                    f"line {number}: timestamp: expected epoch seconds or an ISO 8601 time "
                    f"(2026-01-31T12:00:00Z)",
                )
            method = str(value.get("method", "POST")).upper()
            if method != "POST":
                skipped["not a POST request"] += 1
                continue
            url = value.get("url", value.get("path"))
            entries.append(
                LogEntry(
                    value["body"],
                    timestamp(value.get("timestamp")),
                    number,
                    method,
                    url if isinstance(url, str) else None,
                )
            )
        else:
            entries.append(LogEntry(value, None, number))
    if not total:
        raise LogError(path, "the log is empty; add one JSON request body per line")
    return LogSample(path, "jsonl", entries, total, dict(skipped))


_BATCH_EXAMPLE = (
    '{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {...}}'
)


def _batch(path: Path, text: str) -> LogSample:
    entries: list[LogEntry] = []
    total = 0
    for number, line in _lines(text):
        total += 1
        value = _parse_line(path, number, line, _BATCH_EXAMPLE)
        if not isinstance(value, dict) or not isinstance(value.get("body"), dict):
            raise LogError(
                path,
                f'line {number}: an OpenAI batch input line needs a "body" object, e.g. '
                f"{_BATCH_EXAMPLE}; or set inputs.from_log.format",
            )
        entries.append(
            LogEntry(
                value["body"],
                None,
                number,
                str(value.get("method", "POST")).upper(),
                value.get("url") if isinstance(value.get("url"), str) else None,
            )
        )
    if not total:
        raise LogError(path, "the log is empty; add one batch request per line")
    return LogSample(path, "openai-batch", entries, total)


def _har(path: Path, text: str) -> LogSample:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LogError(
            path,
            f"line {exc.lineno}: not valid JSON ({exc.msg}); a HAR file is one JSON document "
            f"with log.entries (export it again from the browser or proxy)",
        ) from None
    log = document.get("log") if isinstance(document, dict) else None
    raw = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(raw, list):
        raise LogError(
            path, "not a HAR file: no log.entries list; export a HAR 1.2 file or set format"
        )
    entries: list[LogEntry] = []
    skipped: Counter[str] = Counter()
    for index, item in enumerate(raw, start=1):
        request = item.get("request") if isinstance(item, dict) else None
        if not isinstance(request, dict):
            skipped["no request"] += 1
            continue
        if str(request.get("method", "")).upper() != "POST":
            skipped["not a POST request"] += 1
            continue
        post = request.get("postData")
        body_text = post.get("text") if isinstance(post, dict) else None
        if not isinstance(body_text, str):
            skipped["no request body"] += 1
            continue
        try:
            body = json.loads(body_text)
        except json.JSONDecodeError:
            skipped["body is not JSON"] += 1
            continue
        if not isinstance(body, dict):
            skipped["body is not a JSON object"] += 1
            continue
        url = request.get("url")
        entries.append(
            LogEntry(
                body,
                timestamp(item.get("startedDateTime")),
                index,
                "POST",
                url if isinstance(url, str) else None,
            )
        )
    return LogSample(path, "har", entries, len(raw), dict(skipped))
