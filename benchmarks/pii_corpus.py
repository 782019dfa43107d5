"""A labelled log of requests full of personal data (Faker, many locales), and a corpus of
realistic prompts without any: what benchmarks.bench_scrub and the leak test measure the
scrubber on.

``labelled_log(n, seed)`` gives requests (chat, tabular and free-text bodies) and, for each,
the personal values put in it: ``Value(kind, locale, text, pieces)``; a value is caught when
none of its ``pieces`` (the name's words, the number as written and without separators, an
address's street and postcode lines) is left in the scrubbed request. Every value is valid
for its kind: phone numbers libphonenumber calls valid in the locale's country, national IDs
python-stdnum's validator of that country accepts (Faker's own are redrawn until one does).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from faker import Faker
from stdnum.util import get_cc_module

LOCALES = [
    "en_US",
    "en_GB",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "pt_BR",
    "sv_SE",
    "tr_TR",
    "da_DK",
]
KINDS = [
    "name",
    "email",
    "phone",
    "card",
    "national_id",
    "iban",
    "bic",
    "ip",
    "mac",
    "url",
    "dob",
    "address",
]
# The country module of python-stdnum for each locale's national ID and how Faker writes one.
_IDS: dict[str, tuple[str, str, str]] = {
    "en_US": ("us", "ssn", "ssn"),
    "en_GB": ("gb", "nhs", ""),
    "de_DE": ("de", "idnr", ""),
    "fr_FR": ("fr", "nir", "ssn"),
    "es_ES": ("es", "nif", "nif"),
    "it_IT": ("it", "codicefiscale", "ssn"),
    "nl_NL": ("nl", "bsn", "ssn"),
    "pl_PL": ("pl", "pesel", "pesel"),
    "pt_BR": ("br", "cpf", "cpf"),
    "sv_SE": ("se", "personnummer", "ssn"),
    "tr_TR": ("tr", "tckimlik", "ssn"),
    "da_DK": ("dk", "cpr", ""),
}
_ID_LENGTHS = {"nhs": 10, "idnr": 11, "cpr": 10}
_DATE_FORMATS = {
    "en_US": "%m/%d/%Y",
    "en_GB": "%d/%m/%Y",
    "de_DE": "%d.%m.%Y",
    "fr_FR": "%d/%m/%Y",
    "es_ES": "%d/%m/%Y",
    "it_IT": "%d/%m/%Y",
    "nl_NL": "%d-%m-%Y",
    "pl_PL": "%d.%m.%Y",
    "pt_BR": "%d/%m/%Y",
    "sv_SE": "%Y-%m-%d",
    "tr_TR": "%d.%m.%Y",
    "da_DK": "%d-%m-%Y",
}
_TITLES = re.compile(
    r"^(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Dipl|Ing|Univ|Mag|Sig|Dott|Sr|Sra|Srta|Don|Doña|"
    r"pan|pani|Yrd|Doç|Jr|MD|PhD|DDS|DVM|MSc|BSc|BEng|MEng|BA|MA|Mme|Mlle|M|Dhr|Mevr|Ir|Drs|"
    r"Dra|Hr|Fr|MBA|Sc|Eng|Ing|Univ|Dipl|Prof|Hon|Sig\.ra|Dott\.ssa|Sayın|Bay|Bayan)$"
)
_PARTICLES = set(
    [
        "de",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "del",
        "della",
        "di",
        "van",
        "von",
        "der",
        "den",
        "ter",
        "ten",
        "la",
        "le",
        "y",
        "e",
        "zu",
    ]
)


@dataclass(frozen=True)
class Value:
    kind: str
    locale: str
    text: str
    pieces: tuple[str, ...]


def _pieces(kind: str, text: str) -> tuple[str, ...]:
    if kind == "name":
        words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", text)
        return tuple(
            w
            for w in words
            if len(w) > 1 and not _TITLES.match(w.rstrip(".")) and w not in _PARTICLES
        )
    if kind == "address":
        lines = [line.strip(" ,") for line in re.split(r"\n|, ", text) if line.strip(" ,")]
        return tuple(line for line in lines if re.search(r"\d", line) and len(line) >= 5)
    if kind == "url":
        return (text.rsplit("/", 1)[-1].split("=")[-1],)
    compact = re.sub(r"[\s.()/-]", "", text)
    return tuple(dict.fromkeys([text, compact]))


class _Maker:
    def __init__(self, locale: str, rng: random.Random) -> None:
        self.locale = locale
        self.rng = rng
        self.fake = Faker(locale)
        self.fake.seed_instance(rng.getrandbits(32))
        self.region = locale[-2:]

    def value(self, kind: str) -> Value:
        text = getattr(self, kind)()
        return Value(kind, self.locale, text, _pieces(kind, text))

    def name(self) -> str:
        return str(self.fake.name())

    def email(self) -> str:
        return str(self.fake.email())

    def phone(self) -> str:
        for _ in range(30):
            number = str(self.fake.phone_number())
            try:
                parsed = phonenumbers.parse(number, self.region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed):
                return number
        example = phonenumbers.example_number_for_type(
            self.region, phonenumbers.PhoneNumberType.MOBILE
        )
        while True:
            digits = str(example.national_number)
            tail = "".join(str(self.rng.randint(0, 9)) for _ in range(4))
            example.national_number = int(digits[:-4] + tail)
            if phonenumbers.is_valid_number(example):
                style = self.rng.choice(
                    (
                        phonenumbers.PhoneNumberFormat.NATIONAL,
                        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                    )
                )
                return str(phonenumbers.format_number(example, style))

    def card(self) -> str:
        digits = str(self.fake.credit_card_number())
        style = self.rng.choice(("", " ", "-"))
        if not style:
            return digits
        return style.join(digits[i : i + 4] for i in range(0, len(digits), 4))

    def national_id(self) -> str:
        country, name, method = _IDS[self.locale]
        module = get_cc_module(country, name)
        for _ in range(20):
            if not method:
                break
            value = str(getattr(self.fake, method)())
            if module.is_valid(value):
                return value
        length = _ID_LENGTHS.get(name, 11)
        while True:
            if name == "cpr":
                day = self.fake.date_of_birth(minimum_age=18, maximum_age=80)
                value = day.strftime("%d%m%y") + "".join(
                    str(self.rng.randint(0, 9)) for _ in range(4)
                )
                value = f"{value[:6]}-{value[6:]}"
            else:
                value = str(self.rng.randint(1, 9)) + "".join(
                    str(self.rng.randint(0, 9)) for _ in range(length - 1)
                )
            if module.is_valid(value):
                return value

    def iban(self) -> str:
        value = str(self.fake.iban())
        if self.rng.random() < 0.5:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def bic(self) -> str:
        return str(self.fake.swift())

    def ip(self) -> str:
        return str(self.fake.ipv4_public() if self.rng.random() < 0.7 else self.fake.ipv6())

    def mac(self) -> str:
        return str(self.fake.mac_address())

    def url(self) -> str:
        user = str(self.fake.user_name())
        if self.rng.random() < 0.5:
            return f"https://{self.fake.domain_name()}/users/{user}"
        return f"https://{self.fake.domain_name()}/profile?user={user}"

    def dob(self) -> str:
        day = self.fake.date_of_birth(minimum_age=18, maximum_age=90)
        return day.strftime(_DATE_FORMATS[self.locale])

    def address(self) -> str:
        return str(self.fake.address())


# How a value is written into a chat message (a word for the kind before it, as people do).
_SAY: dict[str, tuple[str, ...]] = {
    "name": (
        "I'm {}",
        "My name is {}",
        "this is {} writing",
        "Regards, {}",
        "{} here,",
        "Customer: {}",
    ),
    "email": ("mail me at {}", "my e-mail is {}", "{}"),
    "phone": ("call me on {}", "my phone number is {}", "tel. {}", "you can reach me at {}"),
    "card": ("my card {} was charged twice", "card number {}", "paid with {}"),
    "national_id": ("my ID number is {}", "tax ID {}", "personal ID: {}"),
    "iban": ("IBAN {}", "refund to {}", "my account {}"),
    "bic": ("BIC {}", "SWIFT: {}"),
    "ip": ("my IP is {}", "from {}", "blocked address {}"),
    "mac": ("device MAC {}", "router {}"),
    "url": ("see {}", "my profile: {}"),
    "dob": ("born {}", "date of birth {}", "DOB: {}"),
    "address": ("ship to {}", "my address is {}", "I live at {}"),
}
_COLUMNS = {
    "name": "customer_name",
    "email": "email",
    "phone": "phone",
    "dob": "date_of_birth",
    "address": "address",
    "national_id": "national_id",
    "iban": "iban",
    "card": "card_number",
    "ip": "client_ip",
}


def labelled_log(n: int, seed: int = 0) -> list[tuple[dict[str, Any], list[Value]]]:
    """``n`` request bodies (a third each chat, tabular, free text), each with its values."""
    rng = random.Random(seed)
    makers = {locale: _Maker(locale, random.Random(rng.getrandbits(32))) for locale in LOCALES}
    out: list[tuple[dict[str, Any], list[Value]]] = []
    for i in range(n):
        maker = makers[LOCALES[i % len(LOCALES)]]
        style = ("chat", "tabular", "text")[(i // len(LOCALES)) % 3]
        if style == "tabular":
            values = [maker.value(kind) for kind in rng.sample(list(_COLUMNS), 4)]
            row: dict[str, Any] = {_COLUMNS[v.kind]: v.text for v in values}
            phone = next((v for v in values if v.kind == "phone"), None)
            digits = re.sub(r"\D", "", phone.text) if phone else ""
            if (
                phone
                and digits[:1] not in ("", "0")
                and "x" not in phone.text
                and rng.random() < 0.5
            ):
                # a phone stored as a JSON number
                row["phone"] = int(digits)
                values[values.index(phone)] = Value("phone", phone.locale, digits, (digits,))
            row["amount"] = round(rng.uniform(1, 500), 2)
            out.append(({"dataframe_records": [row]}, values))
            continue
        kinds = rng.sample(KINDS, 3)
        if "name" not in kinds and rng.random() < 0.5:
            kinds[0] = "name"
        values = [maker.value(kind) for kind in kinds]
        parts = [maker.fake.sentence()]
        for value in values:
            text = value.text.replace("\n", ", ") if rng.random() < 0.7 else value.text
            parts.append(rng.choice(_SAY[value.kind]).format(text) + ".")
        parts.append(maker.fake.sentence())
        content = " ".join(parts)
        if style == "chat":
            body: dict[str, Any] = {
                "model": "m",
                "messages": [
                    {"role": "system", "content": "You are a helpful support assistant."},
                    {"role": "user", "content": content},
                ],
            }
        else:
            body = {"model": "m", "prompt": content}
        out.append((body, values))
    return out


_PRODUCTS = (
    "SKU AB-4412-889",
    "XJ-900",
    "PRD-2024-0012",
    "model RX-7800 XT",
    "iPhone 15 Pro",
    "Galaxy S24 Ultra",
    "ThinkPad X1 Carbon Gen 11",
    "part no. 7731-2290-01",
    "INV-2024-00123",
    "ISBN 978-3-16-148410-0",
    "error 0x80070005",
    "HTTP 404",
    "Windows 11 23H2",
    "v2.14.3",
    "GPT-4o",
    "RTX 4090",
    "order #58213947",
    "ticket 448120",
    "PO 4500012345",
    "tracking 1Z999AA10123456784",
    "EAN 4006381333931",
    "room 404",
    "flight LH 2041",
)
_ASKS = (
    "What is the status of {}?",
    "Compare {} with {} for me.",
    "Is {} still in stock?",
    "Why did {} fail after the update to {}?",
    "Please summarise the reviews of {}.",
    "Can you translate the manual of {} into German?",
    "How much is {} in EUR, with 19% VAT?",
    "Write a product description for {}.",
    "The delivery of {} is late, it was due on 2024-05-12 at 14:30.",
    "Our revenue grew 12.5% to 1,234,567.89 in Q3; {} sold 3,400 units.",
)


def clean_prompts(n: int, seed: int = 0) -> list[str]:
    """Realistic prompts without personal data: words of many languages, product codes,
    order numbers, versions, amounts and dates that must survive scrubbing."""
    rng = random.Random(seed)
    fakes = [Faker(locale) for locale in LOCALES]
    for index, fake in enumerate(fakes):
        fake.seed_instance(seed + index)
    prompts = []
    for i in range(n):
        fake = fakes[i % len(fakes)]
        ask = rng.choice(_ASKS)
        products = [rng.choice(_PRODUCTS) for _ in range(ask.count("{}"))]
        prompts.append(f"{fake.paragraph(nb_sentences=2)} {ask.format(*products)}")
    return prompts


def write_jsonl(path: Any, bodies: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for body in bodies:
            handle.write(json.dumps(body, ensure_ascii=False) + "\n")
