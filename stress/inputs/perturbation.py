"""Meaning-preserving variants of a seed input (CheckList-style invariance tests).

Every perturbation family at index ``i`` starts from the same seed input, drawn from
``Draw.shared("perturbation.seed")``, and ``perturbation.original`` sends that seed unchanged.
Each payload names its ``group`` (``perturbation-<i>``), the ``seed`` input's id and its
``variant``, so a later check can compare the answers within a group: a healthy endpoint
answers a typo'd or re-cased question the way it answers the original.

With a classification or embedding task (inputs.task, stress.inputs.tasks) the seed is a
labelled text of that task, and every variant keeps its label-relevant words: typos and
look-alike letters only outside them, a synonym of the same label, other names, places and
numbers. A variant that would change them is drawn again (at most ``TRIES`` times, then the
seed text is sent unchanged), so a careful classifier's label cannot move and a flip is the
endpoint's.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from stress.inputs import tasks
from stress.inputs.characters import HOMOGLYPHS
from stress.inputs.family import ALL_PROTOCOLS, CHAT, TABULAR, Context, Draw, Expect, Family, Kind
from stress.inputs.realistic import row
from stress.inputs.vocab import ask, vocabulary

SEED_KEY = "perturbation.seed"
# Locales whose scripts have case, so every text variant changes something.
SEED_LOCALES = ("en_US", "en_US", "de_DE", "fr_FR", "ru_RU")

_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
TRIES = 8


def _neighbours() -> dict[str, str]:
    """Each letter and the keys next to it on a QWERTY keyboard (same row and the rows
    above and below)."""
    near: dict[str, str] = {}
    for row_index, line in enumerate(_QWERTY):
        for column, key in enumerate(line):
            keys = [line[i] for i in (column - 1, column + 1) if 0 <= i < len(line)]
            for other in (row_index - 1, row_index + 1):
                if 0 <= other < len(_QWERTY):
                    keys += [
                        _QWERTY[other][i]
                        for i in (column - 1, column)
                        if 0 <= i < len(_QWERTY[other])
                    ]
            near[key] = "".join(keys)
    return near


NEIGHBOURS = _neighbours()


class Seed:
    """The seed input of one group: text, the names and numbers in it. With a log, a logged
    request: its last message is the text varied, the messages before it are kept. With a
    classification or embedding task, a labelled text of it (stress.inputs.tasks)."""

    def __init__(self, draw: Draw) -> None:
        rng = draw.shared(SEED_KEY)
        self.history: list[dict[str, Any]] = []
        self.role = "user"
        self.task: str | None = None
        self.label: str | None = None
        self.places: list[str] = []
        if draw.context.logged:
            entry = rng.choice(draw.context.logged)
            payload = entry["payload"]
            self.locale = "en_US"
            self.names = list(entry.get("names", []))
            self.rows = [dict(r) for r in payload.get("rows", [])]
            messages = [dict(m) for m in payload.get("messages", [{"role": "user", "content": ""}])]
            self.history, last = messages[:-1], messages[-1]
            self.role, self.text = last["role"], str(last["content"])
            if draw.context.task in tasks.TEXT_TASKS:  # its words of the task's lexicon kept
                self.task = draw.context.task
            return
        self.rows = []
        if draw.context.task in tasks.TEXT_TASKS:
            seed = tasks.labelled(rng, draw.context.task)
            self.task, self.label, self.locale = seed.task, seed.label, tasks.LOCALE
            self.text, self.names, self.places = seed.text, list(seed.names), list(seed.places)
            return
        self.locale = rng.choice(SEED_LOCALES)
        words = vocabulary(self.locale)
        prompt = ask(rng, self.locale)
        self.signer = rng.choice(words.first_names)
        self.names = [self.signer] + ([prompt.slots["name"]] if "{name}" in prompt.template else [])
        reference = f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(1000, 99999)}"
        self.text = f"{prompt.text} {_THANKS[self.locale]} {self.signer} ({reference})"
        self.rows = [row(draw, rng) for _ in range(rng.randint(1, 4))] if draw.features else []

    def messages(self, text: str) -> list[dict[str, Any]]:
        """The seed's messages with ``text`` as the last one."""
        return [*self.history, {"role": self.role, "content": text}]

    def protected(self) -> set[int]:
        """Character offsets of the label-relevant words (none without a task)."""
        if self.task is None:
            return set()
        return {i for a, b in tasks.keyword_spans(self.task, self.text) for i in range(a, b)}

    def keeps_label(self, text: str) -> bool:
        """``text`` has the seed's label-relevant words, or synonyms of the same labels."""
        if self.task is None:
            return True
        return tasks.label_words(self.task, text) == tasks.label_words(self.task, self.text)


_THANKS = {"en_US": "Thanks,", "de_DE": "Danke,", "fr_FR": "Merci,", "ru_RU": "Спасибо,"}


