"""What an input family is: a named generator with an expectation, and the seeded Draw it uses.

A family turns one ``Draw`` into one JSON-serialisable payload. A Draw is decided entirely by
(corpus seed, family name, index) and the build ``Context`` (protocol, features, limits,
schema), so the same inputs come out in any process, on any machine with the same library
versions. Payload kinds, which the target adapters turn into request bytes:

    prompt    {"messages": [{"role", "content"}, ...]}       chat-style protocols
    rows      {"rows": [{column: value, ...}, ...]}           tabular protocols
    mutation  {"op", "pick", "wrong_value", "base"}           a valid body broken by the adapter
              (kept for older corpora: built-in families now damage fields as raw payloads)
    raw       {"base", ...damage}                             the valid body, damaged as bytes
              (see stress.inputs.damage for the damage a raw payload can describe)

Where the draws come from, fastest first: ``random`` (a ``random.Random`` per input) for
choices and cheap derivations; ``vocabulary(locale)`` (Faker data drawn once per process from
a fixed seed); ``example(strategy)`` (Hypothesis, about 4,000 draws/s) only where Hypothesis
adds something, such as arbitrary Unicode or a scenario's custom strategy.
"""

from __future__ import annotations

import _random
import functools
import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Hypothesis is imported where a family draws with it (Cache.draw)
    from hypothesis import strategies as st


class Expect(StrEnum):
    """What a healthy endpoint does with an input."""

    ACCEPT = "accept"  # 2xx and a valid answer
    REJECT = "reject"  # a clean 4xx, fast, never a 5xx or a hang
    RESIST = "resist"  # adversarial content: answered or refused, never obeyed nor leaked
    # Either is correct: a 2xx with a valid answer, or a clean refusal (a 4xx with a
    # machine-readable body, connection kept); never a 5xx, a hang, a reset or an unreadable
    # 4xx. For inputs a careful server may take or refuse: sizes over a limit it may not
    # have, whitespace-only text, well-formed parameters it does not support.
    ACCEPT_OR_REFUSE = "accept_or_refuse"


class Kind(StrEnum):
    PROMPT = "prompt"
    ROWS = "rows"
    MUTATION = "mutation"
    RAW = "raw"


# http-json is in both: its request template decides whether it takes prompts or rows.
CHAT = ("openai-chat", "openai-completions", "openai-embeddings", "http-json")
TABULAR = ("mlflow", "kserve-v2", "kserve-v1", "http-json")
ALL_PROTOCOLS = tuple(dict.fromkeys(CHAT + TABULAR))
# Protocols whose request JSON Schema stress knows (stress.inputs.schemas); schema-driven
# families need it, or the scenario's inputs.body_schema.
SCHEMA_PROTOCOLS = (
    "openai-chat",
    "openai-completions",
    "openai-embeddings",
    "mlflow",
    "kserve-v2",
    "kserve-v1",
)

# Locales the realistic families draw from: the languages real users write in.
LOCALES = ("en_US", "de_DE", "fr_FR", "ja_JP", "zh_CN", "ar_AA", "hi_IN", "ru_RU")

# Hypothesis needs a buffer big enough that drawing rarely runs out of bytes.
_BUFFER_BYTES = 8192


@dataclass(frozen=True)
class Limits:
    """The endpoint's declared limits; the size and numbers families probe them exactly."""

    max_prompt_chars: int = 32_000
    max_rows: int = 1_000
    max_tokens: int = 4_096


@dataclass(frozen=True)
class Context:
    """Everything a family may know about the target while generating (plain, picklable data)."""

    protocol: str
    seed: int = 0
    features: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    # The scenario's JSON Schema of the request body, if it gave one.
    schema: Mapping[str, Any] | None = None
    # The target's body layout where a protocol has several (mlflow: dataframe_split, ...).
    body_format: str | None = None
    # Scrubbed logged requests (stress.logs.seeds): {"payload", "line", "names"} each. When
    # present they are the realistic inputs and the seeds the other families vary.
    logged: tuple[Mapping[str, Any], ...] = ()
    # What the endpoint does with its inputs (inputs.task, stress.inputs.tasks): with a
    # classification or embedding task, the realistic and perturbation seeds are its texts.
    task: str | None = None

    @property
    def tabular(self) -> bool:
        # http-json takes rows when the scenario declares features, else prompts.
        return self.protocol in TABULAR and (self.protocol != "http-json" or bool(self.features))


