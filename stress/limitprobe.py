"""`stress init`'s limit probe: the server's prompt-length or batch-size limit, found by a
bounded search rather than guessed.

``probe_limits`` sends valid requests that grow (a prompt of N plain words, or a batch of N
copies of a valid row): first the largest size (``TOP_WORDS`` / ``TOP_ROWS``), then a
binary search between the largest size answered and the smallest refused, at most
``MAX_REQUESTS`` requests, each within ``REQUEST_TIMEOUT`` seconds (or the target's timeout
if shorter), all within ``TOTAL_SECONDS``. A refusal that names its limit
(stress.checks.limits) starts the search at that limit. A 5xx, a timeout or a dropped
connection ends the search: that is a finding for `stress run`, not a limit.

What it returns (``Found``) is written into the scenario by stress.scaffold: the limit the
server named (``target.limits``) and the largest size it answered (``inputs.limits``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from stress.checks import limits
from stress.inputs.corpus import Input
from stress.scenario import TABULAR_PROTOCOLS, Protocol, Scenario

MAX_REQUESTS = 12
REQUEST_TIMEOUT = 30.0
TOTAL_SECONDS = 90.0
# The largest sizes tried: about 160 KB of prompt, a batch of 4,096 rows.
TOP_WORDS = 32_768
TOP_ROWS = 4_096
# The search stops when the answered and refused sizes are this close (a fraction of the
# answered size).
PRECISION = 0.02
# Characters of realistic text per word of the probe prompt written as max_prompt_chars: a
# real tokenizer makes about one token of four characters of English, so this keeps the
# size families' "at the limit" prompt within a token limit the probe found in words.
CHARS_PER_WORD = 3
_WORD = "hello "
# The kinds of limit target.limits holds (stress.scenario.target.ServerLimits).
TARGET_KINDS = (
    limits.PROMPT_TOKENS,
    limits.OUTPUT_TOKENS,
    limits.PROMPT_CHARS,
    limits.BATCH,
    limits.BODY_BYTES,
)

# Whether ``size`` is answered (True), refused (False), or the server failed (None), and
# what the answer said: (status, body).
Sender = Callable[[int], tuple[int, bytes] | None]


@dataclass
class Found:
    """What the probe learned: which dimension (``"prompt words"`` or ``"rows"``), the
    largest size answered and the smallest refused, the limit a refusal named, the requests
    sent, and notes for the scenario's comments."""

    dimension: str
    answered: int | None = None
    refused: int | None = None
    named: limits.Limit | None = None
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def target_limits(self) -> dict[str, int]:
        """target.limits: the limit a refusal named (any kind target.limits has), else the
        largest size answered below a refusal (prompt words as a lower bound of tokens)."""
        if self.named is not None and self.named.value and self.named.kind in TARGET_KINDS:
            return {self.named.kind: self.named.value}
        if self.refused is None or not self.answered:
            return {}
        return {
            "prompt_tokens" if self.dimension == "prompt words" else "batch_size": self.answered
        }

    @property
    def prompt_tokens(self) -> int | None:
        """target.limits.prompt_tokens: the named limit, else the largest prompt answered
        below a refusal (in words, a lower bound of its tokens)."""
        if self.dimension != "prompt words":
            return None
        if self.named is not None and self.named.kind == limits.PROMPT_TOKENS:
            return self.named.value
        return self.answered if self.refused is not None else None

    @property
    def batch_size(self) -> int | None:
        if self.dimension != "rows":
            return None
        if self.named is not None and self.named.kind == limits.BATCH and self.named.value:
            return self.named.value
        return self.answered if self.refused is not None else None

    @property
    def max_prompt_chars(self) -> int | None:
        """inputs.limits.max_prompt_chars, when a refusal bounded the prompt."""
        if self.dimension != "prompt words" or self.refused is None or not self.answered:
            return None
        if self.named is not None and self.named.kind == limits.PROMPT_CHARS and self.named.value:
            return self.named.value  # a limit in characters: the size families sit on it
        return max(1, self.answered * CHARS_PER_WORD)

    @property
    def max_rows(self) -> int | None:
        if self.dimension != "rows" or self.refused is None or not self.answered:
            return None
        return self.answered


