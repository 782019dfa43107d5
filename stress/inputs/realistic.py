"""Realistic inputs: what real users send, in eight locales, at realistic lengths; tabular rows
from the declared feature ranges with the correlations real measurements have."""

from __future__ import annotations

import copy
import math
import random
from typing import Any

from stress.inputs import tasks
from stress.inputs.family import (
    ALL_PROTOCOLS,
    CHAT,
    LOCALES,
    TABULAR,
    Context,
    Draw,
    Expect,
    Family,
    Kind,
)
from stress.inputs.vocab import Prompt, ask, long_text, pick_locale, vocabulary

SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a customer support agent for an online shop. Be concise and polite.",
    "You are a travel assistant. Answer in the language of the user.",
    "You answer questions about our product documentation only.",
)

# One latent factor shared by the columns of a row: real features move together (taller
# flowers have longer petals, bigger flats cost more). 0.7 is a strong but not perfect tie.
CORRELATION = 0.7


def user(content: str) -> dict[str, str]:
    return {"role": "user", "content": content}


def within_limit(draw: Draw, text: str) -> str:
    """``text`` cut to the declared limits.max_prompt_chars: valid inputs stay valid."""
    return text[: draw.context.limits.max_prompt_chars]


def logged(draw: Draw) -> dict[str, Any] | None:
    """A copy of one logged request's payload, chosen by the draw (None: no log given)."""
    if not draw.context.logged:
        return None
    return copy.deepcopy(dict(draw.random.choice(draw.context.logged)["payload"]))


def prompt_payload(draw: Draw, *, locale: str | None = None) -> tuple[dict[str, Any], Prompt]:
    """A realistic request, with the Prompt it came from: a logged one when the scenario
    gives a log (and no ``locale`` is asked for), else one Faker message."""
    seed = logged(draw) if locale is None else None
    if seed is not None and "messages" in seed:
        # Logged text has no known language: the families that add text add English.
        text = str(seed["messages"][-1]["content"])
        return {**seed, "locale": "en_US"}, Prompt("{text}", {"text": text})
    chosen = locale or pick_locale(draw.random)
    prompt = ask(draw.random, chosen)
    return {"messages": [user(prompt.text)], "locale": chosen}, prompt


def chat_prompt(draw: Draw) -> dict[str, Any]:
    payload, _ = prompt_payload(draw)
    if draw.random.random() < 0.25:  # some traffic is multi-turn
        return conversation(draw, turns=2, locale=payload["locale"])
    return payload


def conversation(draw: Draw, *, turns: int, locale: str) -> dict[str, Any]:
    rng = draw.random
    words = vocabulary(locale)
    messages = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}]
    for _ in range(turns - 1):
        messages.append(user(ask(rng, locale).text))
        messages.append({"role": "assistant", "content": words.paragraph(rng, max_size=3)})
    messages.append(user(ask(rng, locale).text))
    return {"messages": messages, "locale": locale}


def row(draw: Draw, rng: random.Random | None = None) -> dict[str, float]:
    """One row inside the declared ranges, centre-heavy, columns tied by one latent factor."""
    rng = rng or draw.random
    shared = rng.gauss(0, 1)
    out = {}
    for column, (low, high) in draw.features.items():
        own = rng.gauss(0, 1)
        z = CORRELATION * shared + math.sqrt(1 - CORRELATION**2) * own
        # ±3 sigma spans the range; the rare tail is clipped to the declared bounds.
        value = (low + high) / 2 + z * (high - low) / 6
        out[column] = round(min(high, max(low, value)), 2)
    return out


def rows(draw: Draw, size: int) -> dict[str, Any]:
    """``size`` rows; big batches cycle through 64 drawn rows (the server's cost is the same,
    the generator's is not)."""
    drawn = [row(draw) for _ in range(min(size, 64))]
    return {"rows": [drawn[i % 64] for i in range(size)] if size > 64 else drawn}


def valid(draw: Draw) -> dict[str, Any]:
    """A realistic valid payload for the protocol being generated for (a logged one when the
    scenario gives a log)."""
    seed = logged(draw)
    if seed is not None:
        return seed
    if draw.context.tabular:
        return rows(draw, 1)
    payload, _ = prompt_payload(draw)
    return payload


def _tabular_rows(draw: Draw) -> dict[str, Any]:
    size = 1 if draw.random.random() < 0.7 else draw.random.randint(2, 16)
    return rows(draw, size)


def _tabular_batch(draw: Draw) -> dict[str, Any]:
    # Batch sizes of real clients: mostly small, a long tail up to a few hundred rows.
    size = min(draw.context.limits.max_rows, max(2, int(draw.random.lognormvariate(2.5, 1.0))))
    return rows(draw, size)


