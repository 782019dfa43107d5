"""Semantic similarity for the ``semantic`` comparison method (optional extra).

Needs ``pip install 'stress[semantic]'`` (sentence-transformers) and a model it can load:
a local directory, or a model name its cache already holds. Nothing is imported unless a
scenario asks for the method, and a missing extra is a scenario error before any load.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

EXTRA_HINT = "pip install 'stress[semantic]'"


class SemanticUnavailable(ValueError):
    """The semantic method cannot run here: the extra or the model is missing."""


def available() -> str | None:
    """None when sentence-transformers can be imported, else the problem and the fix."""
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return f"the semantic method needs the optional extra: {EXTRA_HINT}"
    return None


@cache
def embedder(model: str) -> Callable[[list[str]], list[list[float]]]:
    """A function embedding texts with ``model`` (loaded once per process)."""
    problem = available()
    if problem:
        raise SemanticUnavailable(problem)
    from sentence_transformers import SentenceTransformer

    try:
        encoder: Any = SentenceTransformer(model)
    except Exception as exc:  # any loading failure: a missing model is the usual one
        raise SemanticUnavailable(
            f"cannot load the embedding model {model!r} ({type(exc).__name__}: {exc}); "
            f"set degradation.model / invariance.model to a local model directory"
        ) from None

    def embed(texts: list[str]) -> list[list[float]]:
        vectors = encoder.encode(texts, normalize_embeddings=True)
        return [[float(x) for x in vector] for vector in vectors]

    return embed
