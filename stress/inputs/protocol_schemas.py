"""The protocols' own request-body JSON Schemas: what each adapter sends, field by field.

The structure and numbers families break a valid body one field at a time; for a target
whose scenario gives no ``inputs.body_schema`` these are the schemas they work from (kept in
step with the adapters by tests/unit/inputs/test_schemas.py: every adapter's valid body
validates against its protocol's schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stress.inputs.family import Limits

# An annotation (JSON Schema ignores unknown keywords) on integers that size other fields:
# changing one alone makes the body inconsistent, not the number wrong.
SIZE = "x-stress-size"
# On a parameter a careful server may refuse with a clean 4xx even at a valid value (a feature
# it does not have): families that expect an answer leave it alone, those that expect a
# refusal still use it. Parameters whose validity depends on another field (top_logprobs
# needs logprobs, best_of >= n, logit_bias keys are token ids) are left out of the schemas.
MAY_REFUSE = "x-stress-may-refuse"


def chat_schema(limits: Limits) -> dict[str, Any]:
    """The OpenAI chat-completions request fields stress knows (a subset of OpenAI's schema).

    ``model`` is not required: most self-hosted servers default it (see the openai-chat
    adapter). Roles are the three every server accepts.
    """
    number = {"type": "number"}
    return {
        "type": "object",
        "required": ["messages"],
        "additionalProperties": False,
        "properties": {
            "model": {"type": "string", "minLength": 1},
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["role", "content"],
                    "additionalProperties": False,
                    "properties": {
                        "role": {"type": "string", "enum": ["system", "user", "assistant"]},
                        "content": {"type": "string", "maxLength": limits.max_prompt_chars},
                    },
                },
            },
            "max_tokens": {"type": "integer", "minimum": 1, "maximum": limits.max_tokens},
            "temperature": {**number, "minimum": 0, "maximum": 2},
            "top_p": {**number, "minimum": 0, "maximum": 1},
            # A server with fewer slots refuses a larger n, naming its limit (a learned limit:
            # stress.checks.limits), so n needs no MAY_REFUSE.
            "n": {"type": "integer", "minimum": 1, "maximum": 4},
            "seed": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
            "presence_penalty": {**number, "minimum": -2, "maximum": 2},
            "frequency_penalty": {**number, "minimum": -2, "maximum": 2},
            "stop": {
                "type": "array",
                "maxItems": 4,
                "items": {"type": "string", "minLength": 1, "maxLength": 12},
            },
            "user": {"type": "string", "maxLength": 64},
            "stream": {"type": "boolean"},
            "logprobs": {"type": "boolean"},
        },
    }


def completions_schema(limits: Limits) -> dict[str, Any]:
    """The OpenAI (legacy) completions request: one prompt string and the sampling fields."""
    chat = chat_schema(limits)["properties"]
    shared = ("model", "max_tokens", "temperature", "top_p", "n", "seed", "stop", "user")
    return {
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": {
            **{name: chat[name] for name in shared},
            "prompt": {"type": "string", "maxLength": limits.max_prompt_chars},
            "presence_penalty": chat["presence_penalty"],
            "frequency_penalty": chat["frequency_penalty"],
            "stream": {"type": "boolean"},
            "echo": {"type": "boolean"},
            "logprobs": {"type": "integer", "minimum": 0, "maximum": 5},
        },
    }


def embeddings_schema(limits: Limits) -> dict[str, Any]:
    """The OpenAI embeddings request as the adapter sends it: one input string."""
    return {
        "type": "object",
        "required": ["input"],
        "additionalProperties": False,
        "properties": {
            "model": {"type": "string", "minLength": 1},
            "input": {"type": "string", "maxLength": limits.max_prompt_chars},
            "encoding_format": {"type": "string", "enum": ["float", "base64"]},
            # Only some models can shorten their vectors; others refuse any value cleanly.
            "dimensions": {"type": "integer", "minimum": 1, "maximum": 65_536, MAY_REFUSE: True},
            "user": {"type": "string", "maxLength": 64},
        },
    }


# The Open Inference Protocol's tensor datatypes (KServe v2, Triton).
OIP_DATATYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BF16",
    "BYTES",
)


def _cell_range(features: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """One number schema covering every column's declared range (a flat tensor's elements)."""
    if not features:
        return {"type": "number"}
    low = min(low for low, _ in features.values())
    high = max(high for _, high in features.values())
    return {"type": "number", "minimum": low, "maximum": high}


def kserve_v2_schema(features: Mapping[str, tuple[float, float]], limits: Limits) -> dict[str, Any]:
    """An Open Inference Protocol infer request with one input tensor of rows × columns."""
    tensor = {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "shape": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                # A shape is only right against its data, which a schema cannot say: the
                # numbers families leave fields marked SIZE to the tensor families.
                "items": {"type": "integer", "minimum": 1, SIZE: True},
            },
            "datatype": {"type": "string", "enum": list(OIP_DATATYPES)},
            # Flat in the adapter's bodies; the protocol also allows nested row-major lists.
            "data": {
                "type": "array",
                "minItems": 1,
                "maxItems": limits.max_rows * max(len(features), 1),
                "items": {
                    "anyOf": [
                        _cell_range(features),
                        {"type": "array", "minItems": 1, "items": _cell_range(features)},
                    ]
                },
            },
        },
    }
    return {
        "type": "object",
        "required": ["inputs"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "inputs": {"type": "array", "minItems": 1, "maxItems": 1, "items": tensor},
        },
    }


def kserve_v1_schema(
    features: Mapping[str, tuple[float, float]], limits: Limits, body_format: str | None = None
) -> dict[str, Any]:
    """A KServe v1 / TF-Serving predict request: instances as value lists (or records)."""
    columns = list(features)
    cells = [{"type": "number", "minimum": low, "maximum": high} for low, high in features.values()]
    if body_format == "instances_records":
        instance: dict[str, Any] = {
            "type": "object",
            "required": columns,
            "additionalProperties": False,
            "properties": dict(zip(columns, cells, strict=True)),
        }
    else:
        instance = {
            "type": "array",
            "items": cells,
            "minItems": len(columns),
            "maxItems": len(columns),
        }
    rows = {"type": "array", "minItems": 1, "maxItems": limits.max_rows, "items": instance}
    return _envelope("instances", rows)


def mlflow_schema(
    features: Mapping[str, tuple[float, float]], limits: Limits, body_format: str | None = None
) -> dict[str, Any]:
    """MLflow's body in ``body_format`` (dataframe_split by default, as the mlflow adapter
    sends it) for the declared columns, values in the declared ranges."""
    columns = list(features)
    cells = [{"type": "number", "minimum": low, "maximum": high} for low, high in features.values()]
    if body_format in ("dataframe_records", "instances"):
        record = {
            "type": "object",
            "required": columns,
            "additionalProperties": False,
            "properties": dict(zip(columns, cells, strict=True)),
        }
        rows = {"type": "array", "minItems": 1, "maxItems": limits.max_rows, "items": record}
        return _envelope(body_format, rows)
    if body_format == "inputs":
        series = {
            column: {"type": "array", "minItems": 1, "maxItems": limits.max_rows, "items": cell}
            for column, cell in zip(columns, cells, strict=True)
        }
        table = {
            "type": "object",
            "required": columns,
            "additionalProperties": False,
            "properties": series,
        }
        return _envelope("inputs", table)
    return {
        "type": "object",
        "required": ["dataframe_split"],
        "additionalProperties": False,
        "properties": {
            "dataframe_split": {
                "type": "object",
                "required": ["columns", "data"],
                "additionalProperties": False,
                "properties": {
                    "columns": {
                        "type": "array",
                        "items": {"type": "string", "enum": columns},
                        "minItems": len(columns),
                        "maxItems": len(columns),
                    },
                    "data": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": limits.max_rows,
                        "items": {
                            "type": "array",
                            "items": cells,
                            "minItems": len(columns),
                            "maxItems": len(columns),
                        },
                    },
                },
            }
        },
    }


def _envelope(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "additionalProperties": False,
        "properties": {key: value},
    }


def protocol_schema(
    protocol: str,
    features: Mapping[str, tuple[float, float]],
    limits: Limits,
    body_format: str | None = None,
) -> dict[str, Any]:
    if protocol == "mlflow":
        return mlflow_schema(features, limits, body_format)
    if protocol == "kserve-v2":
        return kserve_v2_schema(features, limits)
    if protocol == "kserve-v1":
        return kserve_v1_schema(features, limits, body_format)
    if protocol == "openai-completions":
        return completions_schema(limits)
    if protocol == "openai-embeddings":
        return embeddings_schema(limits)
    return chat_schema(limits)
