"""The corpus streamed: generated as it is consumed, written line by line, the same bytes as
the whole-list writer it replaced (json.dumps of dataclasses.asdict)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stress.errors import ScenarioError
from stress.inputs import corpus
from stress.inputs.families import Context, catalog
from stress.prepare import prepare
from stress.rundir.write import write_lines

IRIS = {"sepal_length": (4.3, 7.9), "sepal_width": (2.0, 4.4)}
CHAT = {
    name: 1.0
    for name, family in catalog().items()
    if "openai-chat" in family.protocols and not family.misfit(Context("openai-chat"))
}


def old_line(item: corpus.Input) -> str:
    """The line as the writer before streaming made it."""
    return json.dumps(dataclasses.asdict(item), ensure_ascii=True, allow_nan=True)


def test_a_line_is_the_same_bytes_as_the_asdict_writer() -> None:
    tricky = corpus.Input(
        id="x-0001",
        family="x",
        expect="accept",
        kind="raw",
        payload={
            "text": "caf\u00e9 \ud800 \x00 \u202e",
            "numbers": [float("nan"), float("inf"), -0.0, 1e300, 10**30],
            "nested": {"tuple": (1, "two", None, True), "empty": {}},
        },
        origin={"seed": 1, "index": 1, "input_seed": 99},
    )
    assert corpus.to_line(tricky) == old_line(tricky)


def test_every_chat_family_writes_the_bytes_the_asdict_writer_wrote() -> None:
    items = corpus.build(
        catalog(), CHAT, seed=11, count=2 * len(CHAT), protocol="openai-chat", features={}
    )
    assert len({item.family for item in items}) == len(CHAT)
    for item in items:
        assert corpus.to_line(item) == old_line(item), item.id


def test_the_plan_generates_only_what_is_consumed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    generate = corpus.generate

    def counted(*args: Any, **kwargs: Any) -> corpus.Input:
        item = generate(*args, **kwargs)
        made.append(item.id)
        return item

    monkeypatch.setattr(corpus, "generate", counted)
    plan = corpus.planned(
        catalog(), {"numbers.nan": 1.0}, seed=3, count=1_000, protocol="mlflow", features=IRIS
    )
    stream = plan.inputs()
    assert isinstance(stream, Iterator)
    assert made == []  # nothing before the first is asked for
    first_three = list(itertools.islice(stream, 3))
    assert (
        [item.id for item in first_three]
        == made
        == [
            "numbers.nan-0000",
            "numbers.nan-0001",
            "numbers.nan-0002",
        ]
    )


def test_first_inputs_are_reused_not_generated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = corpus.planned(
        catalog(),
        {"numbers.nan": 1.0, "structure.wrong_type": 1.0},
        seed=3,
        count=10,
        protocol="mlflow",
        features=IRIS,
    )
    first = plan.first()
    made: list[str] = []
    generate = corpus.generate

    def counted(*args: Any, **kwargs: Any) -> corpus.Input:
        item = generate(*args, **kwargs)
        made.append(item.id)
        return item

    monkeypatch.setattr(corpus, "generate", counted)
    streamed = list(plan.inputs(first=first))
    assert len(streamed) == 10
    assert not any(name.endswith("-0000") for name in made)
    assert [i for i in streamed if i.id.endswith("-0000")] == list(first.values())
    # The same inputs as generating them all afresh.
    assert streamed == list(plan.inputs())


def test_parallel_stream_keeps_corpus_order_past_its_window() -> None:
    # 3,000 inputs in chunks of 500: six tasks, more than the window of 2 × 2 in flight.
    arguments: dict[str, Any] = {
        "seed": 5,
        "count": 3_000,
        "protocol": "mlflow",
        "features": IRIS,
    }
    families = {"numbers.nan": 1.0}
    serial = list(corpus.planned(catalog(), families, **arguments).inputs())
    parallel = corpus.planned(catalog(), families, workers=2, **arguments).inputs()
    assert isinstance(parallel, Iterator)
    assert list(parallel) == serial


def test_write_lines_streams_a_generator_to_the_same_bytes(tmp_path: Path) -> None:
    items = corpus.build(catalog(), CHAT, seed=2, count=150, protocol="openai-chat", features={})
    pulled: list[int] = []

    def lines() -> Iterator[str]:
        for number, item in enumerate(items):
            pulled.append(number)
            yield corpus.to_line(item)

    path = tmp_path / "corpus.jsonl"
    write_lines(path, lines(), encoding="ascii")
    assert pulled == list(range(len(items)))
    old = "".join(old_line(item) + "\n" for item in items).encode("ascii")
    assert path.read_bytes() == old
    assert not (tmp_path / "corpus.jsonl.tmp").exists()


def test_a_streamed_preparation_keeps_no_corpus(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        'name: s\ntarget: {url: "http://127.0.0.1:9", protocol: openai-chat}\n'
        "inputs: {seed: 1, count: 40, families: {realistic.*: 1, unicode.*: 1}}\n"
        "load: {phases: [{name: p, users: 1, duration: 1s}]}\n",
        encoding="utf-8",
    )
    streamed = prepare(scenario, stream=True)
    ids = [item.id for item in streamed.stream_corpus()]
    assert streamed._corpus is None  # consumed and dropped, never listed
    listed = prepare(scenario)
    assert ids == [item.id for item in listed.corpus()]


def item_with(payload: dict[str, Any]) -> corpus.Input:
    return corpus.Input("x-0001", "x", "reject", "mutation", payload, {"seed": 1, "index": 1})


@pytest.mark.parametrize(
    "value",
    [
        ["x"] * 2_000,  # one object: encoded once, repeated
        [1.5] * 2_000,
        [float("inf")] * 2_000,
        ["x"] * 1_999 + ["y"],  # one item differs: the plain way
        [1.0] * 1_000 + [1] * 500 + [True] * 500,  # equal, written differently
        [0.0] * 1_000 + [-0.0] * 1_000,
        [float("nan")] * 2_000,
        ["\x00stress:long-list\x00"] * 2_000,  # the mark itself
        [[1, 2]] * 2_000,
    ],
)
def test_a_long_list_of_one_value_is_written_as_json_writes_it(value: list[Any]) -> None:
    item = item_with({"op": "set", "value": value, "base": {"messages": []}})
    assert corpus.to_line(item) == old_line(item)


def test_a_long_list_beside_the_mark_is_written_the_plain_way() -> None:
    item = item_with({"note": "\x00stress:long-list\x00", "value": ["x"] * 2_000})
    assert corpus.to_line(item) == old_line(item)


def test_two_long_lists_in_one_payload() -> None:
    item = item_with({"a": ["x"] * 1_500, "b": [2.5] * 3_000, "c": "\u00e9"})
    assert corpus.to_line(item) == old_line(item)


def blocks_of(plan: corpus.Plan, **options: Any) -> bytes:
    return b"".join(plan.blocks(**options))


def test_blocks_are_the_lines_of_the_inputs() -> None:
    plan = corpus.planned(catalog(), CHAT, seed=9, count=300, protocol="openai-chat", features={})
    # Blocks write lines from the payloads (no Input objects): the asdict writer's bytes.
    expected = "".join(old_line(item) + "\n" for item in plan.inputs()).encode("ascii")
    assert blocks_of(plan) == expected
    assert blocks_of(plan, first=plan.first()) == expected


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_blocks_stay_small_whatever_the_inputs_and_keep_corpus_order(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # Worker processes are forked after the patch: they cut their blocks at 20 kB too.
    monkeypatch.setattr(corpus, "BLOCK_CHARS", 20_000)
    monkeypatch.setattr(corpus, "CHUNK", 40)
    families = {"size.long_prompt": 1.0, "numbers.nan": 1.0, "size.long_array": 1.0}
    options: dict[str, Any] = {"seed": 3, "count": 150, "protocol": "openai-chat"}
    serial = corpus.planned(catalog(), families, features={}, **options)
    expected = "".join(corpus.to_line(item) + "\n" for item in serial.inputs()).encode("ascii")
    plan = corpus.planned(catalog(), families, features={}, workers=workers, **options)
    blocks = list(plan.blocks())
    assert b"".join(blocks) == expected
    longest_line = max(len(line) for line in expected.splitlines(keepends=True))
    assert max(len(block) for block in blocks) <= 20_000 + longest_line
    assert len(blocks) > 3 * 150 // 40  # cut short, not one block per task


def test_default_workers_one_per_idle_cpu_when_there_are_inputs_for_them() -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    assert corpus.default_workers(10, load=0.0) == 1
    assert corpus.default_workers(corpus.PER_PROCESS - 1, load=0.0) == 1
    assert corpus.default_workers(2 * corpus.PER_PROCESS, load=0.0) == min(2, cpus)
    assert corpus.default_workers(100 * corpus.PER_PROCESS, load=0.0) == min(8, cpus)
    # Busy CPUs get no process: every CPU busy, one process.
    assert corpus.default_workers(100 * corpus.PER_PROCESS, load=float(cpus)) == 1
    assert corpus.default_workers(100 * corpus.PER_PROCESS, load=cpus + 3.0) == 1
    if cpus >= 2:
        busy = cpus - 1.2  # about one CPU idle
        assert corpus.default_workers(100 * corpus.PER_PROCESS, load=busy) == 1
        assert corpus.default_workers(100 * corpus.PER_PROCESS, load=cpus - 2.0) == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_family_failing_past_its_first_input_is_a_scenario_error_in_any_process(
    workers: int,
) -> None:
    def fails_at_700(draw: Any) -> dict[str, Any]:
        if draw.index == 700:
            raise ValueError("no room for input 700")
        return {"messages": [{"role": "user", "content": str(draw.index)}]}

    family = dataclasses.replace(catalog()["size.single_char"], generate=fails_at_700)
    plan = corpus.planned(
        {family.name: family},
        {family.name: 1.0},
        seed=1,
        count=1_200,
        protocol="openai-chat",
        features={},
        workers=workers,
    )
    with pytest.raises(ScenarioError) as raised:
        b"".join(plan.blocks())
    assert raised.value.problems == [
        "inputs.families.size.single_char: cannot generate size.single_char-0700: "
        "no room for input 700"
    ]
