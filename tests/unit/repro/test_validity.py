"""Protocol violations: the re-check that keeps shrunk inputs as valid or malformed as before."""

from __future__ import annotations

import pytest

from stress.repro.validity import violations

OK_CHAT = b'{"messages": [{"role": "user", "content": "hi"}]}'


@pytest.mark.parametrize(
    ("protocol", "body", "expected"),
    [
        ("openai-chat", OK_CHAT, set()),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], '
            b'"max_tokens": 5, "stream": false}',
            set(),
        ),
        (
            "openai-chat",
            b'{"messages": [{"role": "assistant", "content": null, "tool_calls": []}]}',
            set(),
        ),
        ("openai-chat", b"{}", {"missing:messages"}),
        ("openai-chat", b'{"messages": "x"}', {"type:messages"}),
        ("openai-chat", b'{"messages": []}', {"empty:messages"}),
        ("openai-chat", b'{"messages": [{"content": "x"}]}', {"missing:messages[].role"}),
        ("openai-chat", b'{"messages": [{"role": "", "content": "x"}]}', {"value:messages[].role"}),
        ("openai-chat", b'{"messages": [{"role": "user"}]}', {"missing:messages[].content"}),
        (
            "openai-chat",
            b'{"messages": [{"role": "user", "content": 1}]}',
            {"type:messages[].content"},
        ),
        ("openai-chat", OK_CHAT[:-1] + b', "max_tokens": "9"}', {"type:max_tokens"}),
        ("openai-chat", OK_CHAT[:-1] + b', "max_tokens": true}', {"type:max_tokens"}),
        ("openai-chat", OK_CHAT[:-1] + b', "model": 7}', {"type:model"}),
        ("openai-chat", OK_CHAT[:20], {"not_json"}),
        ("openai-chat", b"", {"not_json"}),
        ("openai-chat", OK_CHAT.replace(b"hi", b"h\xffi"), {"not_utf8"}),
        ("openai-chat", b"[1]", {"not_an_object"}),
        ("mlflow", b'{"dataframe_split": {"columns": ["a"], "data": [[1.5]]}}', set()),
        (
            "mlflow",
            b'{"dataframe_split": {"columns": ["a"], "data": [[NaN]]}}',
            {"non_finite_number"},
        ),
        (
            "mlflow",
            b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}',
            {"shape:dataframe_split.data[]"},
        ),
        ("mlflow", b'{"dataframe_split": {"columns": ["a"]}}', {"missing:dataframe_split.data"}),
        (
            "mlflow",
            b'{"dataframe_split": {"columns": ["a"], "data": [["x"]]}}',
            {"type:dataframe_split.data[][]"},
        ),
        ("mlflow", b'{"rows": []}', {"missing:dataframe_split"}),
        ("kserve-v2", b'{"anything": -Infinity}', {"non_finite_number"}),
        ("kserve-v2", b"{", {"not_json"}),
        ("kserve-v2", b"{}", set()),
    ],
)
def test_violations(protocol: str, body: bytes, expected: set[str]) -> None:
    assert violations(protocol, body) == expected
