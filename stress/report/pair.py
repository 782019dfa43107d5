"""The two runs `stress compare` reads (BASE and NEW) and the thresholds it judges them by."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stress.rundir import layout
from stress.rundir.read import RunData, load_run

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
    corpus: dict[str, str] | None  # input id -> digest of its corpus line

    @property
    def records(self) -> pd.DataFrame:
        return self.data.records


def load_side(run_dir: Path) -> Side:
    """One run as compare reads it: one pass over its parts for every column it needs."""
    data = load_run(run_dir, [*RECORD_COLUMNS, *EXTRA_COLUMNS], categorical=CATEGORICAL)
    extra = data.records[list(EXTRA_COLUMNS)]
    return Side(data, extra, _corpus_digests(run_dir))


def _corpus_digests(run_dir: Path) -> dict[str, str] | None:
    path = layout.corpus(run_dir)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    digests: dict[str, str] = {}
    with handle:
        for line in handle:
            try:
                item = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                digests[item["id"]] = hashlib.sha256(line.rstrip(b"\n")).hexdigest()
    return digests
