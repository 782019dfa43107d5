"""The corpus: deterministic from the seed, in any process; allocation by weight."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from stress.inputs import corpus
from stress.inputs.families import catalog

CHAT_FAMILIES = {
    name: 1.0 for name, family in catalog().items() if "openai-chat" in family.protocols
}
IRIS = {"sepal_length": (4.3, 7.9), "sepal_width": (2.0, 4.4)}

BUILD = """
import sys
from pathlib import Path
from stress.inputs import corpus
from stress.inputs.families import catalog
families = {n: 1.0 for n, f in catalog().items() if "openai-chat" in f.protocols}
items = corpus.build(catalog(), families, seed=int(sys.argv[2]), count=120,
                     protocol="openai-chat", features={})
corpus.write(Path(sys.argv[1]), items)
"""


def build_in_subprocess(path: Path, seed: int) -> bytes:
    # A different hash seed per process: nothing may depend on hash() or set order.
    env = {"PYTHONHASHSEED": str(seed * 7 + len(str(path)))}
    subprocess.run([sys.executable, "-c", BUILD, str(path), str(seed)], check=True, env=env)
    return path.read_bytes()


def test_same_seed_same_bytes_in_two_processes(tmp_path: Path) -> None:
    first = build_in_subprocess(tmp_path / "a.jsonl", 42)
    second = build_in_subprocess(tmp_path / "bb.jsonl", 42)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert len(first.splitlines()) == 120
    other = build_in_subprocess(tmp_path / "c.jsonl", 43)
    assert other != first


def test_ids_are_stable_and_unique() -> None:
    items = corpus.build(
        catalog(), CHAT_FAMILIES, seed=1, count=60, protocol="openai-chat", features={}
    )
    ids = [item.id for item in items]
    assert len(set(ids)) == len(ids) == 60
    assert "realistic.chat_prompt-0000" in ids
    # An input does not depend on how many others there are: a bigger corpus starts the same.
    bigger = corpus.build(
        catalog(), CHAT_FAMILIES, seed=1, count=120, protocol="openai-chat", features={}
    )
    by_id = {item.id: item for item in bigger}
    assert all(by_id[item.id] == item for item in items)


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
            items = corpus.build(
                catalog(), {name: 1}, seed=3, count=3, protocol=protocol, features=IRIS
            )
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
