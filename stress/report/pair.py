"""The two runs `stress compare` reads (BASE and NEW), the thresholds it judges them by, and
what makes two runs comparable at all (``differences``: the load shape, the seed, the
corpus's input bytes). An input is known by the digest of its bytes (``input_digest``: the
corpus line without its id and origin, so the same request under another seed or index is
the same input); `stress history` matches inputs by it too."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stress.errors import StressError
from stress.rundir.read import RunData, iter_corpus, load_run

# What an input's bytes do not include: its name and where the generator drew it.
_NOT_BYTES = ("id", "origin")
# What sizes a phase without shaping its load: a shortened run (--duration) compares with a
# full one; the statistical tests weigh the numbers of requests.
_SIZE = ("duration", "step_duration")
# Differences named in the refusal at most (the rest counted).
_SHOWN_DIFFERENCES = 6
# The flag that compares runs that differ anyway, as the refusal names it.
ALLOW_FLAG = "--allow-different-runs"


class IncomparableRuns(StressError):
    """BASE and NEW differ in load shape, seed or corpus: a regression verdict between them
    would measure the change of setup, not of the endpoint."""

    exit_code = 5


# Record columns compare reads beyond what RunData loads.
EXTRA_COLUMNS = ("output_digest", "output_tokens", "response_bytes", "finish_reason")
# Strings with few distinct values (at most one per corpus input): read dictionary-encoded,
# categorical in pandas, an index per request instead of a string.
CATEGORICAL = ("input_id", "family", "expect", "phase", "error_kind", "finish_reason")
# The record columns compare aggregates (a run has more: the report's load and streaming
# columns stay on disk); read in one pass with EXTRA_COLUMNS.
RECORD_COLUMNS = (
    "seq",
    "input_id",
    "family",
    "expect",
    "phase",
    "sent_at",
    "latency_ms",
    "status",
    "error_kind",
    "ok",
)


@dataclass(frozen=True)
class Thresholds:
    """What counts as a regression (see the module docstring for each rule)."""

    latency: float = 0.25
    latency_floor_ms: float = 10.0
    error_rate: float = 0.01
    significance: float = 0.01
    drift: float = 0.05
    psi: float = 0.2
    ks_p: float = 0.01
    ks_d: float = 0.1
    new_failures: int = 0
    min_requests: int = 20


@dataclass
class Side:
    data: RunData
    extra: pd.DataFrame  # EXTRA_COLUMNS, row-aligned with data.records
    corpus: dict[str, str] | None  # input id -> digest of its bytes (input_digest)

    @property
    def records(self) -> pd.DataFrame:
        return self.data.records


def load_side(run_dir: Path) -> Side:
    """One run as compare reads it: one pass over its parts for every column it needs."""
    data = load_run(run_dir, [*RECORD_COLUMNS, *EXTRA_COLUMNS], categorical=CATEGORICAL)
    extra = data.records[list(EXTRA_COLUMNS)]
    return Side(data, extra, _corpus_digests(run_dir))


def _corpus_digests(run_dir: Path) -> dict[str, str] | None:
    items = iter_corpus(run_dir)
    if items is None:
        return None
    return {item["id"]: input_digest(item) for item in items}


def corpus_digests(run_dir: Path) -> dict[str, str] | None:
    """Input id -> input_digest for every line of RUN_DIR's corpus.jsonl (None: no corpus)."""
    return _corpus_digests(run_dir)


def input_digest(item: dict[str, object]) -> str:
    """The digest of an input's bytes: its corpus line as canonical JSON, without its id and
    origin (seed, index), so identical requests under another seed digest the same."""
    content = {key: value for key, value in item.items() if key not in _NOT_BYTES}
    text = json.dumps(content, sort_keys=True, ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def differences(base: Side, new: Side) -> list[str]:
    """What makes BASE and NEW not comparable, one line each: the load shape (phases with
    their names, users, rates, kinds, arrivals; not their durations), the corpus seed, the
    corpus's input bytes."""
    found: list[str] = []
    before = [p.model_dump(mode="json") for p in base.data.scenario.load.phases]
    after = [p.model_dump(mode="json") for p in new.data.scenario.load.phases]
    if [p["name"] for p in before] != [p["name"] for p in after]:
        names = [", ".join(str(p["name"]) for p in side) for side in (before, after)]
        found.append(f"load phases: [{names[0]}] in BASE, [{names[1]}] in NEW")
    else:
        for old, now in zip(before, after, strict=True):
            changed = [k for k in old if k not in _SIZE and old[k] != now.get(k)]
            found.extend(
                f"load phase {old['name']}: {key} {_value(old[key])} in BASE, "
                f"{_value(now.get(key))} in NEW"
                for key in changed
            )
    seeds = base.data.scenario.inputs.seed, new.data.scenario.inputs.seed
    if seeds[0] != seeds[1]:
        found.append(f"inputs.seed: {seeds[0]} in BASE, {seeds[1]} in NEW")
    if base.corpus is not None and new.corpus is not None:
        old_bytes, new_bytes = set(base.corpus.values()), set(new.corpus.values())
        if old_bytes != new_bytes:
            only_base = sum(d not in new_bytes for d in base.corpus.values())
            only_new = sum(d not in old_bytes for d in new.corpus.values())
            found.append(
                f"corpus: {only_base} of {len(base.corpus)} BASE inputs are not in NEW and "
                f"{only_new} of {len(new.corpus)} NEW inputs not in BASE (compared by the "
                f"digest of their bytes)"
            )
    return found


def refuse(found: list[str]) -> None:
    """Raise IncomparableRuns naming what differs and the flag that compares anyway."""
    shown = found[:_SHOWN_DIFFERENCES]
    more = len(found) - len(shown)
    lines = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    raise IncomparableRuns(
        f"no verdict: BASE and NEW are not runs of the same setup ({lines}); a regression "
        f"between them would measure that change, not the endpoint's. Compare runs of the "
        f"same load, seed and corpus, or pass {ALLOW_FLAG} to compare them anyway"
    )


def _value(value: object) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False)
