"""OpenAPI import: one operation of an OpenAPI 3.0 or 3.1 document becomes an http-json target.

``target.openapi: {url: /openapi.json, operation: POST /predict}`` (or ``file:``, relative to
the scenario) is resolved when the scenario is loaded, and every key the scenario leaves out
is filled from the operation:

==================================  =========================================================
from the document                   becomes
==================================  =========================================================
the path (after ``servers[0]``'s    ``target.path`` (``{model}`` is filled in; any other
path prefix) and the method         path parameter needs ``target.path`` written out)
``requestBody`` JSON schema         ``inputs.body_schema``: realistic.schema_body, structure.*
                                    and numbers.* generate from it
the first 2xx JSON response schema  ``target.response.json_schema``: every answer is checked
its top-level text field            ``target.request``: ``{{prompt}}`` there, the other
                                    required fields at generated valid values
==================================  =========================================================

Schemas are converted to JSON Schema 2020-12, what the generator and jsonschema read: the
``#/components/schemas`` they use are copied under ``$defs``; OpenAPI 3.0's ``nullable``,
boolean ``exclusiveMinimum``/``exclusiveMaximum``, ``example``, ``discriminator``, ``xml``
and ``x-`` extensions are translated or dropped; ``readOnly`` properties leave the request
schema and ``writeOnly`` ones the response schema. No library does this conversion for a
generator (openapi-schema-validator validates instances, it does not emit JSON Schema), so it
is done here, over the document's own ``$ref``s; external ``$ref``s are an error.

The resolved scenario keeps the schemas inline, so a run directory never needs the document.
"""

from __future__ import annotations

import copy
import difflib
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from stress.errors import ScenarioError, TargetUnreachable
from stress.scenario import OpenApi, Scenario, ScenarioKeyError, Target
from stress.scenario.loading import parse_yaml

DIALECT = "https://json-schema.org/draft/2020-12/schema"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keywords whose value is one schema, a list of schemas, or a mapping of names to schemas.
_ONE = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
# OpenAPI-only annotations with no JSON Schema meaning (or none the generator needs).
_DROPPED = ("example", "discriminator", "xml", "externalDocs", "nullable")
# Names a text endpoint gives the field the prompt goes in, most telling first.
PROMPT_NAMES = (
    "prompt",
    "text",
    "input",
    "query",
    "question",
    "message",
    "content",
    "inputs",
    "sentence",
    "document",
)


# Names model servers give the answer in a response, most telling first.
ANSWER_NAMES = (
    "predictions",
    "prediction",
    "label",
    "labels",
    "answer",
    "text",
    "output",
    "outputs",
    "result",
    "generated_text",
    "completion",
    "response",
    "score",
    "scores",
)
# Of those, the ones that hold text when they are strings.
TEXT_NAMES = ("answer", "text", "output", "generated_text", "completion", "response")


@dataclass(frozen=True)
class Operation:
    """One operation with a JSON request body, its schemas converted to JSON Schema."""

    method: str
    path: str
    operation_id: str | None
    request_schema: dict[str, Any]
    response_schema: dict[str, Any] | None
    # JSON pointer of the operation in the document, for messages.
    pointer: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


