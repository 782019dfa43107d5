"""The judgement again, for exported reproducers: stress's own checks, with a copy of parsing.

`stress repro --format python|pytest` writes a script that runs where stress is not
installed. It judges the answer it gets as stress.checks.judge does, with the scenario's
checks, severities and answer settings:

- the checks themselves are not rewritten: the script carries the source of the modules in
  ``COPIED`` (stress's check modules, the error kinds, the event-stream decoder and this
  module), each loaded as a module of its own, their imports of stress pointed at the copies.
  Those modules import only the standard library at run time; tests/unit/repro/test_oracle.py
  holds them to it;
- parsing an answer (the adapters' ``parse``) is written again here, in ``parse``, for the
  protocols an export supports (``PROTOCOLS``); tests/unit/repro/test_oracle.py holds it to
  the adapters over a table of answers, and the verdict-conformance test holds an exported
  script to the run over one answer per check.

Nothing here may import anything but the standard library and the modules in ``COPIED``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stress import errorkinds, jsonpath
from stress.checks import amplify, answers, basic, leaks, runaway
from stress.checks.exchange import Exchange, Finding, Settings
from stress.targets import strictjson
from stress.targets.sse import decode

# What an exported script carries, in load order (a module only imports those before it).
COPIED = (
    "stress.errorkinds",
    "stress.jsonpath",
    "stress.targets.sse",
    "stress.checks.limits",
    "stress.checks.exchange",
    "stress.checks.connection",
    "stress.targets.strictjson",
    "stress.checks.strict",
    "stress.checks.basic",
    "stress.checks.answers",
    "stress.checks.leaks",
    "stress.checks.amplify",
    "stress.checks.runaway",
    "stress.repro.oracle",
)
# The protocols whose answers ``parse`` reads as the adapters do.
PROTOCOLS = (
    "openai-chat",
    "openai-completions",
    "openai-embeddings",
    "mlflow",
    "kserve-v1",
    "kserve-v2",
    "http-json",
)
# The Open Inference Protocol's tensor datatypes (kserve-v2 answers).
_DATATYPES = frozenset(
    [
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
    ]
)
# Every built-in per-request check, in stress's order.
BUILTIN = {
    **basic.CHECKS,
    **answers.CHECKS,
    **leaks.CHECKS,
    **amplify.CHECKS,
    **runaway.CHECKS,
}
DEFAULT_SEVERITY = {
    **dict.fromkeys(BUILTIN, "error"),
    **basic.DEFAULT_SEVERITY,
    **answers.DEFAULT_SEVERITY,
    **leaks.DEFAULT_SEVERITY,
    **amplify.DEFAULT_SEVERITY,
    **runaway.DEFAULT_SEVERITY,
}


@dataclass
class Outcome:
    """An answer as the protocol understands it (the fields the checks read)."""

    problem: str | None = None
    text: str | None = None
    prediction: Any = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    anomaly: str | None = None
    # True when output_tokens were counted here (no usage in the answer), not reported.
    tokens_estimated: bool | None = None


@dataclass(frozen=True)
class Request:
    """What was sent, as far as the checks read it (amplification, echo, runaway)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Item:
    """The corpus input a case was made from, as far as the checks read it."""

    kind: str
    payload: Mapping[str, Any]


def judge(
    checks: Sequence[str],
    severity: Mapping[str, str],
    settings: Settings,
    *,
    expect: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    error_kind: str | None,
    latency_ms: float,
    item: Item | None = None,
    response: Mapping[str, Any] | None = None,
    request: Request | None = None,
) -> tuple[str | None, list[Finding]]:
    """(error kind, findings with their final severities) of one answer, as
    stress.checks.judge gives them for the built-in ``checks``; ``response`` is an http-json
    target's ``response`` map."""
    outcome = Outcome()
    if error_kind == errorkinds.TIMEOUT and status:
        error_kind = errorkinds.HANG
    if error_kind is None:
        outcome = parse(settings.protocol or "", status, headers, body, response=response)
        error_kind = errorkinds.of_answer(
            status, problem=bool(outcome.problem), anomaly=bool(outcome.anomaly)
        )
    exchange = Exchange(
        expect,
        status,
        error_kind,
        outcome,  # type: ignore[arg-type]  # the copy has the fields the checks read
        latency_ms,
        headers=dict(headers),
        body=body,
        item=item,  # type: ignore[arg-type]
        settings=settings,
        request=request,  # type: ignore[arg-type]
    )
    found = []
    for name in checks:
        finding = BUILTIN[name](exchange)
        if finding is not None:
            level = severity.get(finding.check, finding.severity)
            found.append(
                Finding(finding.check, finding.message, level, finding.expected, finding.got)
            )
    return error_kind, found


