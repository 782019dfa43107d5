"""Logged bodies fitted to each protocol's payload, and the reasons a body does not fit."""

from __future__ import annotations

from typing import Any

import pytest

from stress.logs.bodies import payload

COLUMNS = ("a", "b")
CHAT = {
    "model": "m",
    "temperature": 0.1,
    "user": "u-1",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}],
        },
    ],
}


def test_chat_keeps_roles_and_text_and_drops_the_rest() -> None:
    found, reason = payload(CHAT, "openai-chat")
    assert reason is None
    assert found == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi\nthere"},
        ]
    }


@pytest.mark.parametrize(
    ("protocol", "body"),
    [
        ("openai-completions", {"model": "m", "prompt": "Once upon"}),
        ("openai-completions", {"prompt": ["Once upon"]}),
        ("openai-embeddings", {"input": "Once upon"}),
        ("http-json", {"prompt": "Once upon"}),
    ],
)
def test_text_protocols_take_their_string(protocol: str, body: dict[str, Any]) -> None:
    assert payload(body, protocol) == (
        {"messages": [{"role": "user", "content": "Once upon"}]},
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["b", "a", "c"], "data": [[2, 1, 9], [4, 3, 9]]}},
        {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4, "extra": "x"}]},
        {"instances": [[1, 2], [3, 4]]},
        {"inputs": {"a": [1, 3], "b": [2, 4]}},
        {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
        {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]}]},
    ],
)
@pytest.mark.parametrize("protocol", ["mlflow", "kserve-v1", "kserve-v2"])
def test_tabular_bodies_become_rows_in_feature_order(protocol: str, body: dict[str, Any]) -> None:
    assert payload(body, protocol, columns=COLUMNS) == (
        {"rows": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]},
        None,
    )


@pytest.mark.parametrize(
    ("protocol", "body", "reason"),
    [
        ("openai-chat", {"prompt": "x"}, "no messages list"),
        ("openai-chat", {"messages": [{"role": "tool", "content": "{}"}]}, "tool or unknown role"),
        (
            "openai-chat",
            {"messages": [{"role": "assistant", "content": None, "tool_calls": [{}]}]},
            "tool calls",
        ),
        (
            "openai-chat",
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "not text",
        ),
        ("openai-completions", CHAT, "a chat request (messages), but the target takes 'prompt'"),
        ("openai-embeddings", {"input": [1, 2]}, "no 'input' string"),
        ("mlflow", {"dataframe_records": [{"a": 1}]}, "a row has no column 'b'"),
        ("mlflow", {"instances": [[1, 2, 3]]}, "does not have the 2 declared features"),
        ("mlflow", CHAT, "no table rows"),
    ],
)
def test_bodies_that_do_not_fit_say_why(protocol: str, body: dict[str, Any], reason: str) -> None:
    found, why = payload(body, protocol, columns=COLUMNS if protocol == "mlflow" else ())
    assert found is None
    assert why is not None
    assert reason in why
