"""A word trigram language model for the demo server, trained at start-up from corpus.txt.

The model is deliberately small but does real work per token: every generation step builds
the full next-token distribution over the vocabulary with numpy (interpolated absolute
discounting: trigram → bigram → unigram), applies the temperature and samples. Generation is
deterministic for a given prompt, seed and temperature, so a failing request can be replayed.

    model = NgramModel.from_corpus()
    generation = model.generate("How do I cook rice?", max_tokens=32, temperature=0.7)
    text = "".join(generation)
    generation.finish_reason  # "stop" (end token) or "length" (max_tokens reached)
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "EOS",
    "Generation",
    "NgramModel",
    "count_tokens",
    "prompt_seed",
    "tokenize",
]

FinishReason = Literal["stop", "length"]

#: End-of-sequence token: training paragraphs end with it, generating it ends an answer.
EOS = "</s>"
#: Start padding: the context before a paragraph's first word. Never generated.
BOS = "<s>"

# Numbers keep their separators ("7:30", "1.5") so they round-trip through detokenisation;
# words keep inner apostrophes and hyphens ("don't", "cast-iron"); any other non-space
# character is a token of its own, which is how punctuation and emoji are counted.
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|\w+(?:['’-]\w+)*|[^\w\s]")

# Absolute discount subtracted from every seen n-gram count. 0.75 is the textbook value for
# the best held-out perplexity, but on a corpus this small it hands most of the mass to the
# unigram floor and answers read as word salad; 0.3 keeps them sentence-like yet varied.
_DISCOUNT = 0.3

# Add-k smoothing of the unigram floor, so every vocabulary word keeps a non-zero probability
# and temperature scaling never takes the log of zero.
_UNIGRAM_K = 0.1

_NO_SPACE_BEFORE = frozenset(".,!?;:)%")
_NO_SPACE_AFTER = frozenset("(")
_SENTENCE_END = frozenset(".!?")


def tokenize(text: str) -> list[str]:
    """Split text into word and punctuation tokens, keeping their original case."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Count word and punctuation tokens, the unit of the `usage` figures."""
    return sum(1 for _ in _TOKEN.finditer(text))


def prompt_seed(prompt: str) -> int:
    """A stable 64-bit seed derived from the prompt text.

    Uses sha256 rather than `hash()`, which is salted per process, so the same prompt gives
    the same answer across server restarts.
    """
    # surrogatepass: JSON can carry lone surrogates ("\\ud800") and they must hash, not raise.
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class _Continuations:
    """The words seen after one context, with their counts."""

    ids: npt.NDArray[np.intp]
    counts: npt.NDArray[np.float64]
    total: float


