"""The demo n-gram language model: distributions, determinism and stopping."""

from __future__ import annotations

import numpy as np
import pytest

from stress.demo.lm import NgramModel, count_tokens, prompt_seed, tokenize


@pytest.fixture(scope="module")
def model() -> NgramModel:
    return NgramModel.from_corpus()


def test_tokenize_keeps_words_numbers_and_punctuation() -> None:
    assert tokenize("Don't panic, it's 7:30 — ok?") == [
        "Don't",
        "panic",
        ",",
        "it's",
        "7:30",
        "—",
        "ok",
        "?",
    ]
    assert count_tokens("") == 0
    assert count_tokens("How do I cook rice?") == 6


def test_prompt_seed_is_stable_and_accepts_lone_surrogates() -> None:
    assert prompt_seed("hello") == prompt_seed("hello") != prompt_seed("hello!")
    assert prompt_seed("\ud800") >= 0


def test_distribution_is_a_probability_vector(model: NgramModel) -> None:
    for context in [(1, 1), (5, 6), (len(model) - 1, 0)]:
        probabilities = model.distribution(context)
        assert probabilities.shape == (len(model),)
        assert np.all(probabilities >= 0)
        assert probabilities.sum() == pytest.approx(1.0)
        assert probabilities[1] == 0  # start padding is never generated


def test_corpus_is_big_enough_to_talk(model: NgramModel) -> None:
    assert len(model) > 500


def test_same_prompt_same_answer_and_seed_changes_it(model: NgramModel) -> None:
    def answer(*, seed: int | None = None, temperature: float = 1.0) -> str:
        generation = model.generate(
            "Tell me about the weather", max_tokens=30, seed=seed, temperature=temperature
        )
        return "".join(generation)

    assert answer() == answer()
    assert answer(seed=1) == answer(seed=1)
    assert len({answer(seed=s) for s in range(5)}) > 1
    assert answer(temperature=0) == answer(temperature=0, seed=99)  # greedy ignores the seed


def test_generation_reports_length_and_stop(model: NgramModel) -> None:
    short = model.generate("rice", max_tokens=2)
    assert len(list(short)) == 2
    assert (short.finish_reason, short.completion_tokens) == ("length", 2)
    assert short.step() is None  # finished generations stay finished

    # Greedy decoding of this corpus ends its paragraph well before 200 tokens.
    full = model.generate("rice", max_tokens=200, temperature=0)
    pieces = list(full)
    assert full.finish_reason == "stop"
    assert full.completion_tokens == len(pieces) < 200


def test_generate_rejects_bad_arguments(model: NgramModel) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        model.generate("x", max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        model.generate("x", max_tokens=1, temperature=float("nan"))


def test_negative_and_huge_seeds_are_accepted(model: NgramModel) -> None:
    for seed in (-1, 2**70):
        assert list(model.generate("x", max_tokens=3, seed=seed))
