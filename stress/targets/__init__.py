"""Target adapters: an input becomes request bytes, answer bytes become an Outcome. No sockets."""

from __future__ import annotations

from stress.scenario import Protocol, Target
from stress.targets.base import Adapter, HttpRequest, Outcome
from stress.targets.mlflow import MlflowAdapter
from stress.targets.openai_chat import OpenAIChatAdapter

__all__ = ["Adapter", "HttpRequest", "Outcome", "adapter_for"]


def adapter_for(target: Target, *, features: list[str] | None = None) -> Adapter:
    """The adapter for a scenario's target."""
    if target.protocol is Protocol.OPENAI_CHAT:
        return OpenAIChatAdapter(target)
    return MlflowAdapter(target, columns=features or [])
