"""Reading logs: each format from a fixture file, format detection, sampling, and the errors
a broken log gets (file, line, fix; never a logged value)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stress.logs.readers import LogError, detect, read_log

LOGS = Path(__file__).parents[2] / "fixtures" / "logs"


def test_jsonl_reads_bodies_and_wrapped_bodies_with_their_timestamps() -> None:
    sample = read_log(LOGS / "chat.jsonl")
    assert sample.format == "jsonl"
    assert sample.total == 8
    assert len(sample.entries) == 8
    first, second, plain = sample.entries[:3]
    # A wrapper line gives its body (not the wrapper) and its time.
    assert "messages" in first.body
    assert "timestamp" not in first.body
    assert first.timestamp == 1767261600.0
    assert second.timestamp == 1767261602.0  # "2026-01-01T10:00:02Z"
    # A bare body has no time; line numbers count the blank line in the file.
    assert plain.timestamp is None
    assert plain.body["messages"][0]["content"].startswith("What")
    assert [e.line for e in sample.entries] == [1, 2, 3, 5, 6, 7, 8, 9]


def test_har_keeps_json_posts_and_counts_what_it_skips() -> None:
    sample = read_log(LOGS / "chat.har")
    assert sample.format == "har"
    assert sample.total == 5
    assert sample.skipped == {"not a POST request": 1, "body is not JSON": 1}
    assert [e.line for e in sample.entries] == [2, 4, 5]
    assert sample.entries[0].timestamp == pytest.approx(1767261601.25)
    assert sample.entries[1].timestamp == pytest.approx(1767261603.5)
    assert sample.entries[0].url == "https://api.example.com/v1/chat/completions"
    assert sample.entries[0].body["messages"][1]["role"] == "user"


def test_openai_batch_input_gives_each_body() -> None:
    sample = read_log(LOGS / "batch.jsonl")
    assert sample.format == "openai-batch"
    assert len(sample.entries) == 4
    assert all(e.timestamp is None and e.url == "/v1/chat/completions" for e in sample.entries)
    assert "custom_id" not in sample.entries[0].body
    assert sample.entries[0].body["messages"][0]["content"].startswith("Please update")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("x.har", "{}", "har"),
        ("x.json", '{"log": {"entries": []}}', "har"),
        (
            "x.jsonl",
            '{"custom_id": "1", "method": "POST", "url": "/v1", "body": {}}\n',
            "openai-batch",
        ),
        ("x.jsonl", '{"messages": []}\n{"messages": []}\n', "jsonl"),
        ("x.log", '\n\n{"body": {"prompt": "x"}, "timestamp": 1}\n', "jsonl"),
    ],
)
def test_format_detection(name: str, text: str, expected: str) -> None:
    assert detect(Path(name), text) == expected


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text(json.dumps({"custom_id": "a", "method": "POST", "url": "/", "body": {"x": 1}}))
    # Read as plain JSON lines, the batch envelope is the body.
    assert read_log(path, "jsonl").entries[0].body["custom_id"] == "a"


def test_sampling_is_deterministic_and_keeps_log_order(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i}"}) + "\n" for i in range(100)))
    one = read_log(path, max_size=10, seed=3)
    again = read_log(path, max_size=10, seed=3)
    other = read_log(path, max_size=10, seed=4)
    lines = [e.line for e in one.entries]
    assert lines == [e.line for e in again.entries]
    assert lines != [e.line for e in other.entries]
    assert lines == sorted(lines)
    assert len(lines) == 10
    assert read_log(path, max_size=1000, seed=3).entries == read_log(path).entries


SECRET = "Margaret Okafor"


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ('{"prompt": "a"}\n{"prompt": "' + SECRET, None, "line 2: not valid JSON"),
        (
            '{"prompt": "a"}\n["' + SECRET + '"]\n',
            None,
            "line 2: expected a JSON object, got a list",
        ),
        ("\n\n", None, "the log is empty"),
        ('{"body": {"p": 1}, "timestamp": "yesterday ' + SECRET + '"}', None, "line 1: timestamp"),
        (
            '{"custom_id": "1", "method": "POST", "url": "/", "body": "' + SECRET + '"}',
            "openai-batch",
            'line 1: an OpenAI batch input line needs a "body" object',
        ),
        ('{"log": {"pages": []}}', "har", "not a HAR file: no log.entries"),
        ("{}", "csv", "unknown log format 'csv'"),
    ],
)
def test_broken_logs_name_the_file_the_line_and_the_fix_but_no_value(
    tmp_path: Path, text: str, fmt: str | None, message: str
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LogError) as caught:
        read_log(path, fmt)
    problem = str(caught.value)
    assert problem.startswith(f"{path}: ")
    assert message in problem
    assert SECRET not in problem


def test_missing_file_says_which_key_to_fix(tmp_path: Path) -> None:
    with pytest.raises(
        LogError, match=r"nope\.jsonl: file not found; check inputs\.from_log\.path"
    ):
        read_log(tmp_path / "nope.jsonl")