class NgramModel:
    """An interpolated trigram model over a closed word vocabulary.

    Build it with `from_corpus()` (the bundled corpus) or `from_text()`; then `generate()`.
    The model is immutable after construction and safe to share between threads; each
    `Generation` carries its own random generator.
    """

    def __init__(self, paragraphs: list[list[str]]) -> None:
        """Train on paragraphs of tokens; prefer `from_text` or `from_corpus`."""
        surface_forms: dict[str, Counter[str]] = {}
        sequences: list[list[str]] = []
        for paragraph in paragraphs:
            words: list[str] = []
            for position, token in enumerate(paragraph):
                word = token.lower()
                words.append(word)
                forms = surface_forms.setdefault(word, Counter())
                # A sentence-initial capital says nothing about how the word is written
                # elsewhere, so only mid-sentence forms vote ("I", "Python" stay capitalised).
                if position > 0 and paragraph[position - 1] not in _SENTENCE_END:
                    forms[token] += 1
            sequences.append(words)

        self.vocabulary: tuple[str, ...] = (EOS, BOS, *sorted(surface_forms))
        self._index = {word: i for i, word in enumerate(self.vocabulary)}
        self._display = [
            forms.most_common(1)[0][0] if forms else word
            for word, forms in ((w, surface_forms.get(w, Counter())) for w in self.vocabulary)
        ]
        size = len(self.vocabulary)
        eos, bos = self._index[EOS], self._index[BOS]

        unigrams = np.zeros(size, dtype=np.float64)
        bigrams: dict[int, Counter[int]] = {}
        trigrams: dict[tuple[int, int], Counter[int]] = {}
        for words in sequences:
            ids = [bos, bos, *(self._index[w] for w in words), eos]
            for first, second, third in zip(ids, ids[1:], ids[2:], strict=False):
                unigrams[third] += 1
                bigrams.setdefault(second, Counter())[third] += 1
                trigrams.setdefault((first, second), Counter())[third] += 1

        floor = unigrams + _UNIGRAM_K
        floor[bos] = 0.0  # padding is context only, never an answer
        self._unigram: npt.NDArray[np.float64] = floor / floor.sum()
        self._bigrams = {key: _continuations(c) for key, c in bigrams.items()}
        self._trigrams = {key: _continuations(c) for key, c in trigrams.items()}
        self._eos = eos
        self._bos = bos
        # The first answer token is a word: an answer that opens with "," or ends before it
        # starts looks broken, and real chat models are tuned away from both.
        self._first_mask = np.array(
            [i not in (eos, bos) and _is_word(w) for i, w in enumerate(self.vocabulary)]
        )

    @classmethod
    def from_text(cls, text: str) -> NgramModel:
        """Train on text whose paragraphs are separated by blank lines."""
        paragraphs = [tokenize(block) for block in re.split(r"\n\s*\n", text)]
        return cls([p for p in paragraphs if p])

    @classmethod
    def from_corpus(cls) -> NgramModel:
        """Train on the English corpus shipped with the package (stress/demo/corpus.txt)."""
        text = importlib.resources.files(__package__).joinpath("corpus.txt").read_text("utf-8")
        return cls.from_text(text)

    def __len__(self) -> int:
        return len(self.vocabulary)

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> Generation:
        """Start generating an answer to `prompt`; iterate the result for text pieces.

        Conditions on the prompt's last two in-vocabulary words (unknown words are skipped).
        `temperature` 0 is greedy decoding; `seed` None derives one from the prompt, so the
        same prompt and temperature always give the same answer.
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if not temperature >= 0:  # also rejects NaN
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        known = [self._index.get(token.lower()) for token in tokenize(prompt)]
        context = [self._bos, self._bos, *(i for i in known if i is not None)][-2:]
        chosen_seed = prompt_seed(prompt) if seed is None else seed
        # Masking keeps negative and over-wide request seeds (OpenAI allows int64) valid.
        rng = np.random.default_rng(chosen_seed & 0xFFFF_FFFF_FFFF_FFFF)
        return Generation(self, (context[0], context[1]), max_tokens, temperature, rng)

    def distribution(self, context: tuple[int, int]) -> npt.NDArray[np.float64]:
        """The next-token probability vector over the whole vocabulary after `context`."""
        probabilities = self._unigram.copy()
        for continuations in (self._bigrams.get(context[1]), self._trigrams.get(context)):
            if continuations is None:
                continue
            # Interpolation: the discounted mass of the seen words goes to the lower order.
            backoff = _DISCOUNT * len(continuations.ids) / continuations.total
            probabilities *= backoff
            probabilities[continuations.ids] += (
                continuations.counts - _DISCOUNT
            ) / continuations.total
        return probabilities

    def _sample(
        self,
        context: tuple[int, int],
        temperature: float,
        rng: np.random.Generator,
        *,
        first: bool,
    ) -> int:
        probabilities = self.distribution(context)
        if first:
            probabilities = np.where(self._first_mask, probabilities, 0.0)
        if temperature == 0:
            return int(np.argmax(probabilities))
        with np.errstate(divide="ignore"):  # masked entries are log(0) = -inf: never drawn
            logits = np.log(probabilities) / temperature
        weights = np.exp(logits - logits.max())
        cumulative = np.cumsum(weights)
        choice = np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")
        return int(min(choice, len(cumulative) - 1))

    def _piece(self, token: int, previous: int | None) -> str:
        """The text of `token` as it appears after `previous` (None: start of answer)."""
        text = self._display[token]
        if previous is None or self.vocabulary[previous] in _SENTENCE_END:
            text = text[:1].upper() + text[1:]
        if previous is None:
            return text
        if text in _NO_SPACE_BEFORE or self.vocabulary[previous] in _NO_SPACE_AFTER:
            return text
        return " " + text


class Generation(Iterator[str]):
    """One answer being generated: iterate it (or call `step()`) for text pieces.

    Each piece is one token with its leading space, so `"".join(generation)` is the answer
    and a streaming server can send pieces as they come. After the last piece,
    `finish_reason` is "stop" (the model produced its end token) or "length" (`max_tokens`
    pieces were produced); `completion_tokens` counts the pieces.
    """

    def __init__(
        self,
        model: NgramModel,
        context: tuple[int, int],
        max_tokens: int,
        temperature: float,
        rng: np.random.Generator,
    ) -> None:
        self._model = model
        self._context = context
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._rng = rng
        self._previous: int | None = None
        self.completion_tokens = 0
        self.finish_reason: FinishReason | None = None

    def step(self) -> str | None:
        """Generate the next piece, or return None when the answer is finished."""
        if self.finish_reason is not None:
            return None
        if self.completion_tokens >= self._max_tokens:
            self.finish_reason = "length"
            return None
        model = self._model
        token = model._sample(
            self._context, self._temperature, self._rng, first=self._previous is None
        )
        if token == model._eos:
            self.finish_reason = "stop"
            return None
        piece = model._piece(token, self._previous)
        self._context = (self._context[1], token)
        self._previous = token
        self.completion_tokens += 1
        return piece

    def __next__(self) -> str:
        piece = self.step()
        if piece is None:
            raise StopIteration
        return piece


def _continuations(counter: Counter[int]) -> _Continuations:
    ids = np.fromiter(counter.keys(), dtype=np.intp, count=len(counter))
    counts = np.fromiter(counter.values(), dtype=np.float64, count=len(counter))
    return _Continuations(ids=ids, counts=counts, total=float(counts.sum()))


def _is_word(token: str) -> bool:
    return token[:1].isalnum()
