"""`stress init`'s detection: which protocol a server speaks, asked on each protocol's own paths.

    detect(url, headers)   in this order, the first clear answer wins:
        MLflow       GET /ping answers 200 and /invocations exists (a GET is 405, not 404);
                     the columns from the schema its signature enforces (one empty frame)
        KServe v2    GET /v2 answers server metadata; the model from GET /v1/models or the
                     repository index; its tensor (name, datatype, columns) from GET
                     /v2/models/NAME, else from what one single-column request is told
        KServe v1    GET /v1/models answers {"models": [...]} (KServe's shape); a server that
                     answers /v2 too is detected as v2, with v1 in ``also`` (init says so)
        OpenAI       GET /v1/models answers {"object": "list", "data": [...]} (OpenAI's shape);
                     chat, completions or embeddings from the model's id, else one tiny
                     request each; `stream: true` when the chat answer is an event stream
        infinity     GET /models answers OpenAI's list shape: embeddings at /embeddings
        OpenAPI      GET /openapi.json (any JSON API; MLflow and KServe serve one too, so last)
    read_rows(path)        the columns of a sample rows file (.csv, .jsonl) with their ranges

Every request is bounded: PROBE_TIMEOUT each and at most MAX_REQUESTS in all. With
``protocol`` given, only that protocol's paths are asked (for its model and columns).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stress.errors import TargetUnreachable, UsageError
from stress.scenario import Protocol

PROBE_TIMEOUT = 5.0
MAX_REQUESTS = 16
# The range written for a column whose realistic range nothing told (the scenario says so).
GENERIC_RANGE = (0.0, 1.0)
# "X has 1 features, but LogisticRegression is expecting 4 features" (scikit-learn), and the
# like: how many columns a model takes, from its answer to a one-column row.
EXPECTED_COLUMNS = re.compile(
    r"(?:expect(?:s|ed|ing)?|requires?)\s+(?:input\s+with\s+)?(\d{1,4})\s+(?:features|columns)",
    re.IGNORECASE,
)
# MLflow's schema enforcement error: "... with schema '['a b': double (required), ...]'".
MLFLOW_COLUMN = re.compile(r"'((?:[^'\\]|\\.)+)': (\w+)")


@dataclass
class Detected:
    """What the server said: a protocol (None: could not tell), and what the scenario needs."""

    protocol: Protocol | None
    model: str | None = None
    openapi: str | None = None
    answers: list[str] = field(default_factory=list)
    path: str | None = None
    stream: bool = False
    features: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Where the columns came from, written as a comment above them.
    features_note: str | None = None
    input_name: str | None = None
    datatype: str | None = None
    # Protocols the server also speaks besides ``protocol`` (init names them, with the flag).
    also: list[Protocol] = field(default_factory=list)

    def choice(self, url: str) -> str | None:
        """What init says when the server speaks more than the detected protocol."""
        if self.protocol is None or not self.also:
            return None
        names = ", ".join(p.value for p in self.also)
        how = " or ".join(f"`stress init {url} --protocol {p.value}`" for p in self.also)
        return (
            f"the server also speaks {names}; chose {self.protocol.value} (detected first). "
            f"For the other: {how}"
        )


class _Asker:
    """GETs and POSTs, each recorded in ``found.answers``, at most MAX_REQUESTS of them. A GET
    is sent once: asked again (KServe v1 and OpenAI both read GET /v1/models), its first
    answer is reused."""

    def __init__(self, client: httpx.Client, headers: dict[str, str], found: Detected) -> None:
        self.client, self.headers, self.found = client, headers, found
        self.got: dict[str, httpx.Response | None] = {}

    def __call__(self, method: str, path: str, body: Any = None) -> httpx.Response | None:
        if method == "GET" and path in self.got:
            return self.got[path]
        if len(self.found.answers) >= MAX_REQUESTS:
            return None
        response = self._send(method, path, body)
        if method == "GET":
            self.got[path] = response
        return response

    def _send(self, method: str, path: str, body: Any) -> httpx.Response | None:
        try:
            response = self.client.request(method, path, json=body, headers=self.headers)
        except httpx.TimeoutException:
            self.found.answers.append(f"{method} {path}: no answer in {PROBE_TIMEOUT:g} s")
            return None
        except httpx.HTTPError as exc:
            if self.found.answers:  # it answered before: this path broke the connection
                self.found.answers.append(f"{method} {path}: {type(exc).__name__}")
                return None
            raise TargetUnreachable(
                f"URL: cannot reach {self.client.base_url} ({exc or type(exc).__name__}); "
                f"start the server or check the URL"
            ) from None
        self.found.answers.append(f"{method} {path}: HTTP {response.status_code}")
        return response

    def json(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a 200, else None."""
        response = self(method, path, body)
        if response is None or response.status_code != 200:
            return None
        return _parsed(response)

    def streams(self, path: str, body: Any) -> int | None:
        """POST ``body`` and read only the headers: the status, or -status for an event stream."""
        if len(self.found.answers) >= MAX_REQUESTS:
            return None
        request = self.client.build_request("POST", path, json=body, headers=self.headers)
        try:
            response = self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self.found.answers.append(f"POST {path}: {type(exc).__name__}")
            return None
        try:
            kind = response.headers.get("content-type", "")
            self.found.answers.append(f"POST {path}: HTTP {response.status_code} {kind}".strip())
            streamed = kind.startswith("text/event-stream")
            return -response.status_code if streamed else response.status_code
        finally:
            response.close()