def input_seed(seed: int, family: str, index: int) -> int:
    """The seed of one input; independent of every other input and of the process."""
    digest = hashlib.sha256(f"{seed}:{family}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


_RANDOM = random.Random
_NEW = random.Random.__new__
_SEED = _random.Random.seed


def seeded(seed: int) -> random.Random:
    """``random.Random(seed)`` for an int ``seed`` (the same state), without the Python-level
    ``__init__`` and ``seed`` calls around the C seeding: 3.6 instead of 4.2 µs, once or
    twice per input."""
    rng = _NEW(_RANDOM)
    _SEED(rng, seed)
    rng.gauss_next = None  # type: ignore[attr-defined]  # what Random.seed sets
    return rng


class Cache:
    """What one corpus build keeps between inputs, in one process: a wrapped Hypothesis test
    per strategy, and values derived from the Context (such as the schema's fields).

    Building a ``@given`` wrapper costs far more than drawing with it, so each strategy gets
    one for the life of this object.
    """

    def __init__(self) -> None:
        self._runners: dict[int, tuple[st.SearchStrategy[Any], Any, list[Any]]] = {}
        self._values: dict[str, Any] = {}

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._values:
            self._values[key] = make()
        return self._values[key]

    def draw(
        self, strategy: st.SearchStrategy[Any], rng: random.Random, *, bare: bool = False
    ) -> Any:
        """One example of ``strategy`` from ``rng``'s bytes, as a ``@given`` test run by
        ``fuzz_one_input`` draws it. ``bare``: for strategies of the package's own that need
        no test context (no ``st.data()``, ``note``, ``assume``), drawn straight from the
        same bytes, half the time of the test run and no runner to build (the same values:
        the given wrapper adds no draws of its own; a test holds the two equal)."""
        if bare:
            value = _bare_draw(strategy, rng)
            if value is not _NO_BARE:
                return value
        entry = self._runners.get(id(strategy))
        if entry is None:
            from hypothesis import HealthCheck, given, settings

            found: list[Any] = []

            @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
            @given(strategy)
            def capture(value: Any) -> None:
                found.append(value)

            # The strategy is kept in the entry so its id() cannot be reused while cached.
            entry = (strategy, capture.hypothesis.fuzz_one_input, found)  # type: ignore[attr-defined]
            self._runners[id(strategy)] = entry
        _, fuzz, found = entry
        for _ in range(20):
            found.clear()
            fuzz(rng.randbytes(_BUFFER_BYTES))
            if found:
                return found[0]
        raise RuntimeError(f"strategy {strategy!r} could not draw an example")  # pragma: no cover


_NO_BARE = object()


def _bare_draw(strategy: st.SearchStrategy[Any], rng: random.Random) -> Any:
    """``Cache.draw`` of ``strategy`` without the test around it: the same buffers of
    ``rng`` (one per try, at most 20), each read by the provider ``fuzz_one_input`` uses.
    _NO_BARE when this Hypothesis has not those internals (the test run is used then)."""
    parts = _bare_parts()
    if parts is None:  # pragma: no cover (another Hypothesis)
        return _NO_BARE
    conjecture_data, provider, retry = parts
    for _ in range(20):
        buffer = rng.randbytes(_BUFFER_BYTES)
        data = conjecture_data(random=None, provider=provider, provider_kw={"bytestring": buffer})
        try:
            return data.draw(strategy)
        except retry:
            continue
    raise RuntimeError(f"strategy {strategy!r} could not draw an example")  # pragma: no cover


@functools.cache
def _bare_parts() -> tuple[Any, Any, tuple[type[BaseException], ...]] | None:
    """What a bare draw uses of Hypothesis's internals, checked once (None: not there, or
    not as this was written for), before any buffer is drawn."""
    try:
        from hypothesis.errors import StopTest, UnsatisfiedAssumption
        from hypothesis.internal.conjecture.data import ConjectureData
        from hypothesis.internal.conjecture.providers import BytestringProvider

        ConjectureData(random=None, provider=BytestringProvider, provider_kw={"bytestring": b""})
    except (ImportError, TypeError):  # pragma: no cover (another Hypothesis)
        return None
    return ConjectureData, BytestringProvider, (StopTest, UnsatisfiedAssumption)


class Draw:
    """The seeded source of randomness for one input."""

    def __init__(self, context: Context, family: str, index: int, *, cache: Cache) -> None:
        self.context = context
        self.family = family
        self.index = index
        self.seed = input_seed(context.seed, family, index)
        self.random = seeded(self.seed)
        self.cache = cache

    @property
    def protocol(self) -> str:
        return self.context.protocol

    @property
    def features(self) -> Mapping[str, tuple[float, float]]:
        return self.context.features

    def example(self, strategy: st.SearchStrategy[Any], *, bare: bool = False) -> Any:
        """One example of ``strategy``, decided entirely by this draw's seed (``bare``: see
        Cache.draw)."""
        return self.cache.draw(strategy, self.random, bare=bare)

    def shared(self, key: str) -> random.Random:
        """A Random shared by every family at this index under ``key``: the perturbation
        families derive their variants from one seed input this way."""
        return seeded(input_seed(self.context.seed, key, self.index))

    def canary(self) -> str:
        """A token unique to this input that no model says unless it obeyed an injection."""
        word = self.random.choice(_CANARY_WORDS)
        return f"{word}-{self.random.getrandbits(32):08X}"


_CANARY_WORDS = ("ZEBRA", "MAGENTA", "QUOKKA", "OBSIDIAN", "PAPRIKA", "NEBULA", "TUNDRA")

Generator = Callable[[Draw], dict[str, Any]]


@dataclass(frozen=True)
class Family:
    """A named input generator. ``generate`` returns a JSON-serialisable payload.

    ``kind`` is the payload kind; a PROMPT family that also applies to a tabular protocol
    generates rows there (see ``kind_for``).
    """

    name: str
    description: str
    expect: Expect
    kind: Kind
    protocols: tuple[str, ...]
    generate: Generator
    # What it sends and why that matters, for `stress families` and docs/catalog.md.
    why: str = ""
    # Defined by a scenario (inputs.custom), not built in.
    custom: bool = False
    # Why the family cannot generate for a context (e.g. the schema has no number field),
    # or None when it can. None here: it always can.
    fits: Callable[[Context], str | None] | None = None

    def misfit(self, context: Context) -> str | None:
        if context.protocol == "http-json":  # its template takes either text or rows
            others = set(self.protocols) - {"http-json"}
            if context.tabular and others and not others & set(TABULAR):
                return "it sends prompts, and the http-json template takes table rows"
            if not context.tabular and others and not others & set(CHAT):
                return "it sends table rows, and the http-json template takes text"
        return None if self.fits is None else self.fits(context)

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    def kind_for(self, context: Context) -> Kind:
        """The kind of what it generates for ``context``: a PROMPT family makes rows for a
        target that takes rows (http-json only when its template does: ``context.tabular``)."""
        if self.kind is Kind.PROMPT and context.tabular:
            return Kind.ROWS
        return self.kind
