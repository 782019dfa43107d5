"""The vocabulary's Faker with only the providers its pools use draws exactly what a Faker
with every provider draws (the corpus keeps its bytes), and falls back to every provider
when a format needs one left out. The pools stored with the package are the ones the
installed Faker draws, and are not used with another Faker version."""

from __future__ import annotations

import json
from pathlib import Path

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
    built = vocab.drawn("ru_RU")
    assert built == vocab._pools("ru_RU", Faker("ru_RU"))


@pytest.mark.parametrize("locale", LOCALES)
def test_the_stored_pools_are_the_ones_the_installed_faker_draws(locale: str) -> None:
    # Fails when Faker was upgraded: rewrite them with `python -m stress.inputs.vocab`.
    assert locale in vocab._stored()
    assert vocab.vocabulary(locale) == vocab.drawn(locale)


def test_pools_stored_for_another_faker_version_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(vocab.STORED.read_text(encoding="utf-8"))
    data["faker"] = "0.0.1"
    data["locales"]["en_US"]["sentences"] = ["Not what Faker draws."] * 300
    other = tmp_path / "vocab_pools.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(vocab, "STORED", other)
    vocab._stored.cache_clear()
    vocab.vocabulary.cache_clear()
    try:
        assert vocab._stored() == {}
        assert vocab.vocabulary("en_US").sentences == vocab.drawn("en_US").sentences
        assert "Not what Faker draws." not in vocab.vocabulary("en_US").sentences
    finally:
        vocab._stored.cache_clear()
        vocab.vocabulary.cache_clear()