class DocumentError(ScenarioKeyError):
    """The document, or the operation in it, cannot be used; ``loc`` is below target.openapi."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(("target", "openapi", *((key,) if key else ())), message)


def expand(data: dict[str, Any], scenario: Scenario, folder: Path) -> dict[str, Any]:
    """``data`` with ``target.openapi`` resolved into plain http-json keys (Catalog.expand_openapi).

    Keys the scenario writes win over the document: ``target.request``, ``target.path``,
    ``target.response.json_schema`` and ``inputs.body_schema``. ``target.method``, if written,
    must be the operation's.
    """
    target = scenario.target
    assert target.openapi is not None
    document, origin = read(target.openapi, target, folder)
    operation = choose(document, target.openapi.operation, origin)
    out = copy.deepcopy(data)
    written = dict(out["target"])
    written.pop("openapi")
    if "method" in written and written["method"] != operation.method:
        raise ScenarioKeyError(
            ("target", "method"),
            f"the operation {operation.name} is a {operation.method}, got {written['method']!r};"
            f" remove target.method (the operation gives it) or pick another operation",
        )
    written["method"] = operation.method
    if "path" not in written:
        written["path"] = _path(document, operation)
    if "request" not in written:
        written["request"] = template(operation)
    if operation.response_schema is not None:
        response = dict(written.get("response") or {})
        response.setdefault("json_schema", operation.response_schema)
        if not {"text", "prediction"} & set(response):
            response.update(answer_paths(operation.response_schema))
        written["response"] = response
    out["target"] = written
    inputs = out.get("inputs")
    if isinstance(inputs, dict) and "body_schema" not in inputs:
        _check_generable(operation.request_schema, operation.name)
        out["inputs"] = {**inputs, "body_schema": operation.request_schema}
    return out


def read(spec: OpenApi, target: Target, folder: Path) -> tuple[dict[str, Any], str]:
    """The document (parsed, checked to be OpenAPI 3.0/3.1) and where it came from."""
    if spec.file is not None:
        path = Path(spec.file)
        path = path if path.is_absolute() else folder / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DocumentError(
                f"cannot read {path}: {exc.strerror or exc}; the path is relative to the "
                f"scenario file",
                "file",
            ) from None
        return parse(text, str(path)), str(path)
    assert spec.url is not None
    url = _document_url(spec.url, target)
    return parse(fetch(url, target), url), url


def _document_url(url: str, target: Target) -> str:
    if target.url.startswith("builtin:"):
        raise DocumentError(
            f"{target.url} serves no OpenAPI document; use openapi.file, or a target.url of a "
            f"server that serves one",
            "url",
        )
    if url.startswith("/"):
        return target.url + url
    own, other = urlsplit(target.url), urlsplit(url)
    if (own.scheme, own.netloc) != (other.scheme, other.netloc):
        raise DocumentError(
            f"stress fetches the document from the target's own host only "
            f"({own.scheme}://{own.netloc}), got {url!r}; download it and use openapi.file",
            "url",
        )
    return url


def fetch(url: str, target: Target) -> str:
    """GET the document with the target's headers; exit 3 when the target does not serve it."""
    import httpx

    from stress.secrets import MissingVariable, Redactor

    try:
        headers = target.resolved_headers()
    except MissingVariable as exc:
        raise ScenarioKeyError(
            ("target", "headers"),
            f"environment variable {exc.name} is not set, and fetching the OpenAPI document "
            f"needs it; export it (export {exc.name}=...) or use openapi.file",
        ) from None
    scrub = Redactor(target.secrets()).scrub
    try:
        response = httpx.get(url, headers=headers, timeout=target.timeout)
    except httpx.HTTPError as exc:
        reason = scrub(str(exc) or type(exc).__name__)
        raise TargetUnreachable(
            f"target.openapi.url: cannot fetch {scrub(url)} ({reason}); start the server or "
            f"use openapi.file"
        ) from None
    if response.status_code != 200:
        raise TargetUnreachable(
            f"target.openapi.url: {scrub(url)} answered HTTP {response.status_code}; check the "
            f"path (FastAPI serves /openapi.json) or use openapi.file"
        )
    return response.text


