"""Strategies for the custom-family tests (referenced as custom_strategies:<function>)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def greetings() -> st.SearchStrategy[str]:
    return st.builds(
        lambda word, name: f"{word}, {name}!",
        st.sampled_from(["Hello", "Bonjour", "Hallo", "こんにちは"]),
        st.text(alphabet="abcdefghij", min_size=1, max_size=8),
    )


def iris_rows() -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries(
        {"sepal_length": st.floats(4.3, 7.9), "sepal_width": st.floats(2.0, 4.4)}
    )


def not_a_strategy() -> Any:
    return ["hello"]
