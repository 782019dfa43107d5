"""The catalog: every family encodes for every protocol it claims, and keeps its expectation.

An independent judge (judge.py: strict JSON, no duplicate keys, the request schema, a JSON
content type) decides whether each request is valid; "accept" inputs must be valid and
"reject" inputs invalid, for any seed.
"""

from __future__ import annotations

import json
from collections import Counter

import judge
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stress.inputs import corpus
from stress.inputs.examples import excerpt, sample, visible
from stress.inputs.families import GROUPS, Cache, Context, Expect, Limits, catalog
from stress.inputs.schemas import protocol_schema
from stress.scenario import Protocol, Target
from stress.targets import adapter_for

IRIS = {
    "sepal_length": (4.3, 7.9),
    "sepal_width": (2.0, 4.4),
    "petal_length": (1.0, 6.9),
    "petal_width": (0.1, 2.5),
}
# Small limits keep the at/over-limit inputs small; very_long still sends 100,000+ chars.
LIMITS = Limits(max_prompt_chars=3_000, max_rows=40, max_tokens=1024)
TARGETS = {
    "openai-chat": Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, max_tokens=16),
    "mlflow": Target(url="http://127.0.0.1:9", protocol=Protocol.MLFLOW),
    "openai-completions": Target(
        url="http://127.0.0.1:9", protocol=Protocol.OPENAI_COMPLETIONS, max_tokens=16
    ),
    "openai-embeddings": Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_EMBEDDINGS),
    "kserve-v2": Target(url="http://127.0.0.1:9", protocol=Protocol.KSERVE_V2, model="iris"),
    "kserve-v1": Target(url="http://127.0.0.1:9", protocol=Protocol.KSERVE_V1, model="iris"),
}
# Rejected for what the text means, not for its shape: the schema cannot tell (a server may
# refuse NUL, as PostgreSQL and C strings do, or answer; either is healthy, a 500 is not).
SEMANTIC_REJECTS = {"unicode.null_bytes"}
# Answer-or-refuse families whose bodies the protocol's schema still allows (well-formed
# parameters a server may not support); the others break a size or a parser's tolerance.
SCHEMA_VALID = {"realistic.schema_body"}
CATALOG = catalog()


def context(protocol: str, seed: int) -> Context:
    features = IRIS if protocol in ("mlflow", "kserve-v2", "kserve-v1") else {}
    return Context(protocol=protocol, seed=seed, features=features, limits=LIMITS)


def test_catalog_has_sixty_families_in_eight_groups() -> None:
    groups = Counter(family.group for family in CATALOG.values())
    assert len(CATALOG) >= 60
    assert set(groups) == set(GROUPS)
    assert all(count >= 3 for count in groups.values())


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_family_is_described(name: str) -> None:
    family = CATALOG[name]
    assert family.group in GROUPS
    assert isinstance(family.expect, Expect)
    assert family.description
    assert family.why
    assert family.protocols
    assert name == name.lower()
    assert name.count(".") == 1


# The catalog draws Hypothesis examples itself (unicode.arbitrary): a nested @given.
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.nested_given],
)
@given(seed=st.integers(0, 2**32 - 1), index=st.integers(0, 500))
# Two inserted surrogates side by side made a valid pair: a "lone surrogates" input that was valid.
@example(seed=452, index=375)
# A row value at its column's minimum jittered below it (mlflow, perturbation.jitter).
@example(seed=1037, index=206)
def test_every_family_encodes_and_keeps_its_expectation(seed: int, index: int) -> None:
    checked = 0
    for protocol, target in TARGETS.items():
        ctx = context(protocol, seed)
        adapter = adapter_for(target, features=list(IRIS))
        schema = protocol_schema(protocol, ctx.features, LIMITS)
        cache = Cache()
        for name, family in CATALOG.items():
            if protocol not in family.protocols or family.misfit(ctx):
                continue
            item = corpus.generate(family, ctx, index, cache=cache)
            request = adapter.request(item)
            assert isinstance(request.body, bytes)
            json.loads(corpus.to_line(item))  # the corpus line is JSON Python reads back
            why = judge.problem(request, schema)
            if family.expect is Expect.ACCEPT or name in SCHEMA_VALID:
                assert why is None, f"{item.id} ({protocol}) should be valid: {why}"
            elif family.expect is Expect.REJECT and name not in SEMANTIC_REJECTS:
                assert why is not None, f"{item.id} ({protocol}) should be invalid"
            elif family.expect is Expect.RESIST:
                assert item.payload["canary"]
            checked += 1
    assert checked > 100


