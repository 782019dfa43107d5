"""The table of protocol traits: one row per protocol, and adapter_for builds from it."""

from __future__ import annotations

import pytest

from stress.scenario import Protocol, Target
from stress.targets import TRAITS, adapter_for
from stress.targets.base import BaseAdapter

ADAPTERS = {
    Protocol.OPENAI_CHAT: "OpenAIChatAdapter",
    Protocol.OPENAI_COMPLETIONS: "OpenAICompletionsAdapter",
    Protocol.OPENAI_EMBEDDINGS: "OpenAIEmbeddingsAdapter",
    Protocol.KSERVE_V2: "KServeV2Adapter",
    Protocol.KSERVE_V1: "KServeV1Adapter",
    Protocol.MLFLOW: "MlflowAdapter",
    Protocol.HTTP_JSON: "HttpJsonAdapter",
}


def test_every_protocol_has_one_row() -> None:
    assert set(TRAITS) == set(Protocol)


@pytest.mark.parametrize("protocol", list(Protocol))
def test_adapter_for_builds_the_rows_adapter_with_columns_where_it_takes_them(
    protocol: Protocol,
) -> None:
    extra = {"request": {"text": "{{prompt}}"}} if protocol is Protocol.HTTP_JSON else {}
    target = Target(url="http://127.0.0.1:9", protocol=protocol, **extra)
    adapter = adapter_for(target, features=["x", "y"])
    assert isinstance(adapter, BaseAdapter)
    assert type(adapter).__name__ == ADAPTERS[protocol]
    assert adapter.columns == (["x", "y"] if TRAITS[protocol].columns else [])


def test_the_traits_say_which_protocols_stream_and_send_rows() -> None:
    streaming = {p for p, traits in TRAITS.items() if traits.streaming}
    tabular = {p for p, traits in TRAITS.items() if traits.tabular}
    assert streaming == {Protocol.OPENAI_CHAT, Protocol.OPENAI_COMPLETIONS}
    assert tabular == {Protocol.MLFLOW, Protocol.KSERVE_V2, Protocol.KSERVE_V1}
    assert TRAITS[Protocol.MLFLOW].formats[0] == "dataframe_split"
