"""The vocabulary's Faker with only the providers its pools use draws exactly what a Faker
with every provider draws (the corpus keeps its bytes), and falls back to every provider
when a format needs one left out."""

from __future__ import annotations

import pytest
from faker import Faker

from stress.inputs import vocab
from stress.inputs.family import LOCALES


@pytest.mark.parametrize("locale", LOCALES)
def test_the_lean_faker_draws_the_pools_every_provider_draws(locale: str) -> None:
    lean = vocab._pools(locale, Faker(locale, providers=list(vocab.LEAN_PROVIDERS)))
    assert lean == vocab._pools(locale, Faker(locale))
    assert vocab.vocabulary(locale) == lean


def test_a_provider_left_out_falls_back_to_every_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ru_RU's company formats ask date_time for a year.
    leaner = tuple(p for p in vocab.LEAN_PROVIDERS if not p.endswith(".date_time"))
    monkeypatch.setattr(vocab, "LEAN_PROVIDERS", leaner)
    with pytest.raises(AttributeError):
        vocab._pools("ru_RU", Faker("ru_RU", providers=list(leaner)))
    built = vocab.vocabulary.__wrapped__("ru_RU")
    assert built == vocab._pools("ru_RU", Faker("ru_RU"))