def _persona(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    locale = pick_locale(rng)
    words = vocabulary(locale)
    intro = (
        f"I'm {words.name(rng)}, {rng.choice(words.jobs)} at {rng.choice(words.companies)} "
        f"in {rng.choice(words.cities)}."
    )
    return {"messages": [user(f"{intro} {ask(rng, locale).text}")], "locale": locale}


def _multi_turn(draw: Draw) -> dict[str, Any]:
    locale = pick_locale(draw.random)
    return conversation(draw, turns=draw.random.randint(3, 8), locale=locale)


def _locale_text(draw: Draw) -> dict[str, Any]:
    # Every locale equally often, the whole message in its own script.
    locale = draw.random.choice(LOCALES)
    payload, _ = prompt_payload(draw, locale=locale)
    return payload


def _support_ticket(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    locale = rng.choice(("en_US", "de_DE", "fr_FR", "ru_RU"))
    words = vocabulary(locale)
    text = (
        f"Hello, this is {words.name(rng)} ({rng.choice(words.emails)}, "
        f"{rng.choice(words.phones)}). My parcel for {rng.choice(words.addresses)} "
        f"was due on {rng.randint(1, 28)}/{rng.randint(1, 12)} and never came. "
        f"{words.paragraph(rng, max_size=3)} Order number: {ask(rng, locale).slots['code']}."
    )
    return {"messages": [user(text)], "locale": locale}


def _long_document(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    locale = pick_locale(rng)
    request = rng.choice(("Summarise this document:", "What are the key points here?"))
    # Documents people paste: log-normal, median ~3,000 characters, at most 20,000 and
    # never over the declared limit (that is size.over_limit's job).
    room = draw.context.limits.max_prompt_chars - len(request) - 2
    size = min(20_000, room, max(500, int(rng.lognormvariate(8.0, 0.6))))
    return {"messages": [user(f"{request}\n\n{long_text(rng, locale, size)}")], "locale": locale}


_CODE = (
    "def mean(xs):\n    return sum(xs) / len(xs)\n\nprint(mean([]))",
    "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 1;",
    '{"user": {"id": 7, "tags": ["a", "b"]}, "active": true}',
    "for (let i = 0; i <= arr.length; i++) { total += arr[i]; }",
    "#!/bin/sh\nset -eu\nfind . -name '*.log' -mtime +7 -delete",
)


def _code_question(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    question = rng.choice(
        ("Why does this fail?", "Can you review this?", "What does this do?", "Make this faster:")
    )
    return {"messages": [user(f"{question}\n\n```\n{rng.choice(_CODE)}\n```")], "locale": "en_US"}


def _logged(draw: Draw) -> dict[str, Any]:
    # In log order, so a corpus with as many of these as logged requests sends each once.
    seeds = draw.context.logged
    if not seeds:
        raise ValueError("no inputs.from_log in the scenario")
    seed = seeds[draw.index % len(seeds)]
    return {**copy.deepcopy(dict(seed["payload"])), "log_line": seed["line"]}


def _task_text(draw: Draw) -> dict[str, Any]:
    task = draw.context.task
    if task not in tasks.TEXT_TASKS:
        raise ValueError("no classification or embedding inputs.task in the scenario")
    seed = tasks.labelled(draw.random, task)
    text = within_limit(draw, seed.text)
    return {"messages": [user(text)], "locale": tasks.LOCALE, "task_label": seed.label}


def _needs_task(context: Context) -> str | None:
    if context.task in tasks.TEXT_TASKS:
        return None
    return "it sends the texts of a classification or embedding inputs.task, and none is set"


def _needs_log(context: Context) -> str | None:
    if context.logged:
        return None
    return "it sends logged requests and the scenario has no inputs.from_log"


def families() -> list[Family]:
    accept = Expect.ACCEPT
    return [
        Family(
            "realistic.logged",
            "the logged requests of inputs.from_log, scrubbed of personal data, in log order",
            accept,
            Kind.PROMPT,
            ALL_PROTOCOLS,
            _logged,
            "production traffic as it is: the realistic baseline when a log is given",
            fits=_needs_log,
        ),
        Family(
            "realistic.task_text",
            "the texts of inputs.task: labelled reviews, intents or topics, or passages to embed",
            accept,
            Kind.PROMPT,
            CHAT,
            _task_text,
            "text the endpoint can actually classify: its labels are the baseline invariance "
            "compares against",
            fits=_needs_task,
        ),
        Family(
            "realistic.chat_prompt",
            "Faker prompts in eight locales, some multi-turn",
            accept,
            Kind.PROMPT,
            CHAT,
            chat_prompt,
            "the baseline: what most users send; any failure here is an outage",
        ),
        Family(
            "realistic.persona",
            "a Faker persona (name, job, company, city) introducing itself, then asking",
            accept,
            Kind.PROMPT,
            CHAT,
            _persona,
            "names and places from many cultures in one message, as real users write",
        ),
        Family(
            "realistic.multi_turn",
            "a 3-8 turn conversation with a system prompt and earlier answers",
            accept,
            Kind.PROMPT,
            CHAT,
            _multi_turn,
            "chat history grows the prompt and exercises role handling",
        ),
        Family(
            "realistic.locale_text",
            "a request written wholly in one of en, de, fr, ja, zh, ar, hi, ru",
            accept,
            Kind.PROMPT,
            CHAT,
            _locale_text,
            "tokenizers, filters and length limits often assume English",
        ),
        Family(
            "realistic.support_ticket",
            "a customer-support message with a name, e-mail, phone, address and order code",
            accept,
            Kind.PROMPT,
            CHAT,
            _support_ticket,
            "PII-shaped text is everyday traffic; filters must not choke on it",
        ),
        Family(
            "realistic.long_document",
            "a pasted document to summarise, log-normal length 500-20,000 characters",
            accept,
            Kind.PROMPT,
            CHAT,
            _long_document,
            "realistic long prompts: latency and memory grow with prompt length",
        ),
        Family(
            "realistic.code_question",
            "a question about a code snippet in a fenced block",
            accept,
            Kind.PROMPT,
            CHAT,
            _code_question,
            "braces, quotes and backticks in content test escaping end to end",
        ),
        Family(
            "realistic.tabular_rows",
            "1-16 rows from the declared feature ranges, correlated columns",
            accept,
            Kind.ROWS,
            TABULAR,
            _tabular_rows,
            "the baseline of a tabular endpoint",
        ),
        Family(
            "realistic.tabular_batch",
            "a batch of correlated rows, log-normal size up to limits.max_rows",
            accept,
            Kind.ROWS,
            TABULAR,
            _tabular_batch,
            "batch clients send many rows at once; latency must scale sanely",
        ),
    ]
