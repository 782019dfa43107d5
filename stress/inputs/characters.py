"""Unicode edge cases inside otherwise realistic prompts: the characters that break tokenizers,
filters, length checks, logging and JSON encoders."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stress.inputs.family import CHAT, Draw, Expect, Family, Kind
from stress.inputs.realistic import prompt_payload, user, within_limit
from stress.inputs.vocab import vocabulary

if TYPE_CHECKING:  # Hypothesis is imported where unicode.arbitrary draws (a corpus without it
    # starts without it)
    from hypothesis import strategies as st

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e"
# Embeddings, overrides and isolates: the "Trojan Source" characters.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# C0 controls except NUL and the three whitespace ones, plus DEL and a few C1 controls.
CONTROLS = "".join(chr(c) for c in range(1, 0x20) if chr(c) not in "\t\n\r") + "\x7f\x85\x9b"
EXOTIC_SPACES = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
COMBINING = "".join(chr(c) for c in range(0x0300, 0x036F))
# Latin letters and the Cyrillic or Greek letters that look the same.
HOMOGLYPHS = {
    "a": "а",
    "c": "с",
    "e": "е",
    "i": "і",
    "j": "ј",
    "o": "о",
    "p": "р",
    "s": "ѕ",
    "x": "х",
    "y": "у",
    "A": "Α",
    "B": "Β",
    "E": "Ε",
    "H": "Η",
    "K": "Κ",
    "M": "Μ",
    "O": "Ο",
    "P": "Р",
    "T": "Τ",
    "X": "Χ",
}
EMOJI = (
    "👩‍👩‍👧‍👦",  # family: ZWJ sequence
    "🧑🏽‍💻",  # technologist, skin tone + ZWJ
    "👋🏿",  # skin tone modifier
    "🇯🇵",  # flag: regional indicators
    "🇺🇦",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # subdivision flag: tag sequence
    "1️⃣",  # keycap
    "❤️‍🔥",
    "🏳️‍🌈",
    "😀",
    "🤌",
    "🫠",
)
# Characters whose case mapping changes the length or is locale-dependent.
CASE_EXPANDERS = ("ß", "ŉ", "ﬃ", "İ", "ı", "ΐ", "ǰ", "ﬆ", "ẞ", "Ꮿ", "ᾀ", "Σ")
RTL_SENTENCES = (
    "مرحبا، أريد إلغاء الطلب رقم 48213 من فضلك.",
    "שלום, מתי תגיע ההזמנה שלי? מספר 7731.",
    "سلام، قیمت این محصول چند است؟",
    "براہ کرم میرا آرڈر 2291 منسوخ کریں۔",
)
CJK = (
    "东京的天气怎么样？请用中文回答。",
    "吾輩は猫である。名前はまだ無い。",
    "한국어로 간단히 설명해 주세요.",
    "𠀀𠀁𠀂𪚥𩸽 are CJK Extension B ideographs outside the BMP.",
    "ｆｕｌｌｗｉｄｔｈ　ｌｅｔｔｅｒｓ　ａｎｄ　ｄｉｇｉｔｓ　１２３",
    "（全角括号）「引用」、句読点。",
)
NONCHARACTERS = "\ufdd0\ufdef\ufffe\uffff\U0001fffe\U0010ffff\ue000\uf8ff\U000f0000\ufffd"
# Text with accents and compatibility characters, so the four forms really differ.
NORMALIZABLE = (
    "Café naïve résumé coöperate Ångström",
    "ﬁnance ﬂight ½ ² ℌ ™ ㎏ Ⅻ",
    "Việt Nam, Hà Nội, Thành phố Hồ Chí Minh",
    "한글 자모 조합 가나다",
    "ｶﾀｶﾅ and ﾊﾝｶｸ",
)


def _edit(draw: Draw, change: Callable[[Draw, str], str]) -> dict[str, Any]:
    payload, _ = prompt_payload(draw)
    message = payload["messages"][-1]
    message["content"] = within_limit(draw, change(draw, message["content"]))
    return payload


def _insert(alphabet: str, *, min_count: int = 1, max_count: int = 8) -> Callable[..., Any]:
    def change(draw: Draw, text: str) -> str:
        rng = draw.random
        for _ in range(rng.randint(min_count, max_count)):
            position = rng.randint(0, len(text))
            chars = "".join(rng.choices(alphabet, k=rng.randint(1, 3)))
            text = text[:position] + chars + text[position:]
        return text

    return lambda draw: _edit(draw, change)


def _zalgo(draw: Draw, text: str) -> str:
    rng = draw.random
    out = []
    for char in text:
        out.append(char)
        if char.isalpha() and rng.random() < 0.6:
            out.append("".join(rng.choices(COMBINING, k=rng.randint(1, 20))))
    return "".join(out)


def _homoglyphs(draw: Draw, text: str) -> str:
    rng = draw.random
    return "".join(HOMOGLYPHS[c] if c in HOMOGLYPHS and rng.random() < 0.4 else c for c in text)


def _normalized(form: str) -> Callable[[Draw], dict[str, Any]]:
    def generate(draw: Draw) -> dict[str, Any]:
        text = f"{draw.random.choice(NORMALIZABLE)} {prompt_payload(draw)[1].text}"
        return {"messages": [user(unicodedata.normalize(form, text))], "form": form}  # type: ignore[arg-type]

    return generate


def _spaces(draw: Draw, text: str) -> str:
    return "".join(draw.random.choice(EXOTIC_SPACES) if c == " " else c for c in text)


def _emoji(draw: Draw, text: str) -> str:
    rng = draw.random
    words = text.split(" ")
    for _ in range(rng.randint(1, 6)):
        words.insert(rng.randint(0, len(words)), rng.choice(EMOJI))
    return " ".join(words)


def _case_expanders(draw: Draw, text: str) -> str:
    picks = "".join(draw.random.choices(CASE_EXPANDERS, k=draw.random.randint(2, 8)))
    return f"{text} {picks} STRASSE straße İstanbul"


def _mixed_scripts(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    locales = rng.sample(("en_US", "ru_RU", "ar_AA", "hi_IN", "ja_JP", "zh_CN", "de_DE"), k=4)
    parts = [vocabulary(locale).sentence(rng) for locale in locales]
    return {"messages": [user(" ".join(parts) + " Ελληνικά ქართული 한국어")]}


def _rtl(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    sentence = rng.choice(RTL_SENTENCES)
    english = prompt_payload(draw, locale="en_US")[1].text
    return {"messages": [user(f"{sentence} {english} {vocabulary('ar_AA').sentence(rng)}")]}


def _cjk(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    parts = [rng.choice(CJK), vocabulary(rng.choice(("ja_JP", "zh_CN"))).paragraph(rng)]
    return {"messages": [user("".join(parts))]}


def _lone_surrogates(draw: Draw, text: str) -> str:
    rng = draw.random
    for _ in range(rng.randint(1, 3)):
        # Never beside another inserted surrogate: a high one followed by a low one is a
        # valid pair (one ordinary character), not a lone surrogate.
        free = [
            position
            for position in range(len(text) + 1)
            if not _surrogate(text[position - 1 : position])
            and not _surrogate(text[position : position + 1])
        ]
        if not free:
            break  # a text of surrogates already (the first one went into an empty text)
        position = rng.choice(free)
        text = text[:position] + chr(rng.randint(0xD800, 0xDFFF)) + text[position:]
    return text


def _surrogate(char: str) -> bool:
    return bool(char) and 0xD800 <= ord(char) <= 0xDFFF


def _null_bytes(draw: Draw, text: str) -> str:
    rng = draw.random
    position = rng.randint(0, len(text))
    return text[:position] + "\x00" * rng.randint(1, 3) + text[position:]


@functools.cache
def _any_text() -> st.SearchStrategy[str]:
    """Every plane, no surrogates (lone_surrogates sends those) and no NUL (null_bytes does);
    one object for the life of the process (Cache keeps a runner per strategy)."""
    from hypothesis import strategies as st

    return st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=400
    )


def _arbitrary(draw: Draw) -> dict[str, Any]:
    return {"messages": [user(draw.example(_any_text(), bare=True))]}


def families() -> list[Family]:
    accept, reject, either = Expect.ACCEPT, Expect.REJECT, Expect.ACCEPT_OR_REFUSE

    def family(name: str, description: str, expect: Expect, generate: Any, why: str) -> Family:
        return Family(f"unicode.{name}", description, expect, Kind.PROMPT, CHAT, generate, why)

    return [
        family(
            "zero_width",
            "a realistic prompt with zero-width characters (ZWSP, ZWJ, ZWNJ, WJ, BOM) inserted",
            accept,
            _insert(ZERO_WIDTH),
            "invisible characters split words past filters and shift token counts",
        ),
        family(
            "bidi_controls",
            "a realistic prompt with bidirectional overrides, embeddings and isolates",
            accept,
            _insert(BIDI),
            "Trojan Source: text displayed differently from what it is; log viewers break",
        ),
        family(
            "zalgo",
            "every letter stacked with up to 20 combining marks",
            accept,
            lambda d: _edit(d, _zalgo),
            "one visible letter becomes dozens of code points: length limits and tokenizers",
        ),
        family(
            "homoglyphs",
            "Latin letters swapped for look-alike Cyrillic and Greek ones",
            accept,
            lambda d: _edit(d, _homoglyphs),
            "looks identical, tokenizes differently; used to dodge keyword filters",
        ),
        *(
            family(
                f"normalization_{form.lower()}",
                f"accented and compatibility text in Unicode normalization form {form}",
                accept,
                _normalized(form),
                "the same text in another form must get the same treatment",
            )
            for form in ("NFC", "NFD", "NFKC", "NFKD")
        ),
        family(
            "exotic_spaces",
            "spaces replaced by NBSP, em/en/thin/ideographic spaces, line and paragraph separators",
            accept,
            lambda d: _edit(d, _spaces),
            "word splitting, trimming and JSON/JS line handling (U+2028) differ on these",
        ),
        family(
            "control_chars",
            "a realistic prompt with C0/C1 control characters inserted (not NUL)",
            accept,
            _insert(CONTROLS),
            "terminals, logs and XML/CSV exporters mishandle control characters",
        ),
        family(
            "null_bytes",
            "a realistic prompt with NUL (U+0000) characters inside",
            either,
            lambda d: _edit(d, _null_bytes),
            "C strings end at NUL, PostgreSQL text refuses it: answer or refuse cleanly, "
            "never a 500",
        ),
        family(
            "lone_surrogates",
            "unpaired UTF-16 surrogates sent as JSON \\udXXX escapes",
            reject,
            lambda d: _edit(d, _lone_surrogates),
            "valid JSON but not valid Unicode: UTF-8 encoders raise deep inside the server",
        ),
        family(
            "emoji",
            "emoji with ZWJ sequences, skin tones, flags, keycaps and tag sequences",
            accept,
            lambda d: _edit(d, _emoji),
            "multi-code-point graphemes break truncation and character counting",
        ),
        family(
            "case_expanders",
            "characters whose upper/lower case has another length (ß, ﬃ, İ, ΐ)",
            accept,
            lambda d: _edit(d, _case_expanders),
            "case-insensitive matching and length checks after case mapping go wrong",
        ),
        family(
            "mixed_scripts",
            "one message mixing Latin, Cyrillic, Arabic, Devanagari, CJK, Greek and Georgian",
            accept,
            _mixed_scripts,
            "language detection and per-script tokenization on the same message",
        ),
        family(
            "rtl_text",
            "Arabic, Hebrew, Persian or Urdu with embedded left-to-right text and numbers",
            accept,
            _rtl,
            "right-to-left text with mixed direction is everyday traffic in many markets",
        ),
        family(
            "cjk",
            "Chinese, Japanese and Korean text, astral-plane ideographs, fullwidth forms",
            accept,
            _cjk,
            "characters outside the BMP are two UTF-16 units: length and slicing bugs",
        ),
        family(
            "noncharacters",
            "a realistic prompt with noncharacters, private-use and replacement characters",
            accept,
            _insert(NONCHARACTERS, max_count=4),
            "U+FFFE/U+FFFF and private-use code points are legal but unassigned",
        ),
        family(
            "arbitrary",
            "any Unicode text Hypothesis can draw, all planes (no NUL or lone surrogates)",
            accept,
            _arbitrary,
            "what no one thought of: Hypothesis favours the edge cases of each category",
        ),
    ]
