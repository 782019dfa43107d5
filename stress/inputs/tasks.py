"""Task-aware seeds: texts an endpoint can actually classify or embed, each with what decides it.

A scenario's ``inputs.task`` says what the endpoint does with text:

    classify-sentiment   product reviews, labelled positive, negative or neutral
    classify-intent      customer messages, labelled refund, cancel, track_order or billing
    classify-topic       news-like sentences, labelled sports, politics, technology or finance
    embed                passages of two to five sentences about one topic (labelled by it)
    chat                 generic assistant prompts (stress.inputs.vocab), as without a task
    tabular              rows from inputs.features (stress.inputs.realistic.row)

A labelled text is built from a template whose *keyword* slots hold words of its label (drawn
from synonym groups: ``great``/``excellent``/...) and whose *entity* slots hold what no label
depends on: Faker names, cities, companies, products and numbers. The perturbation families
(stress.inputs.perturbation) vary the entities, the case, the whitespace, the letters outside
keywords, or swap a keyword for a synonym of the same label, so a careful classifier's label
stays put and a flip is the endpoint's fault. ``keywords(task, text)`` reads the label-relevant
words back out of a text; the perturbations check their variants against it.

Everything is drawn from a ``random.Random`` and the Faker pools of stress.inputs.vocab, so a
seed is decided by (corpus seed, index) alone. Hypothesis adds nothing here (the text is
built, not searched), so it is not used (stress.inputs.family's rule).
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

from stress.inputs.vocab import vocabulary

TASKS = (
    "classify-sentiment",
    "classify-intent",
    "classify-topic",
    "embed",
    "chat",
    "tabular",
)
CLASSIFY = ("classify-sentiment", "classify-intent", "classify-topic")
# Tasks whose seeds are labelled texts built here.
TEXT_TASKS = (*CLASSIFY, "embed")
LOCALE = "en_US"

Groups = tuple[tuple[str, ...], ...]

# Label -> synonym groups: words of one group can stand in for each other.
LEXICON: dict[str, dict[str, Groups]] = {
    "classify-sentiment": {
        "positive": (
            ("great", "excellent", "wonderful", "superb", "fantastic"),
            ("love", "adore", "enjoy"),
            ("recommend", "endorse"),
        ),
        "negative": (
            ("terrible", "awful", "horrible", "dreadful", "appalling"),
            ("hate", "detest", "loathe"),
            ("regret", "lament"),
        ),
        "neutral": (
            ("average", "ordinary", "unremarkable", "mediocre"),
            ("okay", "acceptable", "adequate"),
            ("expected", "anticipated"),
        ),
    },
    "classify-intent": {
        "refund": (("refund", "reimbursement", "repayment"), ("reimburse", "repay")),
        "cancel": (("cancel", "terminate", "revoke"), ("cancellation", "termination")),
        "track_order": (("track", "trace", "locate"), ("shipment", "parcel", "package")),
        "billing": (("invoice", "bill", "statement"), ("charged", "billed", "invoiced")),
    },
    "classify-topic": {
        "sports": (("football", "soccer"), ("match", "fixture"), ("goalkeeper", "striker")),
        "politics": (("election", "ballot", "vote"), ("parliament", "senate", "congress")),
        "technology": (("software", "firmware"), ("smartphone", "laptop", "tablet")),
        "finance": (("stocks", "shares", "equities"), ("investors", "shareholders")),
    },
}
LEXICON["embed"] = LEXICON["classify-topic"]

# Templates per task and label: {k0} {k1} {k2} are keyword slots (the label's synonym groups
# 0, 1, 2); {name} {other} {city} {company} {product} {n} {code} are entities no label
# depends on. No template word outside a slot is a keyword of any label.
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "classify-sentiment": {
        "positive": (
            "The {product} I bought in {city} is {k0}, and I {k1} it.",
            "{name} gave me this {product} for my birthday: {k0}. I {k2} it to {other}.",
            "After {n} days with the {product} from {company} I can say it is {k0}.",
            "Order {code} arrived in {city}. The {product} is {k0} and I {k1} the colour.",
        ),
        "negative": (
            "The {product} I bought in {city} is {k0}, and I {k1} it.",
            "{name} gave me this {product} for my birthday: {k0}. I {k2} buying it.",
            "After {n} days with the {product} from {company} I can say it is {k0}.",
            "Order {code} arrived in {city}. The {product} is {k0} and I {k1} the colour.",
        ),
        "neutral": (
            "The {product} I bought in {city} is {k0}, about what I {k2}.",
            "{name} gave me this {product} for my birthday. It is {k1}, nothing more.",
            "After {n} days with the {product} from {company} I can say it is {k0}.",
            "Order {code} arrived in {city}. The {product} is {k1} and as {k2}.",
        ),
    },
    "classify-intent": {
        "refund": (
            "Hi, this is {name}. I want a {k0} for order {code}, please.",
            "Please {k1} me for the {product} from {company}; it broke after {n} days.",
        ),
        "cancel": (
            "Hi, this is {name}. Please {k0} order {code} before it ships to {city}.",
            "I need the {k1} of my {company} plan from the {n}th, {name} here.",
        ),
        "track_order": (
            "Could you {k0} order {code}? I live in {city} now.",
            "{name} here: where is the {k1} with my {product}? It left {n} days ago.",
        ),
        "billing": (
            "I was {k1} twice for order {code}; {name} from {company} said to write here.",
            "Please send the {k0} for my {product} to {name} in {city}.",
        ),
    },
    "classify-topic": {
        "sports": (
            "In {city} the {k0} {k1} drew {n} thousand people, {name} reported.",
            "{name} was the {k2} of the {k1} in {city}, {other} wrote.",
        ),
        "politics": (
            "{name} said the {k0} in {city} will be decided within {n} days.",
            "The {k1} in {city} met {n} times this month, {name} reported.",
        ),
        "technology": (
            "{company} released new {k0} for its {k1} on Monday, {name} wrote from {city}.",
            "{name} in {city} tested the {k1} for {n} days.",
        ),
        "finance": (
            "The {k0} of {company} rose {n} percent, {name} noted in {city}.",
            "{k1} of {company} met in {city}, {name} reported.",
        ),
    },
}
TEMPLATES["embed"] = TEMPLATES["classify-topic"]
SIGN_OFF = {  # (with the city, without it)
    "classify-sentiment": (" ({who}, {{city}})", " ({who})"),
    "classify-intent": (" Thanks, {who} from {{city}}.", " Thanks, {who}."),
    "classify-topic": (" ({who}, {{city}})", " ({who})"),
    "embed": (" ({who}, {{city}})", " ({who})"),
}
PRODUCTS = ("kettle", "backpack", "desk lamp", "blender", "jacket", "coffee grinder", "tent")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Labelled:
    """One seed text, its label, the words that decide the label, and the entities in it."""

    task: str
    text: str
    label: str
    keywords: tuple[str, ...]
    names: tuple[str, ...]
    places: tuple[str, ...]


def labels(task: str) -> tuple[str, ...]:
    return tuple(LEXICON[task])


def labelled(rng: random.Random, task: str) -> Labelled:
    """A text of ``task`` (one of TEXT_TASKS) with its label, drawn from ``rng``."""
    words = vocabulary(LOCALE)
    label = rng.choice(labels(task))
    groups = LEXICON[task][label]
    chosen = [rng.choice(group) for group in groups]
    template = rng.choice(TEMPLATES[task][label])
    name, other = rng.sample(entities(task, words.first_names), 2)
    city = rng.choice(entities(task, words.cities))
    slots = {f"k{i}": word for i, word in enumerate(chosen)}
    slots.update(
        name=name,
        other=other,
        city=city,
        company=rng.choice(entities(task, words.companies)),
        product=rng.choice(PRODUCTS),
        n=str(rng.randint(2, 60)),
        code=f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(10_000, 99_999)}",
    )
    if "{name}" not in template or "{city}" not in template:
        # A sign-off, so every text has a name and a place to swap.
        signer = "{other}" if "{name}" in template else "{name}"
        with_city, without = SIGN_OFF[task]
        template += (without if "{city}" in template else with_city).format(who=signer)
    text = template.format(**slots)
    text = text[:1].upper() + text[1:]
    names = tuple(slots[k] for k in ("name", "other") if "{%s}" % k in template)  # noqa: UP031
    places = (city,) if "{city}" in template else ()
    if task == "embed":  # a passage: more sentences on the same topic
        more = [labelled(rng, "classify-topic") for _ in range(rng.randint(3, 8))]
        more = [m for m in more if m.label == label][:4]
        text = " ".join([text, *(m.text for m in more)])
        names = (*names, *(n for m in more for n in m.names))
        places = (*places, *(p for m in more for p in m.places))
    return Labelled(task, text, label, tuple(keywords(task, text)), names, places)


@functools.cache
def entities(task: str, pool: tuple[str, ...]) -> tuple[str, ...]:
    """The Faker values of ``pool`` that hold no keyword of ``task`` (a name like Bill would
    otherwise carry a label)."""
    return tuple(value for value in pool if not keywords(task, value))


@functools.cache
def lexicon_words(task: str) -> dict[str, str]:
    """Every keyword of ``task`` (lower case) -> its label."""
    return {
        word: label for label, groups in LEXICON[task].items() for group in groups for word in group
    }


def label_words(task: str, text: str) -> list[str]:
    """The label of each label-relevant word of ``text``, in order: what a meaning-preserving
    change keeps (a synonym swap changes the words, not this)."""
    known = lexicon_words(task)
    return [known[word] for word in keywords(task, text)]


def keywords(task: str, text: str) -> list[str]:
    """The label-relevant words of ``text``, in order, case-folded (NFKC is left to callers)."""
    known = lexicon_words(task)
    return [w for w in (m.group(0).casefold() for m in _WORD.finditer(text)) if w in known]


def keyword_spans(task: str, text: str) -> list[tuple[int, int]]:
    """Where the label-relevant words of ``text`` are: (start, end) character offsets."""
    known = lexicon_words(task)
    return [m.span() for m in _WORD.finditer(text) if m.group(0).casefold() in known]


def synonym(rng: random.Random, task: str, word: str) -> str:
    """Another word of ``word``'s synonym group (the same label), in ``word``'s case."""
    for groups in LEXICON[task].values():
        for group in groups:
            if word.casefold() in group:
                others = [w for w in group if w != word.casefold()]
                new = rng.choice(others)
                return new.capitalize() if word[:1].isupper() else new
    return word


def infer(
    protocol: str, prediction: object, labels_declared: list[str] | None = None
) -> str | None:
    """The task a probe's answer shows (None: nothing to go on).

    Tabular protocols are ``tabular``, chat protocols ``chat``, embeddings ``embed``. For
    http-json: a list of at least 16 numbers (or one inside a dict/list) is ``embed``; a
    label answer (a string, a dict with label/class, declared labels) is the classification
    task whose labels overlap most with the labels seen or declared (a classifier whose labels
    are none of ours gets ``classify-topic``: its generic sentences suit any text classifier);
    plain free text is ``chat``.
    """
    if protocol in ("mlflow", "kserve-v1", "kserve-v2"):
        return "tabular"
    if protocol in ("openai-chat", "openai-completions"):
        return "chat"
    if protocol == "openai-embeddings" or _vector(prediction):
        return "embed"
    seen = {str(x).casefold() for x in (labels_declared or [])} | _label_values(prediction)
    if not seen:
        return None
    overlap = {task: len(seen & set(labels(task))) for task in CLASSIFY}
    best = max(CLASSIFY, key=lambda task: overlap[task])
    if overlap[best]:
        return best
    free_text = isinstance(prediction, str) and len(prediction.split()) > 3
    return "chat" if free_text else "classify-topic"


def from_probe(
    protocol: str, rows: bool, prediction: object, labels_seen: list[str]
) -> tuple[str | None, str]:
    """`stress init`'s task and what showed it: ``infer`` on the probe's answer and the labels
    it or the OpenAPI document declared; ``tabular`` when the endpoint takes rows."""
    if rows:
        return "tabular", "the endpoint takes table rows"
    task = infer(protocol, prediction, labels_seen)
    shown = f"labels {', '.join(labels_seen[:4])}" if labels_seen else "the probe's answer"
    return task, shown


_LABEL_KEYS = ("label", "class", "prediction", "predicted_label", "category", "intent", "topic")


def _label_values(value: object) -> set[str]:
    if isinstance(value, str):
        return {value.casefold()}
    if isinstance(value, dict):
        found: set[str] = set()
        for key in _LABEL_KEYS:
            if isinstance(value.get(key), str):
                found.add(str(value[key]).casefold())
        return found
    if isinstance(value, list) and value:
        return _label_values(value[0])
    return set()


def _vector(value: object) -> bool:
    if isinstance(value, list):
        numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
        if numbers and len(value) >= 16:
            return True
        return bool(value) and _vector(value[0])
    if isinstance(value, dict):
        return any(_vector(v) for v in value.values())
    return False