def _parsed(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def openai_list(document: Any) -> list[dict[str, Any]] | None:
    """The model entries of OpenAI's ``{"object": "list", "data": [...]}``, else None."""
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        return None
    if document.get("object") not in ("list", None) or "models" in document:
        return None
    return [entry for entry in document["data"] if isinstance(entry, dict)]


def kserve_list(document: Any) -> list[str] | None:
    """The model names of KServe's ``{"models": [...]}``, else None."""
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        return None
    return [str(m.get("name") if isinstance(m, dict) else m) for m in document["models"]]


def detect(
    url: str,
    headers: dict[str, str],
    *,
    protocol: Protocol | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Detected:
    """Ask ``url`` which protocol it speaks (exit 3 if it does not answer at all)."""
    found = Detected(None)
    with httpx.Client(base_url=url, timeout=PROBE_TIMEOUT, transport=transport) as client:
        ask = _Asker(client, dict(headers), found)
        steps = {
            Protocol.MLFLOW: _mlflow,
            Protocol.KSERVE_V2: _kserve_v2,
            Protocol.KSERVE_V1: _kserve_v1,
            Protocol.OPENAI_CHAT: _openai,
            Protocol.OPENAI_COMPLETIONS: _openai,
            Protocol.OPENAI_EMBEDDINGS: _openai,
            Protocol.HTTP_JSON: _openapi,
        }
        if protocol is not None:
            step = steps.get(protocol)
            if step is not None and step(ask, found, given=protocol):
                found.protocol = protocol
            return found
        for step in (_mlflow, _kserve_v2, _kserve_v1, _openai, _infinity, _openapi):
            if step(ask, found, given=None):
                return found
    return found


def _mlflow(ask: _Asker, found: Detected, *, given: Protocol | None) -> bool:
    ping = ask("GET", "/ping")
    if given is None:
        if ping is None or ping.status_code != 200:
            return False
        invocations = ask("GET", "/invocations")
        if invocations is None or invocations.status_code == 404:
            return False
    found.protocol = Protocol.MLFLOW
    # An empty frame: a model with a signature names every column it misses, with its type.
    response = ask("POST", "/invocations", {"dataframe_split": {"columns": [], "data": [[]]}})
    answer = _parsed(response) if response is not None and response.status_code == 400 else None
    message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
    columns = MLFLOW_COLUMN.findall(message.partition("with schema '")[2])
    if columns:
        found.features = {name: GENERIC_RANGE for name, _ in columns}
        kinds = ", ".join(sorted({kind for _, kind in columns}))
        found.features_note = (
            f"the columns of the model's signature ({kinds}); the ranges are placeholders: "
            f"set each column's realistic min and max"
        )
    return True


def _kserve_v2(ask: _Asker, found: Detected, *, given: Protocol | None) -> bool:
    server = ask.json("GET", "/v2")
    if given is None and not (isinstance(server, dict) and "extensions" in server):
        return False
    found.protocol = Protocol.KSERVE_V2
    names = kserve_list(ask.json("GET", "/v1/models"))
    if names is not None and given is None:  # KServe's v1 model list: v1 is served too
        found.also.append(Protocol.KSERVE_V1)
    if not names:
        index = ask.json("POST", "/v2/repository/index", {})
        names = [str(m.get("name")) for m in index or [] if isinstance(m, dict)]
    found.model = found.model or (names[0] if names else None)
    if found.model is None:
        return True
    base = f"/v2/models/{found.model}"
    metadata = ask.json("GET", base)
    inputs = metadata.get("inputs") if isinstance(metadata, dict) else None
    tensor = inputs[0] if isinstance(inputs, list) and inputs else {}
    if isinstance(tensor, dict) and tensor:
        found.input_name = str(tensor.get("name") or "input-0")
        found.datatype = str(tensor.get("datatype") or "FP32")
        shape = tensor.get("shape")
        last = shape[-1] if isinstance(shape, list) and shape else None
        if isinstance(last, int) and last > 0:
            _columns(found, last, f"{base} metadata: input {found.input_name}, shape {shape}")
            return True
    body = {"inputs": [{"name": found.input_name or "input-0", "shape": [1, 1]}]}
    body["inputs"][0].update(datatype=found.datatype or "FP32", data=[0.0])
    _told(found, ask("POST", f"{base}/infer", body))
    return True


def _kserve_v1(ask: _Asker, found: Detected, *, given: Protocol | None) -> bool:
    names = kserve_list(ask.json("GET", "/v1/models"))
    if names is None and given is None:
        return False
    found.protocol = Protocol.KSERVE_V1
    found.model = found.model or (names[0] if names else None)
    if found.model is not None:
        _told(found, ask("POST", f"/v1/models/{found.model}:predict", {"instances": [[0.0]]}))
    return True


def _columns(found: Detected, count: int, source: str) -> None:
    found.features = {f"col{i}": GENERIC_RANGE for i in range(count)}
    found.features_note = (
        f"{count} columns, from {source}; the server names no column and no range, so these "
        f"are placeholders: set each column's realistic min and max"
    )


def _told(found: Detected, response: httpx.Response | None) -> None:
    """The column count a one-column request was told in the refusal, if it was."""
    match = EXPECTED_COLUMNS.search(response.text) if response is not None else None
    if match is not None and response is not None:
        what = f"the answer to a one-column row ({response.status_code}: {match.group(0)!r})"
        _columns(found, int(match.group(1)), what)


def _openai(ask: _Asker, found: Detected, *, given: Protocol | None) -> bool:
    entries = openai_list(ask.json("GET", "/v1/models"))
    if entries is None and given is None:
        return False
    models = [str(e["id"]) for e in entries or [] if e.get("id")]
    found.model = found.model or (models[0] if models else None)
    found.protocol = given or _openai_kind(ask, found, entries or [], "/v1")
    return True


def _infinity(ask: _Asker, found: Detected, *, given: Protocol | None) -> bool:
    entries = openai_list(ask.json("GET", "/models"))
    if not entries:
        return False
    found.model = str(entries[0].get("id") or "") or None
    found.protocol = _openai_kind(ask, found, entries, "")
    if found.protocol is Protocol.OPENAI_EMBEDDINGS:
        found.path = "/embeddings"
    elif found.protocol is Protocol.OPENAI_CHAT:
        found.path = "/chat/completions"
    else:
        found.path = "/completions"
    return True


def _openai_kind(ask: _Asker, found: Detected, entries: list[dict[str, Any]], at: str) -> Protocol:
    """Embeddings when the model list says so (an id or capability naming it), else the first
    of a streamed one-token chat request, a one-word embedding, a one-token completion that
    the server answers 200."""
    hints = " ".join(json.dumps(e).lower() for e in entries[:1])
    if "embed" in hints:
        return Protocol.OPENAI_EMBEDDINGS
    message = [{"role": "user", "content": "hi"}]
    chat = {"model": found.model, "messages": message, "max_tokens": 1, "stream": True}
    status = ask.streams(f"{at}/chat/completions", chat)
    if status in (200, -200):
        found.stream = status == -200
        return Protocol.OPENAI_CHAT
    embedded = ask.json("POST", f"{at}/embeddings", {"model": found.model, "input": "hi"})
    if openai_list(embedded):
        return Protocol.OPENAI_EMBEDDINGS
    completion = {"model": found.model, "prompt": "hi", "max_tokens": 1}
    if ask.json("POST", f"{at}/completions", completion) is not None:
        return Protocol.OPENAI_COMPLETIONS
    return Protocol.OPENAI_CHAT


def _openapi(ask: _Asker, found: Detected, *, given: Protocol | None) -> bool:
    document = ask.json("GET", "/openapi.json")
    if not (isinstance(document, dict) and "openapi" in document):
        return False
    found.protocol, found.openapi = Protocol.HTTP_JSON, "/openapi.json"
    return True


def read_rows(path: Path) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """The numeric columns of a sample rows file with their min and max, and the names of the
    columns left out (not numbers). UsageError naming --rows when it cannot be read."""
    import pandas as pd

    try:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            frame = pd.read_json(path, lines=path.suffix.lower() != ".json")
        else:
            frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--rows: cannot read {path} ({exc}); pass a CSV file with a header row, or JSON "
            f"lines with one object per row"
        ) from None
    features: dict[str, tuple[float, float]] = {}
    skipped: list[str] = []
    for name in frame.columns:
        column = pd.to_numeric(frame[name], errors="coerce")
        finite = column[column.map(lambda v: math.isfinite(v) if v == v else False)]
        if finite.empty or column.isna().sum() > frame[name].isna().sum():
            skipped.append(str(name))
            continue
        features[str(name)] = (float(finite.min()), float(finite.max()))
    if not features:
        raise UsageError(f"--rows: {path} has no numeric column; stress features are numbers")
    return features, skipped