def parse(
    protocol: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    response: Mapping[str, Any] | None = None,
) -> Outcome:
    """The protocol's reading of an answer, as its adapter's ``parse`` gives it
    (``response``: an http-json target's ``response`` map)."""
    if not 200 <= status < 300:
        return Outcome()
    streamed = headers.get("content-type", "").startswith("text/event-stream")
    if protocol in ("openai-chat", "openai-completions") and streamed:
        decoder = decode(body)
        if decoder.problem:
            return Outcome(anomaly=decoder.problem)
        return _events(protocol, [(event.data, event.name) for event in decoder.events])
    document, problem = _json(body)
    if problem:
        return Outcome(problem=problem)
    if protocol in ("openai-chat", "openai-completions"):
        return _completion(protocol, document)
    if protocol == "openai-embeddings":
        return _embedding(document)
    if protocol == "mlflow":
        if isinstance(document, list):  # MLflow 1.x answered with the bare list
            document = {"predictions": document}
        if not isinstance(document, dict) or "predictions" not in document:
            return Outcome(problem="answer has no 'predictions' key")
        if not isinstance(document["predictions"], list | dict):
            return Outcome(problem="'predictions' is not a list (or a dict of columns)")
        return Outcome(prediction=document["predictions"])
    if protocol == "kserve-v1":
        if not isinstance(document, dict) or "predictions" not in document:
            return Outcome(problem="answer has no 'predictions' key")
        predictions = document["predictions"]
        if not isinstance(predictions, list):
            return Outcome(problem="'predictions' is not a list")
        if not _finite(predictions):
            return Outcome(problem="predictions contain NaN or Infinity", prediction=predictions)
        return Outcome(prediction=predictions)
    if protocol == "kserve-v2":
        return _tensors(document)
    if protocol == "http-json":
        return _mapped(document, response or {})
    raise ValueError(f"no copy of the {protocol!r} adapter's parsing")


def _mapped(document: Any, response: Mapping[str, Any]) -> Outcome:
    schema = response.get("json_schema")
    if schema is not None:
        from jsonschema import validators
        from jsonschema.exceptions import best_match

        validator = validators.validator_for(schema)(schema)
        if not validator.is_valid(document):
            error = best_match(validator.iter_errors(document))
            where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.path)
            return Outcome(
                problem=f"answer does not match target.response.json_schema at ${where}: "
                f"{error.message[:200]}"
            )
    paths = {
        key: jsonpath.parse(response[key])
        for key in ("text", "prediction", "output_tokens", "finish_reason")
        if response.get(key) is not None
    }
    outcome = Outcome()
    if "text" in paths:
        found, text = paths["text"].find(document)
        if not found or not isinstance(text, str):
            return Outcome(problem=f"answer has no text at {paths['text'].expression} (a string)")
        outcome.text = text
    if "prediction" in paths:
        found, prediction = paths["prediction"].find(document)
        if not found:
            return Outcome(problem=f"answer has nothing at {paths['prediction'].expression}")
        outcome.prediction = prediction
    elif "text" not in paths:
        outcome.prediction = document
    if outcome.prediction is not None and not _finite(outcome.prediction):
        outcome.problem = "the prediction contains NaN or Infinity"
    if "output_tokens" in paths:
        found, tokens = paths["output_tokens"].find(document)
        if found and isinstance(tokens, int) and not isinstance(tokens, bool):
            outcome.output_tokens, outcome.tokens_estimated = tokens, False
    if outcome.output_tokens is None and outcome.text is not None:
        outcome.output_tokens = _estimate(outcome.text)
        outcome.tokens_estimated = True
    if "finish_reason" in paths:
        found, reason = paths["finish_reason"].find(document)
        outcome.finish_reason = reason if found and isinstance(reason, str) else None
    return outcome


def _tensors(document: Any) -> Outcome:
    if not isinstance(document, dict):
        return Outcome(problem="answer is not a JSON object")
    outputs = document.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        return Outcome(problem="answer has no 'outputs' list")
    predictions: dict[str, Any] = {}
    for index, output in enumerate(outputs):
        problem = _tensor_problem(output, f"outputs[{index}]")
        if problem:
            return Outcome(problem=problem)
        predictions[output["name"]] = output["data"]
    prediction: Any = outputs[0]["data"] if len(outputs) == 1 else predictions
    if not _finite(prediction):
        return Outcome(problem="outputs contain NaN or Infinity", prediction=prediction)
    return Outcome(prediction=prediction)


def _tensor_problem(output: Any, where: str) -> str | None:
    if not isinstance(output, dict):
        return f"{where} is not an object"
    missing = [key for key in ("name", "shape", "datatype", "data") if key not in output]
    if missing:
        return f"{where} has no {', '.join(repr(key) for key in missing)}"
    if not isinstance(output["name"], str):
        return f"{where}.name is not a string"
    datatype = output["datatype"]
    if datatype not in _DATATYPES:
        return f"{where}.datatype {datatype!r} is not an Open Inference Protocol datatype"
    shape = output["shape"]
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        return f"{where}.shape is not a list of non-negative integers: {shape!r:.80}"
    data = output["data"]
    if not isinstance(data, list):
        return f"{where}.data is not a list"
    flat: list[Any] = []
    stack = [data]
    while stack:
        for item in stack.pop():
            if isinstance(item, list):
                stack.append(item)
            else:
                flat.append(item)
    expected = math.prod(shape)
    if len(flat) != expected:
        return f"{where} has {len(flat)} data items but its shape {shape} says {expected}"
    return None


