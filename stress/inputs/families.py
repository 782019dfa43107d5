"""Input families: named generators of inputs, each with the behaviour a healthy endpoint shows.

A family draws one payload from a ``Draw`` (a seeded source of Faker data and Hypothesis
examples), so the same seed, family and index give the same payload in any process. Payload
kinds, which the target adapters turn into request bytes:

    prompt    {"messages": [{"role", "content"}, ...]}       chat-style protocols
    rows      {"rows": [{column: value, ...}, ...]}           tabular protocols
    mutation  {"op", "field", "base": <prompt or rows>}       a valid body broken on purpose
    raw       {"body_b64", "content_type", "base": ...}       bytes sent as they are
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from faker import Faker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class Expect(StrEnum):
    """What a healthy endpoint does with an input."""

    ACCEPT = "accept"  # 2xx and a valid answer
    REJECT = "reject"  # a clean 4xx, fast, never a 5xx or a hang


class Kind(StrEnum):
    PROMPT = "prompt"
    ROWS = "rows"
    MUTATION = "mutation"
    RAW = "raw"


# http-json is in both: its request template decides whether it takes prompts or rows.
CHAT = ("openai-chat", "openai-completions", "openai-embeddings", "http-json")
TABULAR = ("mlflow", "kserve-v2", "kserve-v1", "http-json")
ALL_PROTOCOLS = tuple(dict.fromkeys(CHAT + TABULAR))

# Locales the realistic families draw from: the languages real users write in.
LOCALES = ("en_US", "de_DE", "fr_FR", "ja_JP", "zh_CN", "ar_AA", "hi_IN", "ru_RU")

# Hypothesis needs a buffer big enough that drawing rarely runs out of bytes.
_BUFFER_BYTES = 8192


class Draw:
    """A seeded source of randomness for one input: Python random, Faker and Hypothesis."""

    def __init__(
        self,
        seed: int,
        *,
        faker: Faker,
        protocol: str,
        features: dict[str, tuple[float, float]],
    ) -> None:
        self.seed = seed
        self.random = random.Random(seed)
        self._faker = faker
        self.protocol = protocol
        self.features = features

    def faker(self, locale: str | None = None) -> Any:
        self._faker.seed_instance(self.random.getrandbits(64))
        return self._faker[locale or "en_US"]

    def example(self, strategy: st.SearchStrategy[Any]) -> Any:
        """One example of ``strategy``, decided entirely by this draw's seed."""
        found: list[Any] = []

        @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def capture(value: Any) -> None:
            found.append(value)

        for _ in range(20):
            capture.hypothesis.fuzz_one_input(self.random.randbytes(_BUFFER_BYTES))  # type: ignore[attr-defined]
            if found:
                return found[0]
        raise RuntimeError(f"strategy {strategy!r} could not draw an example")  # pragma: no cover


@dataclass(frozen=True)
class Family:
    """A named input generator. ``generate`` returns a JSON-serialisable payload."""

    name: str
    description: str
    expect: Expect
    kind: Kind
    protocols: tuple[str, ...]
    generate: Callable[[Draw], dict[str, Any]]

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


# ---------------------------------------------------------------- realistic
_ASKS = (
    "Can you explain {topic} in simple terms?",
    "Write a short note to {name} about {topic}.",
    "What should I pack for a trip to {city}?",
    "Summarise this for me: {text}",
    "My order {code} has not arrived. {text}",
    "How do I cook {dish} for {n} people?",
    "Give me three tips about {topic}.",
    "Translate into English: {text}",
    "Is it going to rain in {city} this weekend?",
    "{text} What do you think?",
)
_TOPICS = (
    "model serving",
    "the weather",
    "saving money",
    "learning to cook",
    "train travel",
    "password security",
    "time zones",
    "composting",
    "job interviews",
    "sleep",
)
_DISHES = ("a risotto", "pancakes", "a lentil soup", "fried rice", "a vegetable curry")