def _group(draw: Draw, variant: str, payload: dict[str, Any], seed: Seed) -> dict[str, Any]:
    labelled = {"task_label": seed.label} if seed.label is not None else {}
    return {
        **payload,
        **labelled,
        "group": f"perturbation-{draw.index:04d}",
        "seed": f"perturbation.original-{draw.index:04d}",
        "variant": variant,
    }


def _original(draw: Draw) -> dict[str, Any]:
    seed = Seed(draw)
    if draw.context.tabular:
        return _group(draw, "original", {"rows": seed.rows}, seed)
    return _group(draw, "original", {"messages": seed.messages(seed.text)}, seed)


def _text_variant(name: str, change: Callable[[random.Random, Seed], str]) -> Any:
    def generate(draw: Draw) -> dict[str, Any]:
        seed = Seed(draw)
        text = seed.text
        for _ in range(TRIES):
            changed = change(draw.random, seed)
            if seed.keeps_label(changed):
                text = changed
                break
        return _group(draw, name, {"messages": seed.messages(text)}, seed)

    return generate


def _typos(rng: random.Random, seed: Seed) -> str:
    chars = list(seed.text)
    kept = seed.protected()
    letters = [i for i, c in enumerate(chars) if c.lower() in NEIGHBOURS and i not in kept]
    for i in rng.sample(letters, k=min(len(letters), rng.randint(1, 3))):
        typo = rng.choice(NEIGHBOURS[chars[i].lower()])
        chars[i] = typo.upper() if chars[i].isupper() else typo
    if not letters and chars:  # non-Latin text: swap two neighbouring characters instead
        i = rng.randrange(max(1, len(chars) - 1))
        chars[i : i + 2] = chars[i : i + 2][::-1]
    return "".join(chars)


def _whitespace(rng: random.Random, seed: Seed) -> str:
    text = seed.text
    if seed.task is not None:
        # With a task: a tab, newline or double space right after each label-relevant word,
        # where a tokenizer that splits on single spaces loses it.
        for _, end in reversed(tasks.keyword_spans(seed.task, text)):
            gap = rng.choice(("\t", "\n", "\t ", "\n "))
            text = text[:end] + gap + text[end:].lstrip(" ")
    text = text.replace(" ", rng.choice(("  ", " \t", "   ")), rng.randint(1, 4))
    return rng.choice(("\n", " ", "")) + text + rng.choice(("\n", "  ", "\n\n"))


def _punctuation(rng: random.Random, seed: Seed) -> str:
    text = seed.text
    options = (
        lambda t: t.replace(",", ""),
        lambda t: t.rstrip("?.!。？") + rng.choice(("", "!!", "??", "...")),
        lambda t: t.replace("?", " ?").replace(".", " ."),
    )
    changed = rng.choice(options)(text)
    return changed if changed != text else text + "!"


def _homoglyphs(rng: random.Random, seed: Seed) -> str:
    # Latin to Cyrillic/Greek look-alikes; Cyrillic text gets Latin ones instead.
    swaps = {**{v: k for k, v in HOMOGLYPHS.items()}, **HOMOGLYPHS}
    chars = list(seed.text)
    kept = seed.protected()
    places = [i for i, c in enumerate(chars) if c in swaps and i not in kept]
    for i in rng.sample(places, k=min(len(places), rng.randint(1, 3))):
        chars[i] = swaps[chars[i]]
    return "".join(chars)


def _name_swap(rng: random.Random, seed: Seed) -> str:
    text = seed.text
    names = vocabulary(seed.locale).first_names
    if seed.task is not None:
        names = tasks.entities(seed.task, names)
    for name in seed.names:
        first = name.split(" ")[0]
        text = text.replace(first, rng.choice([n for n in names if n != first] or [first]))
    return text


def _place_swap(rng: random.Random, seed: Seed) -> str:
    text = seed.text
    assert seed.task is not None  # the family fits only with a task
    cities = tasks.entities(seed.task, vocabulary(seed.locale).cities)
    for place in dict.fromkeys(seed.places):
        text = text.replace(place, rng.choice([c for c in cities if c != place]))
    return text


def _synonyms(rng: random.Random, seed: Seed) -> str:
    assert seed.task is not None  # the family fits only with a task
    task, text = seed.task, seed.text
    for start, end in reversed(tasks.keyword_spans(task, text)):
        text = text[:start] + tasks.synonym(rng, task, text[start:end]) + text[end:]
    return text


def _needs_task(context: Context) -> str | None:
    if context.task in tasks.TEXT_TASKS:
        return None
    return (
        "it varies the labelled texts of a classification or embedding task, and the "
        "scenario sets no inputs.task (classify-sentiment, classify-intent, classify-topic, "
        "embed)"
    )


