"""Shrink: minimise a failing request against the live endpoint, keeping the failure the same.

"The same" is the case's Signature: the same check fails with an answer of the same status
class. A candidate body is kept only when

1. it has exactly the protocol violations of the original (validity.py): a valid input stays
   valid, a malformed one stays malformed the way its family made it. This is decided
   before anything is sent, so hopeless candidates cost no requests; and
2. it fails the same way on every one of ``tries`` sends. The first send that does not is
   where trying stops, so a candidate that passes costs one request.

Endpoints are noisy. Before shrinking, the original is sent ``confirm`` times: failing some
of those times but not all makes the case flaky, and it is reported as such instead of being
shrunk (a flaky failure shrinks to whatever happened to fail). A candidate that fails some
of its tries but not all sends the original again; if that is no longer consistent either,
the case is flaky after all; after ``max_flaky`` inconsistent candidates shrinking stops with
what it has.

The passes, repeated until nothing shrinks: JSON bodies by structure (drop object keys and
array items by delta debugging, then simplify each value: strings by delta debugging over
tokens and then characters, numbers towards 0, true to false); other bodies by delta
debugging over byte tokens and then bytes. Every request counts against ``max_requests``
and the clock against ``max_seconds``; when either runs out the smallest failing body found
so far is the result, marked incomplete.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from stress import framing
from stress.checks.request import CONNECTION_KINDS
from stress.repro.cases import (
    Signature,
    body_fields,
    case_input,
    corpus_inputs,
    find_case,
    shrunk_path,
    signature,
    stored_request,
)
from stress.repro.sender import Observation, open_sender
from stress.repro.validity import violations
from stress.rundir import layout
from stress.rundir.write import write_text
from stress.scenario import from_path

T = TypeVar("T")
Path_ = tuple[str | int, ...]

# Words, runs of white space, and single other characters: a failing character usually sits
# in one of them, so deleting whole tokens first halves the work of the character pass.
_TEXT_TOKENS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_BYTE_TOKENS = re.compile(rb"[A-Za-z0-9_]+|\s+|[^A-Za-z0-9_\s]")
# Structure passes are repeated while they make progress; each pass is cheap once small.
MAX_PASSES = 8


class Verdict(StrEnum):
    """One send of a candidate: failed the same way, passed, or failed some other way."""

    SAME = "same"
    PASS = "pass"
    OTHER = "other"


class Status(StrEnum):
    SHRUNK = "shrunk"
    FLAKY = "flaky"
    NOT_REPRODUCED = "not_reproduced"


@dataclass(frozen=True)
class Limits:
    """Bounds of one shrink. ``tries``: sends per candidate; ``confirm``: sends of the
    original before shrinking; ``max_flaky``: inconsistent candidates tolerated."""

    tries: int = 3
    confirm: int = 5
    max_requests: int = 500
    max_seconds: float = 300.0
    max_flaky: int = 3


@dataclass
class ShrinkResult:
    status: Status
    original: bytes
    body: bytes
    requests: int = 0
    seconds: float = 0.0
    complete: bool = True
    confirmed: tuple[int, int] = (0, 0)  # (failed the same way, sends) for the original
    notes: list[str] = field(default_factory=list)


class Exhausted(Exception):  # control flow, not an error a user sees
    """The request or time bound was reached."""


class Flaky(Exception):
    """The original no longer fails consistently."""

    def __init__(self, same: int, sends: int) -> None:
        super().__init__(f"failed the same way {same} of {sends} times")
        self.same = same
        self.sends = sends


class _TooNoisy(Exception):
    """Too many candidates answered inconsistently to go on."""


Attempt = Callable[[bytes, float], Verdict]


class Shrinker:
    """Minimises a body. ``attempt(body, seconds_left)`` sends it once and judges the answer;
    it may raise Exhausted (when ``seconds_left`` cut a request short). ``valid(body)`` says
    whether a candidate may be sent at all."""

    def __init__(
        self,
        attempt: Attempt,
        *,
        valid: Callable[[bytes], bool],
        limits: Limits = Limits(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attempt = attempt
        self._valid = valid
        self.limits = limits
        self._clock = clock
        self._cache: dict[bytes, bool] = {}
        self.requests = 0
        self.inconsistent = 0
        self._started = clock()
        self._original = b""
        self.best = b""

    # ---------------------------------------------------------------- sending
    def _send(self, body: bytes) -> Verdict:
        left = self.limits.max_seconds - (self._clock() - self._started)
        if self.requests >= self.limits.max_requests:
            raise Exhausted(f"stopped at the request bound ({self.limits.max_requests})")
        if left <= 0:
            raise Exhausted(f"stopped at the time bound ({self.limits.max_seconds:g}s)")
        self.requests += 1
        return self._attempt(body, left)

    def interesting(self, body: bytes) -> bool:
        """Does ``body`` fail the same way on every try (and is it a valid candidate)?"""
        known = self._cache.get(body)
        if known is not None:
            return known
        if not self._valid(body):
            self._cache[body] = False
            return False
        verdicts = []
        for _ in range(self.limits.tries):
            verdicts.append(self._send(body))
            if verdicts[-1] is not Verdict.SAME:
                break
        same = all(v is Verdict.SAME for v in verdicts)
        if not same and Verdict.SAME in verdicts:
            self._inconsistent()
        self._cache[body] = same
        if same and len(body) <= len(self.best):
            self.best = body
        return same

    def _inconsistent(self) -> None:
        """A candidate failed some tries but not all: is the original still consistent?"""
        self.inconsistent += 1
        again = [self._send(self._original) for _ in range(self.limits.tries)]
        same = sum(v is Verdict.SAME for v in again)
        if same < len(again):
            raise Flaky(same, len(again))
        if self.inconsistent >= self.limits.max_flaky:
            raise _TooNoisy()

    # ---------------------------------------------------------------- the run
    def run(self, body: bytes) -> ShrinkResult:
        self._original = self.best = body
        result = ShrinkResult(Status.SHRUNK, body, body)
        try:
            verdicts = [self._send(body) for _ in range(self.limits.confirm)]
        except Exhausted as exc:
            result.status = Status.NOT_REPRODUCED
            result.notes.append(f"{exc} before the failure could be confirmed")
            return self._finish(result)
        same = sum(v is Verdict.SAME for v in verdicts)
        result.confirmed = (same, len(verdicts))
        if same == 0:
            result.status = Status.NOT_REPRODUCED
            return self._finish(result)
        if same < len(verdicts):
            result.status = Status.FLAKY
            return self._finish(result)
        self._cache[body] = True
        try:
            self._minimise(body)
        except Exhausted as exc:
            result.complete = False
            result.notes.append(str(exc))
        except _TooNoisy:
            result.complete = False
            result.notes.append(
                f"stopped after {self.inconsistent} candidates failed only some of their "
                f"{self.limits.tries} tries; the result may not be minimal"
            )
        except Flaky as exc:
            result.status = Status.FLAKY
            result.confirmed = (exc.same, exc.sends)
            result.notes.append(
                "a candidate failed only some of its tries, and the original then " + str(exc)
            )
            self.best = body
        result.body = self.best
        return self._finish(result)

    def _finish(self, result: ShrinkResult) -> ShrinkResult:
        result.requests = self.requests
        result.seconds = self._clock() - self._started
        return result

    def _minimise(self, body: bytes) -> None:
        document = _json_document(body)
        if document is not None:
            serialise = _serialiser_for(document, body)
            if serialise is None:
                candidate = _dumps(document)
                if self.interesting(candidate):
                    serialise = _dumps
            if serialise is not None:
                self._shrink_json(document, serialise)
                return
        self._shrink_bytes(self.best)

    # ---------------------------------------------------------------- JSON
    def _shrink_json(self, document: Any, serialise: Callable[[Any], bytes]) -> None:
        def test(candidate: Any) -> bool:
            return self.interesting(serialise(candidate))

        for _ in range(MAX_PASSES):
            before = serialise(document)
            document = self._node(document, (), test)
            if serialise(document) == before:
                return

    def _node(self, document: Any, path: Path_, test: Callable[[Any], bool]) -> Any:
        value = _get(document, path)
        if isinstance(value, dict):
            keys = ddmin(list(value), lambda ks: test(_set(document, path, _pick(value, ks))))
            document = _set(document, path, _pick(value, keys))
            for key in keys:
                document = self._node(document, (*path, key), test)
        elif isinstance(value, list):
            kept = ddmin(
                list(range(len(value))),
                lambda ix: test(_set(document, path, [value[i] for i in ix])),
            )
            document = _set(document, path, [value[i] for i in kept])
            for index in range(len(kept)):
                document = self._node(document, (*path, index), test)
        elif isinstance(value, str):
            text = _shrink_text(value, lambda s: test(_set(document, path, s)))
            document = _set(document, path, text)
        elif isinstance(value, bool):
            if value and test(_set(document, path, False)):
                document = _set(document, path, False)
        elif isinstance(value, int | float):
            for simpler in _simpler_numbers(value):
                if test(_set(document, path, simpler)):
                    document = _set(document, path, simpler)
                    break
        return document

    # ---------------------------------------------------------------- bytes
    def _shrink_bytes(self, body: bytes) -> None:
        tokens = _BYTE_TOKENS.findall(body)
        kept = ddmin(tokens, lambda ts: self.interesting(b"".join(ts)))
        joined = b"".join(kept)
        single = [bytes([b]) for b in joined]
        ddmin(single, lambda bs: self.interesting(b"".join(bs)))


def ddmin(items: Sequence[T], test: Callable[[list[T]], bool]) -> list[T]:
    """Delta debugging (Zeller): a small sublist of ``items`` for which ``test`` holds.

    ``test(list(items))`` is assumed to hold. The empty list is tried first; then subsets
    and complements of ever finer partitions, until removing any single item fails.
    """
    current = list(items)
    if not current:
        return current
    if test([]):
        return []
    parts = 2
    while len(current) >= 2:
        size = math.ceil(len(current) / parts)
        chunks = [current[i : i + size] for i in range(0, len(current), size)]
        for chunk in chunks:
            if len(chunks) > 1 and test(chunk):
                current, parts = chunk, 2
                break
        else:
            for index in range(len(chunks)):
                complement = [x for j, c in enumerate(chunks) if j != index for x in c]
                if len(chunks) > 2 and test(complement):
                    current, parts = complement, max(parts - 1, 2)
                    break
            else:
                if parts >= len(current):
                    break
                parts = min(len(current), parts * 2)
    return current


def _shrink_text(text: str, test: Callable[[str], bool]) -> str:
    if not text or test(""):
        return ""
    tokens = ddmin(_TEXT_TOKENS.findall(text), lambda ts: test("".join(ts)))
    chars = ddmin(list("".join(tokens)), lambda cs: test("".join(cs)))
    return "".join(chars)


def _simpler_numbers(value: int | float) -> list[int | float]:
    """Numbers to try instead of ``value``, simplest first: 0, 1, then its integer part."""
    integer = int(value) if isinstance(value, float) and math.isfinite(value) else None
    out: list[int | float] = []
    for simpler in (0, 1, integer):
        if simpler is None or simpler in out:
            continue
        smaller = not math.isfinite(value) or abs(simpler) < abs(value)
        if smaller or (isinstance(value, float) and simpler == value):
            out.append(simpler)
    return out


def _pick(mapping: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {key: mapping[key] for key in keys}


def _get(document: Any, path: Path_) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: Path_, value: Any) -> Any:
    """A copy of ``document`` with ``value`` at ``path``; untouched branches are shared."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        copy: Any = dict(document)
    else:
        copy = list(document)
    copy[head] = _set(document[head], rest, value)
    return copy


