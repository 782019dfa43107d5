"""The ``target`` section: protocol, URL, body format, templates, answer maps, OpenAPI."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from stress import defaults, jsonpath
from stress.scenario.messages import KeyedError
from stress.scenario.values import Duration, PositiveInt, Size, StrictModel
from stress.secrets import references, resolve, secret_values


class Protocol(StrEnum):
    """Wire protocols a target speaks (adapters live in stress.targets)."""

    OPENAI_CHAT = "openai-chat"
    MLFLOW = "mlflow"
    OPENAI_COMPLETIONS = "openai-completions"
    OPENAI_EMBEDDINGS = "openai-embeddings"
    KSERVE_V2 = "kserve-v2"
    KSERVE_V1 = "kserve-v1"
    HTTP_JSON = "http-json"


# Protocols whose answers can stream (SSE); the others reject `stream: true`.
STREAMING_PROTOCOLS = frozenset({Protocol.OPENAI_CHAT, Protocol.OPENAI_COMPLETIONS})
# Protocols that send table rows, so the scenario must declare the feature columns.
TABULAR_PROTOCOLS = frozenset({Protocol.MLFLOW, Protocol.KSERVE_V2, Protocol.KSERVE_V1})
# Body layouts a protocol offers (the first is the default); see stress/targets.
FORMATS = {
    Protocol.MLFLOW: ("dataframe_split", "dataframe_records", "instances", "inputs"),
    Protocol.KSERVE_V1: ("instances", "instances_records"),
}
# Open Inference Protocol tensor types that can carry a numeric feature table.
DATATYPES = ("FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8")
# http-json request templates: "{{name}}" placeholders, by what input they need.
PROMPT_PLACEHOLDERS = ("prompt", "messages")
ROW_PLACEHOLDERS = ("rows", "row", "values", "columns")
COMMON_PLACEHOLDERS = ("input_id", "model", "max_tokens")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class ResponseMap(StrictModel):
    """http-json: where the parts of an answer are (path expressions), and its JSON Schema."""

    text: str | None = None
    prediction: str | None = None
    output_tokens: str | None = None
    finish_reason: str | None = None
    json_schema: dict[str, Any] | None = None

    @field_validator("text", "prediction", "output_tokens", "finish_reason")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            jsonpath.parse(value)
        return value

    @field_validator("json_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from jsonschema import exceptions, validators

            try:
                validators.validator_for(value).check_schema(value)
            except exceptions.SchemaError as exc:
                where = "/".join(str(part) for part in exc.path) or "(top)"
                raise ValueError(
                    f"not a valid JSON Schema: {exc.message} (at {where}); see json-schema.org"
                ) from None
        return value


class OpenApi(StrictModel):
    """http-json: the OpenAPI document to import (a file, or a URL on the target's own host)
    and the operation (``POST /predict`` or an operationId) whose schemas drive the run.

    Resolved when the scenario is loaded (stress.openapi, by ``Catalog.expand_openapi``): the
    operation's path, method, request and response schemas fill the keys the scenario leaves
    out, and the resolved scenario keeps them inline instead of this key.
    """

    file: Annotated[str, Field(min_length=1)] | None = None
    url: Annotated[str, Field(min_length=1)] | None = None
    operation: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OpenApi:
        if (self.file is None) == (self.url is None):
            raise ValueError(
                "give exactly one of file (a path, relative to the scenario) or url (a path "
                "on the target such as /openapi.json), e.g. openapi: {url: /openapi.json}"
            )
        if self.url is not None and not re.match(r"^(/|https?://)", self.url):
            raise KeyedError(
                ("url",),
                f"expected a path on the target (/openapi.json) or an http(s) URL on the "
                f"target's host, got {self.url!r}; a local document is openapi.file",
            )
        return self


# A Prometheus metric name (the exposition format's grammar).
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class TargetMetrics(StrictModel):
    """The target's own Prometheus endpoint, scraped by `stress run` while the load runs.

    ``url`` is a path on the target (``/metrics``; also for builtin:demo) or an http(s) URL;
    ``series`` are the metric names to chart beside latency (a family name such as
    ``vllm:num_requests_waiting``, or a sample name such as ``demo_tokens_generated_total``);
    ``interval`` is the time between scrapes, each bounded by it (docs/prometheus.md).
    """

    url: Annotated[str, Field(min_length=1)]
    series: Annotated[list[str], Field(min_length=1)]
    interval: Duration = 1.0

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if re.match(r"^(/|https?://[^/\s]+)", url):
            return url
        raise ValueError(
            f"expected a path on the target such as /metrics or an http(s) URL, got {url!r}"
        )

    @field_validator("series")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _METRIC_NAME_RE.match(name):
                raise ValueError(
                    f"{name!r} is not a Prometheus metric name (letters, digits, _ and :, "
                    "not starting with a digit), e.g. vllm:num_requests_waiting"
                )
        return names

    def resolve(self, base_url: str) -> str:
        """The URL to scrape: a path is joined to the target's base URL."""
        return base_url.rstrip("/") + self.url if self.url.startswith("/") else self.url


class ServerLimits(StrictModel):
    """The server's own limits, as its refusals name them (`stress init` probes the prompt
    and batch limits and writes them here). A refusal of an input beyond one is correct; a
    refusal of an input surely within it is a finding (stress.checks.limits)."""

    # The context window in tokens (prompt, and for some servers the completion too).
    prompt_tokens: PositiveInt | None = None
    # The completion's tokens (max_tokens / max_new_tokens).
    max_tokens: PositiveInt | None = None
    # A text field's characters.
    prompt_chars: PositiveInt | None = None
    # Rows, instances or inputs in one request.
    batch_size: PositiveInt | None = None
    # The request body's bytes.
    body_bytes: PositiveInt | None = None

    def known(self) -> dict[str, int]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Target(StrictModel):
    """Where requests go and how they are spoken."""

    url: str = Field(description="http(s)://host:port or builtin:demo")
    protocol: Protocol
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = defaults.TIMEOUT
    model: str = "demo-ngram"
    max_tokens: PositiveInt = 64
    stream: bool = False
    # OpenAI chat/completions: sent in every request when set. Temperature 0 and a seed make
    # a careful sampling model answer the same input the same way, so degradation compares
    # its answers one by one (docs/checks-comparisons.md); unset, nothing is added.
    temperature: Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)] | None = None
    seed: Annotated[int, Field(strict=True)] | None = None
    # Query parameters added to every request; like headers, values may use ${ENV_VAR}.
    params: dict[str, str] = Field(default_factory=dict)
    # The endpoint path (with {model} filled in) when it is not the protocol's usual one.
    path: str | None = None
    # The readiness path probed before load, when not the protocol's usual one.
    health: str | None = None
    # Every request names its input in this header (null: no header), for server logs.
    input_id_header: str | None = "X-Stress-Input-Id"
    # Streaming: a gap with no bytes longer than this ends the request as a stall finding.
    stall_timeout: Duration | None = None
    # Reading an answer stops here (error kind body_too_large): an endless or huge body must
    # not exhaust the tester's memory. Bytes, or a size like 16MiB, 512KB.
    max_body_bytes: Annotated[Size, Field(ge=1024)] = defaults.MAX_BODY_BYTES
    # mlflow and kserve-v1: the body layout (FORMATS); null takes the protocol's default.
    format: str | None = None
    # kserve-v2: name and datatype of the input tensor.
    input_name: Annotated[str, Field(min_length=1)] = "input-0"
    datatype: str = "FP32"
    # http-json: the method, the request template with {{placeholders}}, and the answer map.
    method: Annotated[str, Field(pattern=r"^[A-Z]+$")] = "POST"
    request: Any = None
    response: ResponseMap | None = None
    # http-json: an OpenAPI operation that fills path, method, request and schemas.
    openapi: OpenApi | None = None
    # The target's Prometheus endpoint, scraped during the load and charted in the report.
    metrics: TargetMetrics | None = None
    # The server's own limits (learned by `stress init`, or declared).
    limits: ServerLimits = Field(default_factory=ServerLimits)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if url in ("builtin:demo", "builtin:noop") or re.match(r"^https?://[^/\s]+", url):
            return url.rstrip("/")
        raise ValueError(
            f"expected http://host:port, https://host:port or builtin:demo, got {url!r}"
        )

    @field_validator("headers", "params")
    @classmethod
    def _references(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            try:
                references(value)
            except ValueError as exc:
                raise KeyedError((key,), str(exc)) from None
        return values

    @model_validator(mode="after")
    def _protocol_options(self) -> Target:
        protocol = self.protocol
        for key in ("path", "health"):
            value = getattr(self, key)
            if value is not None and not value.startswith("/"):
                raise KeyedError((key,), f"expected a path starting with /, got {value!r}")
        if self.input_id_header is not None and not _HEADER_NAME_RE.match(self.input_id_header):
            raise KeyedError(
                ("input_id_header",),
                f"expected an HTTP header name like X-Stress-Input-Id (or null for none), "
                f"got {self.input_id_header!r}",
            )
        if self.stream and protocol not in STREAMING_PROTOCOLS:
            names = ", ".join(sorted(p.value for p in STREAMING_PROTOCOLS))
            raise KeyedError(
                ("stream",), f"protocol {protocol.value} does not stream; only {names} do"
            )
        if self.format is not None:
            allowed = FORMATS.get(protocol)
            if allowed is None:
                names = ", ".join(p.value for p in FORMATS)
                raise KeyedError(
                    ("format",), f"protocol {protocol.value} has no formats; only {names} do"
                )
            if self.format not in allowed:
                close = difflib.get_close_matches(self.format, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise KeyedError(
                    ("format",),
                    f"{hint}expected one of {', '.join(allowed)} for {protocol.value}, "
                    f"got {self.format!r}",
                )
        if self.stall_timeout is not None and not self.stream:
            raise KeyedError(
                ("stall_timeout",),
                "a stall is a pause in a streamed answer; set stream: true "
                "(openai-chat, openai-completions) or remove stall_timeout",
            )
        only = {"input_name": Protocol.KSERVE_V2, "datatype": Protocol.KSERVE_V2}
        only["method"] = Protocol.HTTP_JSON
        for key, owner in only.items():
            # Compared with the default, not "was it written": a resolved scenario.yaml spells
            # out every default.
            if getattr(self, key) != type(self).model_fields[key].default and protocol is not owner:
                raise KeyedError(
                    (key,),
                    f"{key} applies to protocol {owner.value} only, not {protocol.value}; "
                    f"remove it",
                )
        if self.datatype not in DATATYPES:
            raise KeyedError(
                ("datatype",), f"expected one of {', '.join(DATATYPES)}, got {self.datatype!r}"
            )
        if protocol is Protocol.HTTP_JSON:
            self._check_template()
        else:
            for key in ("request", "response", "openapi"):
                if getattr(self, key) is not None:
                    raise KeyedError(
                        (key,),
                        f"only protocol http-json takes "
                        f"{'an OpenAPI document' if key == 'openapi' else f'a {key} template'}; "
                        f"remove it or set protocol: http-json",
                    )
        return self

    def _check_template(self) -> None:
        if self.request is None and self.openapi is not None:
            return  # derived from the OpenAPI request schema when the scenario is loaded
        if self.request is None:
            raise KeyedError(
                ("request",),
                'protocol http-json needs a request template, e.g. request: {"text": "{{prompt}}"}',
            )
        names = self.placeholders()
        known = (*PROMPT_PLACEHOLDERS, *ROW_PLACEHOLDERS, *COMMON_PLACEHOLDERS)
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {{{{{close[0]}}}}}? " if close else ""
                raise KeyedError(
                    ("request",),
                    f"unknown placeholder {{{{{name}}}}}; {hint}known: "
                    + ", ".join("{{" + k + "}}" for k in known),
                )
        prompt = names & set(PROMPT_PLACEHOLDERS)
        rows = names & set(ROW_PLACEHOLDERS)
        if prompt and rows:
            raise KeyedError(
                ("request",),
                f"the template mixes prompt placeholders ({', '.join(sorted(prompt))}) with "
                f"row placeholders ({', '.join(sorted(rows))}); a target takes one or the other",
            )
        if not prompt and not rows:
            raise KeyedError(
                ("request",),
                "the template has no placeholder for the input; put {{prompt}} or "
                "{{messages}} (text models) or {{rows}}, {{row}}, {{values}} (tabular) in it",
            )

    def placeholders(self) -> set[str]:
        """The {{placeholder}} names used anywhere in the http-json request template."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, str):
                found.update(PLACEHOLDER_RE.findall(value))
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk(key)
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self.request)
        return found

    @property
    def takes_rows(self) -> bool:
        """Whether this target sends table rows (else prompts)."""
        if self.protocol is Protocol.HTTP_JSON:
            return bool(self.placeholders() & set(ROW_PLACEHOLDERS))
        return self.protocol in TABULAR_PROTOCOLS

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers with ${ENV_VAR} references filled in; raises secrets.MissingVariable."""
        return {name: resolve(value, environ) for name, value in self.headers.items()}

    def resolved_params(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Query parameters with ${ENV_VAR} references filled in."""
        return {name: resolve(value, environ) for name, value in self.params.items()}

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The values of every variable the headers and params refer to: never to be written."""
        return secret_values([*self.headers.values(), *self.params.values()], environ)
