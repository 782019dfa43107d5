"""Realistic text material per locale: Faker data drawn once, and request templates.

Calling Faker for every input costs 50-300 µs a call; choosing from a pool of Faker values
drawn once costs well under a microsecond. The pools come from a fixed Faker seed, so they
are the same in every process; the per-input Random decides which values an input uses.

The pools are a function of the Faker version alone, so they are stored with the package
(vocab_pools.json, written by ``python -m stress.inputs.vocab``, for the Faker version named
in it): with that version installed they are read from there (about 2 ms for every locale)
instead of starting Faker and drawing them (about 25 ms a locale, and 40 ms to import it).
With any other version they are drawn from Faker as before: the same values either way.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stress.inputs import fastrandom

if TYPE_CHECKING:  # imported only where the stored pools do not serve (another version)
    from faker import Faker

STORED = Path(__file__).with_name("vocab_pools.json")

# Pool sizes: enough that two inputs rarely share a sentence, small enough to build in ~10 ms.
_SENTENCES = 300
_PEOPLE = 120
_PLACES = 80


@dataclass(frozen=True)
class Vocabulary:
    """Faker values of one locale."""

    locale: str
    sentences: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[str, ...]
    companies: tuple[str, ...]
    jobs: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    addresses: tuple[str, ...]
    words: tuple[str, ...]

    def sentence(self, rng: random.Random) -> str:
        return rng.choice(self.sentences)

    def paragraph(self, rng: random.Random, *, min_size: int = 2, max_size: int = 5) -> str:
        joiner = "" if self.locale in ("ja_JP", "zh_CN") else " "
        return joiner.join(rng.choices(self.sentences, k=rng.randint(min_size, max_size)))

    def name(self, rng: random.Random) -> str:
        first, last = rng.choice(self.first_names), rng.choice(self.last_names)
        return f"{last}{first}" if self.locale in ("ja_JP", "zh_CN") else f"{first} {last}"


# The Faker providers the pools draw from (and what their formats use): a Faker with these
# only starts several times faster than one with all 26, and draws the same values.
_LEAN = "address company date_time internet job lorem person phone_number"
LEAN_PROVIDERS = tuple(f"faker.providers.{name}" for name in _LEAN.split())


@functools.cache
def vocabulary(locale: str) -> Vocabulary:
    """The pools of ``locale``, read or built on first use and kept."""
    stored = _stored().get(locale)
    if stored is not None:
        return Vocabulary(locale=locale, **{key: tuple(value) for key, value in stored.items()})
    return drawn(locale)


def drawn(locale: str) -> Vocabulary:
    """The pools of ``locale`` drawn from Faker (what vocab_pools.json holds for its version)."""
    from faker import Faker

    try:
        return _pools(locale, Faker(locale, providers=list(LEAN_PROVIDERS)))
    except AttributeError:  # a format uses a provider left out: draw again, with all
        return _pools(locale, Faker(locale))


@functools.cache
def _stored() -> dict[str, dict[str, list[str]]]:
    """vocab_pools.json's pools by locale when they were drawn with the installed Faker
    version, else none."""
    try:
        data = json.loads(STORED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    version = data.get("faker")
    return data["locales"] if isinstance(version, str) and _installed(version) else {}


def _installed(version: str) -> bool:
    """Whether Faker ``version`` is the one installed. A pip install has its dist-info next
    to the package: looked for first, as that costs no scan of every installed package."""
    import importlib.util

    spec = importlib.util.find_spec("faker")
    if spec is None or spec.origin is None:
        return False
    if (Path(spec.origin).parent.parent / f"faker-{version}.dist-info").is_dir():
        return True
    import importlib.metadata

    return importlib.metadata.version("faker") == version


def write_stored(path: Path = STORED) -> None:
    """Draw every locale's pools with the installed Faker and write them to ``path``."""
    import importlib.metadata

    names = [f.name for f in fields(Vocabulary) if f.name != "locale"]
    locales: dict[str, Any] = {}
    for locale in ASKS:
        words = drawn(locale)
        locales[locale] = {name: list(getattr(words, name)) for name in names}
    data = {"faker": importlib.metadata.version("faker"), "locales": locales}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def _pools(locale: str, fake: Faker) -> Vocabulary:
    fake.seed_instance(20_240_601)

    def many(method: str, size: int) -> tuple[str, ...]:
        make = getattr(fake, method)
        return tuple(str(make()) for _ in range(size))

    return Vocabulary(
        locale=locale,
        sentences=many("sentence", _SENTENCES),
        first_names=many("first_name", _PEOPLE),
        last_names=many("last_name", _PEOPLE),
        cities=many("city", _PLACES),
        companies=many("company", _PLACES),
        jobs=many("job", _PLACES),
        emails=many("email", _PLACES),
        phones=many("phone_number", _PLACES),
        addresses=tuple(a.replace("\n", ", ") for a in many("address", _PLACES)),
        words=tuple(w for s in many("sentence", _SENTENCES) for w in s.rstrip(".。").split()),
    )