def _json_document(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def _dumps(document: Any) -> bytes:
    """As the adapters serialise (stress.targets.base.dumps): UTF-8, NaN as a bare token."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only the ASCII escapes can carry them
        return json.dumps(document, ensure_ascii=True, allow_nan=True).encode("ascii")


def _serialisers() -> list[Callable[[Any], bytes]]:
    def ascii_(document: Any) -> bytes:
        return json.dumps(document, ensure_ascii=True, allow_nan=True).encode("ascii")

    def compact(document: Any) -> bytes:
        text = json.dumps(document, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
        return text.encode("utf-8", "surrogatepass")

    return [_dumps, ascii_, compact]


def _serialiser_for(document: Any, body: bytes) -> Callable[[Any], bytes] | None:
    """The serialiser that reproduces ``body`` exactly from its parse, if one does."""
    for serialise in _serialisers():
        try:
            if serialise(document) == body:
                return serialise
        except UnicodeEncodeError:
            continue
    return None


# -------------------------------------------------------------------- a stored case


def judge(observation: Observation, wanted: Signature) -> Verdict:
    """SAME when the answer fails as ``wanted`` says; PASS when no error check fails."""
    if observation.matches(wanted):
        return Verdict.SAME
    if observation.errors or observation.error_kind in ("timeout", *CONNECTION_KINDS):
        return Verdict.OTHER
    return Verdict.PASS


def shrink(
    run_dir: Path,
    input_id: str,
    *,
    target: str | None = None,
    limits: Limits = Limits(),
) -> dict[str, Any]:
    """Shrink the stored failure ``input_id`` of ``run_dir`` against the live target.

    Writes and returns the shrunk case (shrunk/<input_id>.json): the stored failure with the
    minimal body and a ``shrink`` object (status, sizes, requests, seconds, notes).
    """
    case = find_case(run_dir, input_id)
    scenario = from_path(layout.scenario(run_dir))
    request = stored_request(case, scenario)
    wanted = signature(case)
    protocol = scenario.target.protocol.value
    # A chunked body is shrunk as the data it carries, each candidate framed as it was.
    frame = _framing_of(request.headers, request.body)
    data = framing.dechunk(request.body) if frame is not _unframed else request.body
    intended = violations(protocol, data)
    answers: list[Observation] = []
    # Judged with the input the run sent, as the run judged it (stress.checks.judge).
    item = case_input(case, corpus_inputs(run_dir, [input_id]))
    with open_sender(run_dir, scenario, target) as sender:

        def attempt(body: bytes, seconds_left: float) -> Verdict:
            timeout = min(sender.timeout, seconds_left)
            candidate = dataclasses.replace(request, body=frame(body))
            observation = sender.send(candidate, case["expect"], timeout=timeout, item=item)
            if observation.error_kind in ("timeout", "hang") and timeout < sender.timeout:
                raise Exhausted(f"stopped at the time bound ({limits.max_seconds:g}s)")
            answers.append(observation)
            return judge(observation, wanted)

        shrinker = Shrinker(
            attempt, valid=lambda body: violations(protocol, body) == intended, limits=limits
        )
        result = shrinker.run(data)
    result.original, result.body = request.body, frame(result.body)
    document = shrunk_case(case, result, wanted=wanted, intended=intended, protocol=protocol)
    if answers:  # what the first confirming send found, as the run's judgement names it
        document["shrink"]["confirmed_with"] = sorted(map(list, answers[0].pairs()))
    if result.status is Status.NOT_REPRODUCED and answers:
        document["shrink"]["notes"].append(f"now: {answers[-1].describe()}")
    path = shrunk_path(run_dir, input_id)
    path.parent.mkdir(exist_ok=True)
    write_text(path, json.dumps(document, ensure_ascii=True, indent=2) + "\n")
    return document


def _unframed(body: bytes) -> bytes:
    return body


def _framing_of(headers: dict[str, str], body: bytes) -> Callable[[bytes], bytes]:
    """How a candidate body goes on the wire: as it is, or chunked like the stored one
    (stress.framing.reframer; a chunked body it cannot frame again is shrunk as bytes)."""
    if not any(name.lower() == "transfer-encoding" for name in headers):
        return _unframed
    return framing.reframer(body) or _unframed


def shrunk_case(
    case: dict[str, Any],
    result: ShrinkResult,
    *,
    wanted: Signature,
    intended: frozenset[str],
    protocol: str,
) -> dict[str, Any]:
    """The stored case with the minimal body and what shrinking found out."""
    stored = {k: v for k, v in case["request"].items() if k not in ("body", "body_b64")}
    framed = _framing_of(case["request"].get("headers") or {}, result.body) is not _unframed
    now = violations(protocol, framing.dechunk(result.body) if framed else result.body)
    notes = list(result.notes)
    if case.get("expect") == "reject" and not intended:
        notes.append(
            f"no validator knows protocol {protocol!r}: whether the shrunk input is still "
            f"malformed the way its family intends was not checked"
        )
    return {
        **case,
        "request": {**stored, **body_fields(result.body)},
        "shrink": {
            "status": result.status.value,
            "complete": result.complete,
            "signature": wanted.describe(),
            "original_bytes": len(result.original),
            "shrunk_bytes": len(result.body),
            "confirmed": f"{result.confirmed[0]} of {result.confirmed[1]}",
            "requests": result.requests,
            "seconds": round(result.seconds, 3),
            # The re-check: a malformed input must still be malformed the way it was made.
            "violations": {"original": sorted(intended), "shrunk": sorted(now)},
            "still_as_intended": now == intended,
            "notes": notes,
        },
    }
