"""Target adapters: an input becomes request bytes, answer bytes become an Outcome. No sockets.

``TRAITS`` is the one table of what each protocol is: its adapter, whether it takes the
scenario's feature columns, whether its answers can stream, whether it sends table rows, and
its body layouts. The scenario's own checks (stress.scenario: STREAMING_PROTOCOLS,
TABULAR_PROTOCOLS, FORMATS) are where those flags are declared; this table gathers them with
the adapter, so code that needs a protocol's traits reads one row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from stress.scenario import FORMATS, STREAMING_PROTOCOLS, TABULAR_PROTOCOLS, Protocol, Target
from stress.targets.base import Adapter, HttpRequest, Outcome
from stress.targets.http_json import HttpJsonAdapter
from stress.targets.kserve import KServeV1Adapter, KServeV2Adapter
from stress.targets.mlflow import MlflowAdapter
from stress.targets.openai import (
    OpenAIChatAdapter,
    OpenAICompletionsAdapter,
    OpenAIEmbeddingsAdapter,
)

__all__ = ["TRAITS", "Adapter", "HttpRequest", "Outcome", "Traits", "adapter_for"]


@dataclass(frozen=True)
class Traits:
    """One protocol: ``adapter`` (its class), ``columns`` (the adapter takes the scenario's
    feature columns), ``streaming`` (answers may be server-sent events), ``tabular`` (sends
    table rows, so the scenario declares features), ``formats`` (body layouts, default
    first; empty: one fixed layout)."""

    adapter: Callable[..., Adapter]
    columns: bool
    streaming: bool
    tabular: bool
    formats: tuple[str, ...]


def _traits(protocol: Protocol, adapter: Callable[..., Adapter], *, columns: bool) -> Traits:
    return Traits(
        adapter,
        columns=columns,
        streaming=protocol in STREAMING_PROTOCOLS,
        tabular=protocol in TABULAR_PROTOCOLS,
        formats=tuple(FORMATS.get(protocol, ())),
    )


TRAITS: dict[Protocol, Traits] = {
    Protocol.OPENAI_CHAT: _traits(Protocol.OPENAI_CHAT, OpenAIChatAdapter, columns=False),
    Protocol.OPENAI_COMPLETIONS: _traits(
        Protocol.OPENAI_COMPLETIONS, OpenAICompletionsAdapter, columns=False
    ),
    Protocol.OPENAI_EMBEDDINGS: _traits(
        Protocol.OPENAI_EMBEDDINGS, OpenAIEmbeddingsAdapter, columns=False
    ),
    Protocol.KSERVE_V2: _traits(Protocol.KSERVE_V2, KServeV2Adapter, columns=True),
    Protocol.KSERVE_V1: _traits(Protocol.KSERVE_V1, KServeV1Adapter, columns=True),
    Protocol.MLFLOW: _traits(Protocol.MLFLOW, MlflowAdapter, columns=True),
    Protocol.HTTP_JSON: _traits(Protocol.HTTP_JSON, HttpJsonAdapter, columns=True),
}


def adapter_for(
    target: Target,
    *,
    features: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Adapter:
    """The adapter for a scenario's target. ``features`` are the tabular column names;
    ``environ`` (default os.environ) fills ${ENV_VAR} references in headers and params."""
    traits = TRAITS[target.protocol]
    if traits.columns:
        return traits.adapter(target, columns=list(features or []), environ=environ)
    return traits.adapter(target, environ=environ)