def _number_swap(rng: random.Random, seed: Seed) -> str:
    def other(match: re.Match[str]) -> str:
        digits = match.group(0)
        low = 10 ** (len(digits) - 1) if len(digits) > 1 else 2
        new = str(rng.randint(low, 10 ** len(digits) - 1))
        return new if new != digits else str(int(digits) + 1)

    return re.sub(r"\d+", other, seed.text)


def _jitter(draw: Draw) -> dict[str, Any]:
    seed = Seed(draw)
    rng = draw.random
    ranges = draw.features
    rows = [
        {k: _nudge(v, rng.choice((-1, 1)), ranges.get(k)) for k, v in r.items()} for r in seed.rows
    ]
    return _group(draw, "jitter", {"rows": rows}, seed)


def _nudge(value: Any, direction: int, bounds: tuple[float, float] | None) -> Any:
    """``value`` moved by one part in a billion, towards the inside of its column's declared
    range when the move would leave it (a value at the minimum only moves up)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    moved = value * (1 + direction * 1e-9)
    if bounds is not None and not bounds[0] <= moved <= bounds[1]:
        moved = value * (1 - direction * 1e-9)
        if not bounds[0] <= moved <= bounds[1]:
            return value
    return moved


def _raw_variant(mangle: str) -> Callable[[Draw], dict[str, Any]]:
    def generate(draw: Draw) -> dict[str, Any]:
        seed = Seed(draw)
        payload = {"mangle": mangle, "mangle_seed": draw.random.randrange(1 << 30)}
        return _group(draw, mangle, {**payload, "base": {"rows": seed.rows}}, seed)

    return generate


def families() -> list[Family]:
    accept = Expect.ACCEPT

    def text(name: str, description: str, change: Any, why: str, fits: Any = None) -> Family:
        return Family(
            f"perturbation.{name}",
            description,
            accept,
            Kind.PROMPT,
            CHAT,
            _text_variant(name, change),
            why,
            fits=fits,
        )

    return [
        Family(
            "perturbation.original",
            "the seed input of its group, unchanged (chat text or tabular rows)",
            accept,
            Kind.PROMPT,
            ALL_PROTOCOLS,
            _original,
            "the reference the other variants' answers are compared with",
        ),
        text(
            "uppercase",
            "the seed text in UPPER CASE",
            lambda rng, seed: seed.text.upper(),
            "shouting is not a different question",
        ),
        text(
            "lowercase",
            "the seed text in lower case",
            lambda rng, seed: seed.text.lower(),
            "casual typing drops capitals",
        ),
        text(
            "titlecase",
            "the seed text in Title Case",
            lambda rng, seed: seed.text.title(),
            "copy from headlines and forms",
        ),
        text(
            "typos",
            "1-3 letters replaced by a QWERTY keyboard neighbour",
            _typos,
            "real users mistype; the answer should not change",
        ),
        text(
            "whitespace",
            "doubled spaces, tabs and leading or trailing newlines (with a task: after each "
            "label-relevant word)",
            _whitespace,
            "whitespace differences must not change the answer",
        ),
        text(
            "punctuation",
            "commas dropped, end punctuation changed or spaced out",
            _punctuation,
            "punctuation noise must not change the answer",
        ),
        text(
            "homoglyphs",
            "1-3 letters swapped for Cyrillic or Greek look-alikes",
            _homoglyphs,
            "visually identical text should get the same answer",
        ),
        text(
            "name_swap",
            "the people's names replaced with other Faker names of the same locale",
            _name_swap,
            "fairness: the answer must not depend on who is asking",
        ),
        text(
            "number_swap",
            "every number replaced with another of the same length",
            _number_swap,
            "order numbers and counts change, the kind of answer must not",
        ),
        text(
            "synonyms",
            "each label-relevant word of the task's text replaced by a synonym of the same label",
            _synonyms,
            "'excellent' for 'great' must not move a classifier's label",
            fits=_needs_task,
        ),
        text(
            "place_swap",
            "the places in the task's text replaced with other Faker cities",
            _place_swap,
            "entity swap: where it happened says nothing about the label",
            fits=_needs_task,
        ),
        Family(
            "perturbation.jitter",
            "the seed rows with every value moved by one part in a billion",
            accept,
            Kind.ROWS,
            TABULAR,
            _jitter,
            "predictions must be stable under noise far below measurement precision",
        ),
        Family(
            "perturbation.column_order",
            "the seed rows with the columns listed in another order",
            accept,
            Kind.RAW,
            TABULAR,
            _raw_variant("column_order"),
            "servers that read columns by position instead of name answer wrongly",
        ),
        Family(
            "perturbation.number_format",
            "the seed rows with numbers spelled differently (5.1, 5.100000, 5.100000e+00)",
            accept,
            Kind.RAW,
            TABULAR,
            _raw_variant("number_format"),
            "equivalent JSON numbers must give the same prediction",
        ),
    ]