def _json(body: bytes) -> tuple[Any, str | None]:
    return strictjson.loads(body)


def _usage(document: Any) -> tuple[int | None, int | None]:
    usage = document.get("usage") if isinstance(document, dict) else None
    if not isinstance(usage, dict):
        return None, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else None,
        completion if isinstance(completion, int) and not isinstance(completion, bool) else None,
    )


def _estimate(text: str) -> int:
    import re

    return len(re.findall(r"\w+|[^\w\s]", text))


def _completion(protocol: str, document: Any) -> Outcome:
    if not isinstance(document, dict):
        return Outcome(problem="answer is not a JSON object")
    choices = document.get("choices")
    if not isinstance(choices, list) or not choices:
        return Outcome(problem="answer has no 'choices' list")
    choice = choices[0]
    if not isinstance(choice, dict):
        return Outcome(problem="choices[0] is not an object")
    if protocol == "openai-chat":
        message = choice.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return Outcome(problem="choices[0].message.content is missing or not a string")
        text = message["content"]
    else:
        if not isinstance(choice.get("text"), str):
            return Outcome(problem="choices[0].text is missing or not a string")
        text = choice["text"]
    prompt_tokens, tokens = _usage(document)
    finish = choice.get("finish_reason")
    return Outcome(
        text=text,
        output_tokens=tokens if tokens is not None else _estimate(text),
        tokens_estimated=tokens is None,
        prompt_tokens=prompt_tokens,
        finish_reason=finish if isinstance(finish, str) else None,
    )


def _events(protocol: str, events: list[tuple[str, str | None]]) -> Outcome:
    parts: list[str] = []
    carried = 0
    finish_reason = None
    prompt_tokens = tokens = None
    anomaly = None
    done = False
    for data, name in events:
        if data == "[DONE]":
            done = True
            break
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            anomaly = f"malformed stream chunk: {data[:80]!r}"
            break
        if not isinstance(chunk, dict):
            anomaly = f"stream chunk is not a JSON object: {data[:80]!r}"
            break
        if "error" in chunk or name == "error":
            error = chunk.get("error")
            if isinstance(error, dict):
                error = error.get("message", error)
            anomaly = (
                f"the stream carried an error: {str(error if error is not None else chunk)[:200]}"
            )
            break
        prompt_usage, completion_usage = _usage(chunk)
        if completion_usage is not None:
            prompt_tokens, tokens = prompt_usage, completion_usage
        choices = chunk.get("choices")
        if choices is None:
            choices = []
        if not isinstance(choices, list):
            anomaly = f"stream chunk has 'choices' that is not a list: {data[:80]!r}"
            break
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            text, did = _delta(protocol, choice)
            if text:
                parts.append(text)
            carried += did
            reason = choice.get("finish_reason")
            finish_reason = (reason if isinstance(reason, str) else None) or finish_reason
    if anomaly is None and not done:
        anomaly = "stream ended without 'data: [DONE]'"
    return Outcome(
        text="".join(parts),
        output_tokens=carried if tokens is None else tokens,
        tokens_estimated=tokens is None,
        prompt_tokens=prompt_tokens,
        finish_reason=finish_reason,
        anomaly=anomaly,
    )


def _delta(protocol: str, choice: dict[str, Any]) -> tuple[str, bool]:
    if protocol != "openai-chat":
        text = choice.get("text")
        text = text if isinstance(text, str) else ""
        return text, bool(text)
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return "", False
    content = delta.get("content")
    text = content if isinstance(content, str) else ""
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    return text, bool(text) or (isinstance(reasoning, str) and bool(reasoning))


def _embedding(document: Any) -> Outcome:
    if not isinstance(document, dict):
        return Outcome(problem="answer is not a JSON object")
    data = document.get("data")
    if not isinstance(data, list) or not data:
        return Outcome(problem="answer has no 'data' list")
    if len(data) != 1:
        return Outcome(problem=f"one input was sent but 'data' has {len(data)} embeddings")
    vector = data[0].get("embedding") if isinstance(data[0], dict) else None
    if not isinstance(vector, list) or not vector:
        return Outcome(problem="data[0].embedding is missing or not a non-empty list")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vector):
        return Outcome(problem="data[0].embedding holds something other than numbers")
    prompt_tokens, _ = _usage(document)
    if not all(math.isfinite(v) for v in vector):
        return Outcome(
            problem="data[0].embedding contains NaN or Infinity",
            prediction=vector,
            prompt_tokens=prompt_tokens,
        )
    return Outcome(prediction=vector, prompt_tokens=prompt_tokens)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


# Every built-in per-request check can be judged by an exported script.
STANDALONE_CHECKS = tuple(BUILTIN)
