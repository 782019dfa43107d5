"""Task-aware seeds (stress.inputs.tasks) and the perturbations of them: deterministic, labelled,
and every variant keeps the words its label depends on."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from stress.inputs import tasks
from stress.inputs.corpus import generate
from stress.inputs.families import Cache, Context, catalog
from stress.scenario.inputs import TASKS as SCENARIO_TASKS
from tests.reference.classifier import classify

TEXT_VARIANTS = (
    "uppercase",
    "lowercase",
    "titlecase",
    "typos",
    "whitespace",
    "punctuation",
    "homoglyphs",
    "name_swap",
    "number_swap",
    "synonyms",
    "place_swap",
)


CATALOG = catalog()


def payload(family: str, task: str | None, index: int, seed: int = 1) -> dict[str, Any]:
    context = Context(protocol="http-json", seed=seed, task=task)
    item = generate(CATALOG[family], context, index, cache=Cache())
    assert isinstance(item.payload, dict)
    return item.payload


def text_of(item: dict[str, Any]) -> str:
    return str(item["messages"][-1]["content"])


def test_the_scenario_knows_every_task() -> None:
    assert SCENARIO_TASKS == tasks.TASKS


@pytest.mark.parametrize("task", tasks.TEXT_TASKS)
def test_seeds_are_decided_by_the_seed_alone(task: str) -> None:
    first = [payload("realistic.task_text", task, i) for i in range(5)]
    again = [payload("realistic.task_text", task, i) for i in range(5)]
    other = [payload("realistic.task_text", task, i, seed=2) for i in range(5)]
    assert first == again
    assert first != other
    assert len({text_of(p) for p in first}) == 5


@pytest.mark.parametrize("task", tasks.TEXT_TASKS)
def test_every_label_comes_out_and_each_text_carries_only_its_own(task: str) -> None:
    rng = random.Random(7)
    seeds = [tasks.labelled(rng, task) for _ in range(300)]
    assert Counter(s.label for s in seeds).keys() == set(tasks.labels(task))
    for seed in seeds:
        assert seed.keywords, seed.text
        assert set(tasks.label_words(task, seed.text)) == {seed.label}, seed.text
        # The entities carry no label.
        for entity in (*seed.names, *seed.places):
            assert entity in seed.text
            assert tasks.keywords(task, entity) == []


@pytest.mark.parametrize("task", tasks.CLASSIFY)
@pytest.mark.parametrize("variant", TEXT_VARIANTS)
def test_perturbations_keep_the_label_relevant_words(task: str, variant: str) -> None:
    changed = applicable = 0
    for index in range(40):
        original = payload("perturbation.original", task, index)
        varied = payload(f"perturbation.{variant}", task, index)
        assert varied["seed"] == f"perturbation.original-{index:04d}"
        assert varied["task_label"] == original["task_label"]
        before, after = text_of(original), text_of(varied)
        assert tasks.label_words(task, after) == tasks.label_words(task, before), (before, after)
        changed += before != after
        applicable += variant != "number_swap" or any(c.isdigit() for c in before)
    # Each variant really varies the text (a variant that cannot keep the label falls back
    # to the seed text, rarely); number_swap wherever there is a number.
    assert applicable >= 20
    assert changed >= 0.9 * applicable, (variant, changed, applicable)


def test_synonyms_change_the_words_but_not_their_labels() -> None:
    for index in range(20):
        before = text_of(payload("perturbation.original", "classify-sentiment", index))
        after = text_of(payload("perturbation.synonyms", "classify-sentiment", index))
        assert tasks.keywords("classify-sentiment", before) != tasks.keywords(
            "classify-sentiment", after
        )


def test_entity_swaps_replace_names_and_places() -> None:
    for index in range(20):
        original = text_of(payload("perturbation.original", "classify-topic", index))
        named = text_of(payload("perturbation.name_swap", "classify-topic", index))
        placed = text_of(payload("perturbation.place_swap", "classify-topic", index))
        assert named != original
        assert placed != original


def test_the_careful_classifier_keeps_every_label_and_the_careless_one_flips() -> None:
    """The reference classifier (its own lexicon) labels stress's reviews as labelled, under
    every variant; matched case-sensitively or split on single spaces, it flips."""
    flips: Counter[str] = Counter()
    for index in range(40):
        original = payload("perturbation.original", "classify-sentiment", index)
        label = original["task_label"]
        assert classify(text_of(original))["label"] == label
        for variant in TEXT_VARIANTS:
            text = text_of(payload(f"perturbation.{variant}", "classify-sentiment", index))
            assert classify(text)["label"] == label, (variant, text)
            for fault in ("case_sensitive", "space_split"):
                flips[(variant, fault)] += classify(text, {fault})["label"] != label
    assert flips[("uppercase", "case_sensitive")] >= 20
    assert flips[("whitespace", "space_split")] >= 20
    assert flips[("synonyms", "case_sensitive")] == 0


def test_families_without_a_task_do_not_fit() -> None:
    context = Context(protocol="http-json", seed=1)
    for name in ("realistic.task_text", "perturbation.synonyms", "perturbation.place_swap"):
        reason = catalog()[name].misfit(context)
        assert reason is not None
        assert "task" in reason
        assert catalog()[name].misfit(Context("http-json", task="classify-intent")) is None
    assert catalog()["realistic.task_text"].misfit(Context("http-json", task="chat"))


@pytest.mark.parametrize(
    ("protocol", "prediction", "labels", "task"),
    [
        ("http-json", {"label": "positive", "score": 0.9}, [], "classify-sentiment"),
        ("http-json", "negative", [], "classify-sentiment"),
        ("http-json", None, ["positive", "negative", "neutral"], "classify-sentiment"),
        ("http-json", {"intent": "refund"}, [], "classify-intent"),
        ("http-json", [{"label": "sports"}], ["sports", "finance"], "classify-topic"),
        ("http-json", {"label": "spam"}, ["spam", "ham"], "classify-topic"),
        ("http-json", {"embedding": [0.1] * 32}, [], "embed"),
        ("http-json", "Sure! Here is a long answer to your question.", [], "chat"),
        ("http-json", None, [], None),
        ("openai-embeddings", None, [], "embed"),
        ("openai-chat", "Hello", [], "chat"),
        ("mlflow", [0, 1], [], "tabular"),
    ],
)
def test_the_task_from_a_probe_answer(
    protocol: str, prediction: object, labels: list[str], task: str | None
) -> None:
    assert tasks.infer(protocol, prediction, labels) == task


def test_a_row_taking_endpoint_is_tabular_whatever_it_answers() -> None:
    assert tasks.from_probe("http-json", True, {"label": "positive"}, ["positive"]) == (
        "tabular",
        "the endpoint takes table rows",
    )
    task, source = tasks.from_probe("http-json", False, None, ["positive", "negative"])
    assert task == "classify-sentiment"
    assert "positive" in source


def test_entities_holding_a_keyword_are_left_out() -> None:
    assert tasks.entities("classify-intent", ("Bill", "Anna", "Trace Hill")) == ("Anna",)
    assert tasks.entities("classify-sentiment", ("Bill", "Anna")) == ("Bill", "Anna")


def test_a_logged_text_keeps_its_label_words_under_a_task() -> None:
    log = ({"payload": {"messages": [{"role": "user", "content": LOGGED}]}, "line": 1},)
    for index in range(10):
        context = Context(protocol="http-json", seed=index, task="classify-sentiment", logged=log)
        for variant in ("typos", "homoglyphs", "whitespace", "synonyms"):
            item = generate(CATALOG[f"perturbation.{variant}"], context, index, cache=Cache())
            text = text_of(item.payload)  # type: ignore[arg-type]
            assert text != LOGGED
            assert tasks.label_words("classify-sentiment", text) == ["negative", "positive"]


LOGGED = "The delivery was awful but the support team was excellent about it all"