# Request templates per locale. Slots: {topic} {name} {city} {text} {code} {n} {company}.
ASKS: dict[str, tuple[str, ...]] = {
    "en_US": (
        "Can you explain {topic} in simple terms?",
        "Write a short note to {name} about {topic}.",
        "What should I pack for a trip to {city}?",
        "Summarise this for me: {text}",
        "My order {code} has not arrived. {text}",
        "How do I cook dinner for {n} people on a budget?",
        "Give me three tips about {topic}.",
        "{text} What do you think?",
        "Draft an email to {company} asking about my invoice {code}.",
    ),
    "de_DE": (
        "Kannst du mir {topic} einfach erklären?",
        "Schreib eine kurze Nachricht an {name} wegen {topic}.",
        "Was sollte ich für eine Reise nach {city} einpacken?",
        "Fasse das bitte zusammen: {text}",
        "Meine Bestellung {code} ist nicht angekommen. {text}",
        "Wie koche ich ein Abendessen für {n} Personen?",
    ),
    "fr_FR": (
        "Peux-tu m'expliquer {topic} simplement ?",
        "Écris un court message à {name} au sujet de {topic}.",
        "Que dois-je emporter pour un voyage à {city} ?",
        "Résume ceci, s'il te plaît : {text}",
        "Ma commande {code} n'est pas arrivée. {text}",
        "Comment préparer un dîner pour {n} personnes ?",
    ),
    "ja_JP": (
        "{topic}について簡単に説明してください。",
        "{name}さんに{topic}についての短いメッセージを書いてください。",
        "{city}への旅行に何を持っていけばいいですか？",
        "これを要約してください：{text}",
        "注文番号{code}の商品がまだ届いていません。{text}",
        "{n}人分の夕食の作り方を教えてください。",
    ),
    "zh_CN": (
        "请用简单的话解释一下{topic}。",
        "给{name}写一条关于{topic}的短消息。",
        "去{city}旅行应该带些什么？",
        "请帮我总结一下：{text}",
        "我的订单{code}还没有到。{text}",
        "怎么给{n}个人做晚饭？",
    ),
    "ar_AA": (
        "هل يمكنك أن تشرح {topic} بكلمات بسيطة؟",
        "اكتب رسالة قصيرة إلى {name} بخصوص {topic}.",
        "ماذا يجب أن أحزم لرحلة إلى {city}؟",
        "لخص هذا من فضلك: {text}",
        "طلبي رقم {code} لم يصل بعد. {text}",
    ),
    "hi_IN": (
        "क्या आप {topic} को आसान शब्दों में समझा सकते हैं?",
        "{name} को {topic} के बारे में एक छोटा संदेश लिखिए।",
        "{city} की यात्रा के लिए मुझे क्या पैक करना चाहिए?",
        "कृपया इसका सारांश दीजिए: {text}",
        "मेरा ऑर्डर {code} अभी तक नहीं आया है। {text}",
    ),
    "ru_RU": (
        "Можешь простыми словами объяснить {topic}?",
        "Напиши короткое сообщение {name} про {topic}.",
        "Что взять с собой в поездку в {city}?",
        "Перескажи кратко: {text}",
        "Мой заказ {code} так и не пришёл. {text}",
        "Как приготовить ужин на {n} человек?",
    ),
}

TOPICS: dict[str, tuple[str, ...]] = {
    "en_US": ("model serving", "the weather", "saving money", "train travel", "sleep"),
    "de_DE": ("Mülltrennung", "die Steuererklärung", "Bahnreisen", "Datenschutz"),
    "fr_FR": ("la retraite", "les impôts", "le covoiturage", "la cuisine végétarienne"),
    "ja_JP": ("確定申告", "地震への備え", "電車の乗り換え", "睡眠"),
    "zh_CN": ("个人所得税", "高铁出行", "健康饮食", "时间管理"),
    "ar_AA": ("الطاقة الشمسية", "الادخار", "السفر بالقطار", "النوم"),
    "hi_IN": ("बचत", "रेल यात्रा", "योग", "मौसम"),
    "ru_RU": ("налоговый вычет", "путешествия на поезде", "экономию денег", "сон"),
}


@dataclass(frozen=True)
class Prompt:
    """A realistic request and the slot values it was made from (perturbations swap them)."""

    template: str
    slots: dict[str, str]

    @property
    def text(self) -> str:
        return self.template.format(**self.slots)


def ask(rng: random.Random, locale: str) -> Prompt:
    """A realistic one-message request in ``locale``."""
    words = vocabulary(locale)
    return Prompt(
        rng.choice(ASKS[locale]),
        {
            "topic": rng.choice(TOPICS[locale]),
            "name": words.name(rng),
            "city": rng.choice(words.cities),
            "text": words.paragraph(rng, min_size=1, max_size=4),
            "code": f"{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.randint(10_000, 99_999)}",
            "n": str(rng.randint(2, 8)),
            "company": rng.choice(words.companies),
        },
    )


def pick_locale(rng: random.Random) -> str:
    """Half of real traffic is English; the rest spreads over the other locales."""
    return "en_US" if rng.random() < 0.5 else rng.choice(list(ASKS))


def long_text(rng: random.Random, locale: str, size: int) -> str:
    """About ``size`` characters of prose (cut to exactly ``size``), built from pooled sentences."""
    words = vocabulary(locale)
    average = max(1, sum(len(s) for s in words.sentences[:50]) // 50 + 1)
    parts = fastrandom.choices(rng, words.sentences, k=size // average + 2)
    text = " ".join(parts)
    while len(text) < size:
        text += " " + " ".join(fastrandom.choices(rng, words.sentences, k=size // average + 2))
    return text[:size]


if __name__ == "__main__":  # python -m stress.inputs.vocab: rewrite vocab_pools.json
    write_stored()