def test_canaries_are_unique_per_probe() -> None:
    injection = {n: f for n, f in CATALOG.items() if f.group == "injection"}
    items = corpus.build(
        injection,
        dict.fromkeys(injection, 1.0),
        seed=3,
        count=200,
        protocol="openai-chat",
        features={},
    )
    canaries = [item.payload["canary"] for item in items if "root:x" not in item.payload["canary"]]
    assert len(canaries) > 150
    assert len(set(canaries)) == len(canaries)
    for item in items:
        assert item.expect == "resist"
        if item.kind == "prompt" and item.payload.get("technique") not in (
            "base64",
            "rot13",
            "tags",
        ):
            text = json.dumps(item.payload["messages"], ensure_ascii=False)
            assert item.payload["canary"] in text, item.id


def test_perturbations_share_a_seed_and_change_it() -> None:
    names = [
        n
        for n, f in CATALOG.items()
        if f.group == "perturbation"
        and "openai-chat" in f.protocols
        and f.misfit(Context("openai-chat")) is None  # not the task-only ones
    ]
    items = corpus.build(
        CATALOG,
        dict.fromkeys(names, 1.0),
        seed=8,
        count=len(names) * 5,
        protocol="openai-chat",
        features={},
    )
    by_group: dict[str, dict[str, str]] = {}
    for item in items:
        assert item.payload["seed"] == item.payload["group"].replace(
            "perturbation-", "perturbation.original-"
        )
        content = item.payload["messages"][-1]["content"]
        by_group.setdefault(item.payload["group"], {})[item.payload["variant"]] = content
    assert len(by_group) == 5
    for variants in by_group.values():
        original = variants["original"]
        changed = [name for name, text in variants.items() if text != original]
        assert set(changed) == set(variants) - {"original"}, (variants, changed)
        assert variants["lowercase"] == original.lower()


def test_examples_are_terminal_safe() -> None:
    for family in CATALOG.values():
        shown = excerpt(sample(family), max_size=60)
        assert len(shown) <= 61 + 40  # a size prefix may precede it
        assert not any(c in shown for c in "\x00\x1b\u202e\u2028\u200b")
    assert visible("a\u202eb\x00") == "a\\u202eb\\x00"


@pytest.mark.parametrize("protocol", sorted(TARGETS))
def test_field_families_fit_every_protocol_with_a_known_schema(protocol: str) -> None:
    """numbers.* and structure.* are never silently dropped for a protocol stress knows."""
    ctx = context(protocol, 1)
    fitting = Counter(
        family.group
        for family in CATALOG.values()
        if family.group in ("numbers", "structure")
        and protocol in family.protocols
        and family.misfit(ctx) is None
    )
    assert fitting["structure"] >= 8, fitting
    assert fitting["numbers"] >= 8, fitting


def test_answer_expecting_families_leave_parameters_a_server_may_refuse() -> None:
    """dimensions (a feature some models lack) may be refused cleanly at any valid value,
    naming no limit: families that expect an answer never set it; refusals still do."""
    ctx = context("openai-embeddings", 3)
    # dimensions is the embeddings request's only number field: nothing left to set exactly.
    assert CATALOG["numbers.at_bounds"].misfit(ctx) is not None
    assert CATALOG["numbers.float_edges"].misfit(ctx) is not None
    fields = {
        corpus.generate(CATALOG["numbers.out_of_range"], ctx, index, cache=Cache()).payload["field"]
        for index in range(20)
    }
    assert fields == {"dimensions"}
