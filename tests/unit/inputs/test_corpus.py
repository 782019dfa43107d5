"""The corpus: deterministic from the seed, in any process and across worker processes;
allocation by weight and exact counts; every entry regenerates from its origin."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from stress.inputs import corpus
from stress.inputs.families import Cache, Context, catalog

# Every family for openai-chat that needs nothing from the scenario (realistic.logged needs a log).
CHAT_FAMILIES = {
    name: 1.0
    for name, family in catalog().items()
    if "openai-chat" in family.protocols and not family.misfit(Context("openai-chat"))
}
IRIS = {"sepal_length": (4.3, 7.9), "sepal_width": (2.0, 4.4)}

BUILD = """
import sys
from pathlib import Path
from stress.inputs import corpus
from stress.inputs.families import Context, catalog
families = {n: 1.0 for n, f in catalog().items()
            if "openai-chat" in f.protocols and not f.misfit(Context("openai-chat"))}
items = corpus.build(catalog(), families, seed=int(sys.argv[2]), count=240,
                     protocol="openai-chat", features={}, workers=int(sys.argv[3]))
corpus.write(Path(sys.argv[1]), items)
"""


def build_in_subprocess(path: Path, seed: int, *, workers: int = 1) -> bytes:
    # A different hash seed per process: nothing may depend on hash() or set order.
    env = {"PYTHONHASHSEED": str(seed * 7 + len(str(path)))}
    subprocess.run(
        [sys.executable, "-c", BUILD, str(path), str(seed), str(workers)], check=True, env=env
    )
    return path.read_bytes()


def test_same_seed_same_bytes_in_two_processes(tmp_path: Path) -> None:
    first = build_in_subprocess(tmp_path / "a.jsonl", 42)
    second = build_in_subprocess(tmp_path / "bb.jsonl", 42, workers=2)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert len(first.splitlines()) == 240
    other = build_in_subprocess(tmp_path / "c.jsonl", 43)
    assert other != first


def test_worker_processes_change_nothing_but_time() -> None:
    families = {"realistic.tabular_rows": 1.0, "structure.wrong_type": 1.0, "numbers.nan": 1.0}
    arguments = {"seed": 4, "count": 1_300, "protocol": "mlflow", "features": IRIS}
    serial = corpus.build(catalog(), families, workers=1, **arguments)  # type: ignore[arg-type]
    parallel = corpus.build(catalog(), families, workers=2, **arguments)  # type: ignore[arg-type]
    assert [corpus.to_line(i) for i in serial] == [corpus.to_line(i) for i in parallel]


def test_ids_are_stable_and_unique() -> None:
    items = corpus.build(
        catalog(), CHAT_FAMILIES, seed=1, count=200, protocol="openai-chat", features={}
    )
    ids = [item.id for item in items]
    assert len(set(ids)) == len(ids) == 200
    assert "realistic.chat_prompt-0000" in ids
    # An input does not depend on how many others there are: a bigger corpus starts the same.
    bigger = corpus.build(
        catalog(), CHAT_FAMILIES, seed=1, count=400, protocol="openai-chat", features={}
    )
    by_id = {item.id: item for item in bigger}
    assert all(by_id[item.id] == item for item in items)


def test_every_entry_regenerates_from_its_origin() -> None:
    families = catalog()
    items = corpus.build(
        families, CHAT_FAMILIES, seed=9, count=150, protocol="openai-chat", features={}
    )
    context = Context(protocol="openai-chat", seed=9)
    for item in items:
        assert item.origin["seed"] == 9
        assert corpus.regenerate(item, families, context) == item


def test_counts_are_exact_and_weights_share_the_rest() -> None:
    sizes = corpus.plan({"a": 1, "b": 3, "c": 1}, 100, {"c": 7})
    assert sizes["c"] == 7
    assert sizes["a"] + sizes["b"] == 93
    assert sizes["b"] > 2 * sizes["a"]


def test_round_trip_keeps_nul_surrogates_and_nan(tmp_path: Path) -> None:
    items = [
        corpus.Input(
            "x-0000",
            "x",
            "accept",
            "prompt",
            {"messages": [{"role": "user", "content": "a\x00b\ud800c\u202e"}]},
        ),
        corpus.Input("y-0000", "y", "reject", "rows", {"rows": [{"a": float("nan")}]}),
    ]
    path = tmp_path / "corpus.jsonl"
    corpus.write(path, items)
    back = corpus.read(path)
    assert back[0] == items[0]
    assert back[1].payload["rows"][0]["a"] != back[1].payload["rows"][0]["a"]  # NaN
    path.read_bytes().decode("ascii")  # the file itself is plain ASCII


def test_every_family_generates_for_its_protocols() -> None:
    for name, family in catalog().items():
        for protocol in family.protocols:
            context = Context(protocol=protocol, seed=3, features=IRIS)
            if family.misfit(context):
                continue
            items = [corpus.generate(family, context, i, cache=Cache()) for i in range(3)]
            assert [item.family for item in items] == [name] * 3
            assert all(item.expect == family.expect.value for item in items)
            json.dumps([item.payload for item in items])


@given(
    st.dictionaries(st.text(min_size=1, max_size=5), st.floats(0.01, 100), min_size=1, max_size=8),
    st.integers(1, 500),
)
def test_allocate_gives_each_family_a_share(weights: dict[str, float], count: int) -> None:
    counts = corpus.allocate(weights, count)
    assert set(counts) == set(weights)
    assert all(n >= 1 for n in counts.values())
    assert sum(counts.values()) == max(count, len(weights))


def test_http_json_inputs_are_labelled_with_what_its_template_takes() -> None:
    # http-json takes text unless the scenario declares features: a prompt family makes
    # text there, labelled "prompt" (it was labelled "rows" whatever the template took).
    arguments = {"seed": 3, "count": 5, "protocol": "http-json"}
    family = {"perturbation.original": 1.0}
    text = corpus.build(catalog(), family, features={}, **arguments)  # type: ignore[arg-type]
    assert {item.kind for item in text} == {"prompt"}
    assert all(isinstance(item.payload.get("messages"), list) for item in text)
    rows = corpus.build(catalog(), family, features=IRIS, **arguments)  # type: ignore[arg-type]
    assert {item.kind for item in rows} == {"rows"}
    assert all(isinstance(item.payload.get("rows"), list) for item in rows)