def _prompt_text(draw: Draw, locale: str) -> str:
    fake = draw.faker(locale)
    template = draw.random.choice(_ASKS)
    return template.format(
        topic=draw.random.choice(_TOPICS),
        name=fake.first_name(),
        city=fake.city(),
        text=fake.paragraph(nb_sentences=draw.random.randint(1, 4)),
        code=fake.bothify("??-#####").upper(),
        dish=draw.random.choice(_DISHES),
        n=draw.random.randint(2, 8),
    )


def _realistic_prompt(draw: Draw) -> dict[str, Any]:
    # Most real traffic is English; the rest spread over the other locales.
    locale = "en_US" if draw.random.random() < 0.5 else draw.random.choice(LOCALES)
    messages = [{"role": "user", "content": _prompt_text(draw, locale)}]
    if draw.random.random() < 0.25:  # multi-turn chats
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": _prompt_text(draw, locale)},
            {"role": "assistant", "content": draw.faker(locale).sentence()},
            *messages,
        ]
    return {"messages": messages, "locale": locale}


def _row(draw: Draw) -> dict[str, float]:
    return {
        column: round(draw.random.uniform(low, high), 2)
        for column, (low, high) in draw.features.items()
    }


def _realistic_rows(draw: Draw) -> dict[str, Any]:
    size = 1 if draw.random.random() < 0.7 else draw.random.randint(2, 16)
    return {"rows": [_row(draw) for _ in range(size)]}


# ---------------------------------------------------------------- unicode
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\x7f"


def _insert_chars(draw: Draw, alphabet: str) -> dict[str, Any]:
    base = _realistic_prompt(draw)
    text = base["messages"][-1]["content"]
    inserts = draw.example(
        st.lists(
            st.tuples(st.integers(0, len(text)), st.text(alphabet, min_size=1, max_size=3)),
            min_size=1,
            max_size=8,
        )
    )
    for position, chars in sorted(inserts, reverse=True):
        text = text[:position] + chars + text[position:]
    base["messages"][-1]["content"] = text
    return base


def _arbitrary_unicode(draw: Draw) -> dict[str, Any]:
    text = draw.example(st.text(min_size=1, max_size=400))
    return {"messages": [{"role": "user", "content": text}]}


# ---------------------------------------------------------------- size
def _empty_prompt(draw: Draw) -> dict[str, Any]:
    content = draw.random.choice(("", " ", "\n", "\t \n  "))
    return {"messages": [{"role": "user", "content": content}]}


def _long_prompt(draw: Draw) -> dict[str, Any]:
    fake = draw.faker("en_US")
    target = draw.random.randint(25_000, 120_000)
    parts: list[str] = []
    size = 0
    while size < target:
        paragraph = fake.paragraph(nb_sentences=8)
        parts.append(paragraph)
        size += len(paragraph) + 1
    return {"messages": [{"role": "user", "content": "\n".join(parts)[:target]}]}


# ---------------------------------------------------------------- numbers
_NON_FINITE = (math.nan, math.inf, -math.inf)


def _non_finite_rows(draw: Draw) -> dict[str, Any]:
    rows = [_row(draw) for _ in range(draw.random.randint(1, 4))]
    row = draw.random.choice(rows)
    column = draw.random.choice(sorted(row))
    row[column] = draw.random.choice(_NON_FINITE)
    return {"rows": rows}


# ---------------------------------------------------------------- structure
def _valid_base(draw: Draw) -> dict[str, Any]:
    """A realistic valid payload for the protocol being generated for."""
    # http-json takes rows only when its template does, which the declared features show.
    tabular = draw.protocol in TABULAR and (draw.protocol != "http-json" or bool(draw.features))
    return _realistic_rows(draw) if tabular else _realistic_prompt(draw)


def _mutation(op: str) -> Callable[[Draw], dict[str, Any]]:
    def generate(draw: Draw) -> dict[str, Any]:
        # The adapter knows the protocol's fields; the draw fixes which one (by index).
        wrong_values = st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**70), 2**70),
            st.text(max_size=20),
            st.lists(st.integers(), max_size=3),
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
        )
        return {
            "op": op,
            "pick": draw.random.randrange(1 << 16),
            "wrong_value": draw.example(wrong_values),
            "base": _valid_base(draw),
        }

    return generate