def search(
    send: Sender, top: int, dimension: str, *, clock: Callable[[], float] = time.monotonic
) -> Found:
    """The bounded search over sizes 1..``top`` with ``send`` (see the module doc)."""
    found = Found(dimension)
    began = clock()
    low, high = 0, None  # the largest size answered, the smallest refused
    guess = top
    while found.requests < MAX_REQUESTS and clock() - began < TOTAL_SECONDS:
        found.requests += 1
        reply = send(guess)
        if reply is None:
            found.notes.append(f"{guess:,} {dimension}: no answer; the search stopped there")
            break
        status, body = reply
        if status >= 500:
            found.notes.append(f"{guess:,} {dimension}: HTTP {status}; the search stopped there")
            break
        if 200 <= status < 300:
            low = guess
            named_at = _size_at(found.named, dimension) if found.named is not None else None
            if guess == named_at and high is not None:
                if high > guess + 1:
                    guess += 1  # the named limit answered: one more is the proof
                    continue
                break
        elif 400 <= status < 500:
            high = guess
            named = limits.parse(status, body)
            if named is not None and named.value is not None and found.named is None:
                found.named = named
                at = _size_at(named, dimension)
                if at is not None and low < at < high:
                    guess = at  # try the named limit itself next
                    continue
        else:
            found.notes.append(f"{guess:,} {dimension}: HTTP {status}; the search stopped there")
            break
        if high is None:
            break  # the largest size was answered: no limit up to it
        if high - low <= max(1, int(low * PRECISION)):
            break
        guess = (low + high) // 2
    found.answered = low or None
    found.refused = high
    if high is None and low:
        found.notes.append(f"{low:,} {dimension} answered: no limit found up to that size")
    return found


def _size_at(limit: limits.Limit, dimension: str) -> int | None:
    """The probe size at ``limit``: words for a limit in tokens or characters, rows for a
    batch size; None for a limit of another dimension."""
    if limit.value is None:
        return None
    if dimension == "rows":
        return limit.value if limit.kind == limits.BATCH else None
    if limit.kind == limits.PROMPT_TOKENS:
        return limit.value
    if limit.kind == limits.PROMPT_CHARS:
        return (limit.value + 1) // len(_WORD)  # N words of _WORD, stripped: 6N - 1 chars
    return None


def probe_limits(
    scenario: Scenario,
    item: Input,
    environ: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
) -> Found | None:
    """Probe the limit that applies to the scenario's protocol, from the valid input ``item``
    (the one the probe sent); None when neither a prompt nor rows can be grown."""
    from stress.targets import adapter_for

    target = scenario.target
    adapter = adapter_for(target, features=list(scenario.inputs.features), environ=environ)
    tabular = target.protocol in TABULAR_PROTOCOLS and target.protocol != Protocol.HTTP_JSON
    rows = item.payload.get("rows") if isinstance(item.payload, dict) else None
    if tabular or (isinstance(rows, list) and rows):
        if not isinstance(rows, list) or not rows:
            return None
        row = rows[0]

        def payload(size: int) -> dict[str, object]:
            return {"rows": [row] * size}

        kind, top, dimension = "rows", TOP_ROWS, "rows"
    elif isinstance(item.payload, dict) and "messages" in item.payload:

        def payload(size: int) -> dict[str, object]:
            return {"messages": [{"role": "user", "content": (_WORD * size).strip()}]}

        kind, top, dimension = "prompt", TOP_WORDS, "prompt words"
    else:
        return None
    timeout = min(target.timeout, REQUEST_TIMEOUT)
    with httpx.Client(base_url=target.url, timeout=timeout, transport=transport) as client:

        def send(size: int) -> tuple[int, bytes] | None:
            probe = Input(f"probe.limit-{size}", "probe.limit", "accept", kind, payload(size))
            request = adapter.request(probe)
            try:
                response = client.request(
                    request.method, request.path, content=request.body, headers=request.headers
                )
            except httpx.HTTPError:
                return None
            return response.status_code, response.content[:16384]

        return search(send, top, dimension)