def parse(text: str, origin: str) -> dict[str, Any]:
    """A JSON or YAML OpenAPI 3.0/3.1 document; DocumentError says what else it is."""
    try:
        document = json.loads(text)
    except ValueError:
        try:
            # The scenario's own YAML reader: aliases that expand the document by more than
            # MAX_ALIAS_NODES nodes (a "billion laughs") are refused before it is built.
            document = parse_yaml(text, origin)
        except ScenarioError as exc:
            raise DocumentError("; ".join(exc.problems)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise DocumentError(f"{origin} is neither JSON nor YAML{where}; fix it") from None
    if not isinstance(document, dict):
        raise DocumentError(f"{origin} is not an OpenAPI document (not a mapping)")
    version = str(document.get("openapi", ""))
    if not re.match(r"^3\.[01]\.", version):
        found = f"swagger {document['swagger']}" if "swagger" in document else repr(version)
        raise DocumentError(
            f"{origin}: expected an OpenAPI 3.0 or 3.1 document (openapi: 3.x.y), got {found}; "
            f"convert Swagger 2.0 with swagger2openapi"
        )
    if not isinstance(document.get("paths"), dict):
        raise DocumentError(f"{origin} has no paths")
    return document


def operations(document: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation object) of every operation with a JSON request body."""
    found = []
    for path, item in document["paths"].items():
        item = _deref(document, item) if isinstance(item, dict) else {}
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and _json_content(
                document, operation.get("requestBody")
            ):
                found.append((method.upper(), str(path), operation))
    return found


def choose(document: dict[str, Any], wanted: str | None, origin: str) -> Operation:
    """The operation ``wanted`` names (``POST /predict`` or an operationId), or the only one."""
    candidates = operations(document)
    names = [f"{m} {p}" for m, p, _ in candidates]
    listing = "; ".join(
        f"{m} {p}" + (f" ({op['operationId']})" if op.get("operationId") else "")
        for m, p, op in candidates
    )
    if not candidates:
        raise DocumentError(f"{origin} has no operation with a JSON request body")
    if wanted is None:
        if len(candidates) > 1:
            raise DocumentError(
                f"{origin} has {len(candidates)} operations with a JSON body; name one in "
                f"target.openapi.operation: {listing}"
            )
        chosen = candidates[0]
    else:
        parts = wanted.split(None, 1)
        by_name = [
            c
            for c in candidates
            if len(parts) == 2 and (c[0], c[1]) == (parts[0].upper(), parts[1])
        ]
        by_id = [c for c in candidates if c[2].get("operationId") == wanted]
        if not by_name and not by_id:
            ids = [str(c[2]["operationId"]) for c in candidates if c[2].get("operationId")]
            close = difflib.get_close_matches(wanted, [*names, *ids], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DocumentError(
                f"{hint}{origin} has no operation {wanted!r} with a JSON body; "
                f"operations: {listing}",
                "operation",
            )
        chosen = (by_name or by_id)[0]
    method, path, operation = chosen
    pointer = f"#/paths/{_escape(path)}/{method.lower()}"
    content = _json_content(document, operation.get("requestBody"))
    assert content is not None
    request = convert(document, content.get("schema") or {}, f"{pointer}/requestBody", "request")
    response = None
    for status, answer in sorted((operation.get("responses") or {}).items()):
        if re.match(r"^2(\d\d|XX)$", str(status)):
            body = _json_content(document, answer)
            if body is not None and body.get("schema") is not None:
                where = f"{pointer}/responses/{status}"
                response = convert(document, body["schema"], where, "response")
                break
    return Operation(method, path, operation.get("operationId"), request, response, pointer)


def _json_content(document: Mapping[str, Any], holder: Any) -> dict[str, Any] | None:
    """The JSON media type object of a requestBody or response, if it has one."""
    if not isinstance(holder, dict):
        return None
    content = _deref(document, holder).get("content")
    if not isinstance(content, dict):
        return None
    for media, value in content.items():
        kind = str(media).split(";")[0].strip().lower()
        if (kind == "application/json" or kind.endswith("+json")) and isinstance(value, dict):
            return value
    return None


def _deref(document: Mapping[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A requestBody, response or path item that may be a local $ref, followed."""
    seen = 0
    while "$ref" in node and seen < 16:
        node = _pointer(document, str(node["$ref"]))
        seen += 1
    return node


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise DocumentError(
            f"$ref {ref!r} points outside the document; bundle it into one file first "
            f"(e.g. redocly bundle) and use openapi.file"
        )
    node: Any = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise DocumentError(f"$ref {ref!r} points at nothing in the document")
        node = node[key]
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def convert(document: Mapping[str, Any], schema: Any, where: str, direction: str) -> dict[str, Any]:
    """An OpenAPI schema object as a standalone JSON Schema 2020-12 document.

    ``direction`` is ``request`` (readOnly properties are left out: a client never sends
    them) or ``response`` (writeOnly ones are left out: a server never returns them).
    """
    legacy = str(document.get("openapi", "")).startswith("3.0")
    used: dict[str, Any] = {}
    queue: list[str] = []

    def walk(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = str(node["$ref"])
            prefix = "#/components/schemas/"
            if ref.startswith(prefix):
                name = ref[len(prefix) :]
                if name not in used:
                    used[name] = None
                    queue.append(name)
                target = {"$ref": "#/$defs/" + name}
            else:
                target = walk(_pointer(document, ref))
            if legacy:  # 3.0: a $ref's siblings are ignored
                return target
            rest = walk({k: v for k, v in node.items() if k != "$ref"})
            return {**rest, **target} if "$ref" in target else {**target, **rest}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key in _ONE:
                out[key] = walk(value)
            elif key in _MANY and isinstance(value, list):
                out[key] = [walk(item) for item in value]
            elif key in _NAMED and isinstance(value, dict):
                out[key] = {name: walk(child) for name, child in value.items()}
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and bound in node:
                    out[key] = node[bound]
            else:
                out[key] = value
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if node.get(key) is True:
                out.pop(bound, None)
        hidden = "readOnly" if direction == "request" else "writeOnly"
        properties, original = out.get("properties"), node.get("properties")
        if isinstance(properties, dict) and isinstance(original, dict):
            gone = [n for n, child in original.items() if _flag(document, child, hidden)]
            if gone:
                out["properties"] = {n: c for n, c in properties.items() if n not in gone}
                if isinstance(out.get("required"), list):
                    out["required"] = [n for n in out["required"] if n not in gone]
        if legacy and node.get("nullable") is True:
            out = _nullable(out)
        return out

    result = walk(schema)
    definitions: dict[str, Any] = {}
    components = (document.get("components") or {}).get("schemas") or {}
    while queue:
        name = queue.pop(0)
        if name not in components:
            raise DocumentError(f"{where}: $ref to #/components/schemas/{name}, which is missing")
        definitions[name] = walk(components[name])
    if not isinstance(result, dict):
        raise DocumentError(f"{where}: the schema is not an object ({result!r})")
    out = {"$schema": DIALECT, **result}
    if definitions:
        out["$defs"] = {**out.get("$defs", {}), **definitions}
    from jsonschema import exceptions, validators

    try:
        validators.Draft202012Validator.check_schema(out)
    except exceptions.SchemaError as exc:
        at = "/".join(str(part) for part in exc.absolute_path) or "(top)"
        raise DocumentError(
            f"{where}: the {direction} schema is not valid JSON Schema at {at}: {exc.message}"
        ) from None
    return out


def _flag(document: Mapping[str, Any], schema: Any, key: str) -> bool:
    """Whether a property's schema (or the component it refers to) sets ``key`` true."""
    if not isinstance(schema, dict):
        return False
    if schema.get(key) is True:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = _pointer(document, ref)
        return isinstance(target, dict) and target.get(key) is True
    return False


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 ``nullable: true``: null is allowed too."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema = {**schema, "type": [kind, "null"]}
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _check_generable(schema: dict[str, Any], operation: str) -> None:
    """The request schema's keywords the generator cannot honour, named in the document."""
    from stress.inputs.schemas import problems

    found = problems(schema)
    if found:
        text = found[0].replace("#/$defs/", "#/components/schemas/")
        raise DocumentError(
            f"the request schema of {operation}: {text}; or write inputs.body_schema "
            f"(it replaces the document's request schema)"
        )


def answer_paths(schema: dict[str, Any]) -> dict[str, str]:
    """Where the answer is in a response: a required top-level field a model server names
    its output with (``text`` for strings such as ``answer``, else ``prediction``), else the
    first required field that cannot be null. Empty: the whole answer is the prediction.

    A field, not the whole document: a nullable field left null is the schema's business
    (it is checked against it), not a null prediction.
    """
    from stress.inputs import schemas

    root = schemas._resolve(schema, schema)
    needed = [n for n in root.get("required", []) if n in (root.get("properties") or {})]
    kinds = {n: schemas.json_types(schemas._resolve(root["properties"][n], schema)) for n in needed}
    for name in sorted(needed, key=lambda n: _rank(n, ANSWER_NAMES)):
        if _rank(name, ANSWER_NAMES) < len(ANSWER_NAMES) or "null" not in kinds[name]:
            text = kinds[name] == {"string"} and name.lower() in TEXT_NAMES
            return {"text" if text else "prediction": f"$.{name}"}
    return {}


def _rank(name: str, names: tuple[str, ...]) -> int:
    lowered = name.lower()
    return names.index(lowered) if lowered in names else len(names)


def _path(document: Mapping[str, Any], operation: Operation) -> str:
    """The operation's path with the first server's path prefix; {model} may stay."""
    prefix = ""
    servers = document.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        url = str(servers[0].get("url", ""))
        for name, variable in (servers[0].get("variables") or {}).items():
            url = url.replace("{" + name + "}", str((variable or {}).get("default", "")))
        prefix = urlsplit(url).path.rstrip("/")
    path = prefix + operation.path
    others = [p for p in re.findall(r"\{([^}]*)\}", path) if p != "model"]
    if others:
        raise ScenarioKeyError(
            ("target", "openapi", "operation"),
            f"the path {path} has parameter(s) {', '.join('{' + p + '}' for p in others)}; "
            f"write target.path with the values filled in ({{model}} is filled from "
            f"target.model)",
        )
    return path


def template(operation: Operation) -> dict[str, Any]:
    """A request template: a valid body with ``{{prompt}}`` (or ``{{messages}}``) in the
    top-level field a text endpoint reads, the other required fields at generated values."""
    from stress.inputs import schemas

    schema = operation.request_schema
    root = schemas._resolve(schema, schema)
    properties = {
        name: schemas._resolve(child, schema)
        for name, child in (root.get("properties") or {}).items()
    }
    needed = set(root.get("required", []))
    field, value = _prompt_field(properties, needed)
    if field is None:
        raise DocumentError(
            f"the request schema of {operation.name} has no top-level string field to put the "
            f"prompt in; write target.request, a template with {{{{prompt}}}} or, for table "
            f"rows, {{{{rows}}}} (and inputs.features)"
        )
    body = schemas.generate(schema, random.Random(0), optional=0.0)
    body = body if isinstance(body, dict) else {}
    body[field] = value
    return body


def _prompt_field(properties: Mapping[str, Any], needed: set[str]) -> tuple[str | None, str]:
    from stress.inputs.schemas import json_types

    def text(child: Mapping[str, Any]) -> bool:
        return (
            "string" in json_types(child)
            and not {"enum", "const", "format", "pattern"} & set(child)
            and int(child.get("maxLength", 10**9)) >= 16
        )

    messages = properties.get("messages")
    if isinstance(messages, dict) and "array" in json_types(messages):
        return "messages", "{{messages}}"
    texts = [name for name, child in properties.items() if text(child)]
    for wanted in PROMPT_NAMES:
        for name in texts:
            if name.lower() == wanted:
                return name, "{{prompt}}"
    ordered = [n for n in texts if n in needed] + [n for n in texts if n not in needed]
    return (ordered[0], "{{prompt}}") if ordered else (None, "")