# ---------------------------------------------------------------- encoding
def invalid_utf8(rng: random.Random, body: bytes) -> bytes:
    """Insert bytes that are never valid UTF-8 (lone continuation bytes, 0xC0/0xC1/0xFE/0xFF)."""
    out = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(out) + 1)
        out[position:position] = bytes([rng.choice((0x80, 0xBF, 0xC0, 0xC1, 0xFE, 0xFF))])
    return bytes(out)


def truncated(rng: random.Random, body: bytes) -> bytes:
    """Cut a JSON body short, as a dropped connection or a buggy client would."""
    return body[: rng.randrange(1, max(2, len(body) - 1))]


MANGLERS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "invalid_utf8": invalid_utf8,
    "truncated": truncated,
}


def _raw(mangler: str) -> Callable[[Draw], dict[str, Any]]:
    def generate(draw: Draw) -> dict[str, Any]:
        return {
            "mangle": mangler,
            "mangle_seed": draw.random.randrange(1 << 30),
            "base": _valid_base(draw),
        }

    return generate


def catalog() -> dict[str, Family]:
    """Every built-in family by name. A new dict each call: callers may filter it freely."""
    families = [
        Family(
            "realistic.chat_prompt",
            "Faker prompts in eight locales, some multi-turn",
            Expect.ACCEPT,
            Kind.PROMPT,
            CHAT,
            _realistic_prompt,
        ),
        Family(
            "realistic.tabular_rows",
            "rows drawn from the declared feature ranges",
            Expect.ACCEPT,
            Kind.ROWS,
            TABULAR,
            _realistic_rows,
        ),
        Family(
            "unicode.zero_width",
            "a realistic prompt with zero-width characters inserted",
            Expect.ACCEPT,
            Kind.PROMPT,
            CHAT,
            lambda d: _insert_chars(d, _ZERO_WIDTH),
        ),
        Family(
            "unicode.control_chars",
            "a realistic prompt with C0 controls and NUL inserted",
            Expect.ACCEPT,
            Kind.PROMPT,
            CHAT,
            lambda d: _insert_chars(d, _CONTROLS),
        ),
        Family(
            "unicode.arbitrary",
            "any Unicode text Hypothesis can draw, all planes",
            Expect.ACCEPT,
            Kind.PROMPT,
            CHAT,
            _arbitrary_unicode,
        ),
        Family(
            "size.empty_prompt",
            "an empty or whitespace-only user message",
            Expect.ACCEPT,
            Kind.PROMPT,
            CHAT,
            _empty_prompt,
        ),
        Family(
            "size.long_prompt",
            "a 25k-120k character prompt",
            Expect.ACCEPT,
            Kind.PROMPT,
            CHAT,
            _long_prompt,
        ),
        Family(
            "numbers.non_finite",
            "a row with NaN or Infinity (invalid JSON tokens)",
            Expect.REJECT,
            Kind.ROWS,
            TABULAR,
            _non_finite_rows,
        ),
        Family(
            "structure.missing_field",
            "a valid request with one required field removed",
            Expect.REJECT,
            Kind.MUTATION,
            ALL_PROTOCOLS,
            _mutation("missing_field"),
        ),
        Family(
            "structure.wrong_type",
            "a valid request with one field of the wrong type",
            Expect.REJECT,
            Kind.MUTATION,
            ALL_PROTOCOLS,
            _mutation("wrong_type"),
        ),
        Family(
            "encoding.invalid_utf8",
            "a valid JSON body with invalid UTF-8 bytes inserted",
            Expect.REJECT,
            Kind.RAW,
            ALL_PROTOCOLS,
            _raw("invalid_utf8"),
        ),
        Family(
            "encoding.truncated_json",
            "a valid JSON body cut short",
            Expect.REJECT,
            Kind.RAW,
            ALL_PROTOCOLS,
            _raw("truncated"),
        ),
    ]
    return {family.name: family for family in families}
