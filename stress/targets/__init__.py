"""Target adapters: an input becomes request bytes, answer bytes become an Outcome. No sockets."""

from __future__ import annotations

from collections.abc import Mapping

from stress.scenario import Protocol, Target
from stress.targets.base import Adapter, HttpRequest, Outcome
from stress.targets.http_json import HttpJsonAdapter
from stress.targets.kserve import KServeV1Adapter, KServeV2Adapter
from stress.targets.mlflow import MlflowAdapter
from stress.targets.openai import (
    OpenAIChatAdapter,
    OpenAICompletionsAdapter,
    OpenAIEmbeddingsAdapter,
)

__all__ = ["Adapter", "HttpRequest", "Outcome", "adapter_for"]


def adapter_for(
    target: Target,
    *,
    features: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Adapter:
    """The adapter for a scenario's target. ``features`` are the tabular column names;
    ``environ`` (default os.environ) fills ${ENV_VAR} references in headers and params."""
    columns = list(features or [])
    protocol = target.protocol
    if protocol is Protocol.OPENAI_CHAT:
        return OpenAIChatAdapter(target, environ=environ)
    if protocol is Protocol.OPENAI_COMPLETIONS:
        return OpenAICompletionsAdapter(target, environ=environ)
    if protocol is Protocol.OPENAI_EMBEDDINGS:
        return OpenAIEmbeddingsAdapter(target, environ=environ)
    if protocol is Protocol.KSERVE_V2:
        return KServeV2Adapter(target, columns=columns, environ=environ)
    if protocol is Protocol.KSERVE_V1:
        return KServeV1Adapter(target, columns=columns, environ=environ)
    if protocol is Protocol.HTTP_JSON:
        return HttpJsonAdapter(target, columns=columns, environ=environ)
    return MlflowAdapter(target, columns=columns, environ=environ)
