"""flakiness.failing_inputs, vectorised in Arrow, gives what the row-by-row loop it replaced
gave (kept here as the reference), on records read back from Parquet the way the report
reads them and on plain pandas frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from stress.checks import flakiness

CHECKS = ("not_a_server_error", "no_timeout", "response_shape", "leaks")
_BY_SEVERITY = {"error": "failed_checks", "warning": "warned_checks", "info": "info_checks"}


def reference(records: pd.DataFrame, fail_on: Sequence[str]) -> list[flakiness.Failing]:
    """The loop over every row that failing_inputs was before it was vectorised."""
    if records.empty:
        return []
    ordered = records.sort_values(["seq", "worker"], kind="stable")
    columns = [_BY_SEVERITY[severity] for severity in fail_on if severity in _BY_SEVERITY]
    families: dict[str, str] = {}
    checks: dict[str, set[str]] = {}
    phases: dict[str, dict[str, None]] = {}
    requests: dict[str, int] = {}
    for row in ordered.itertuples(index=False):
        failed: set[str] = set()
        for column in columns:
            value = getattr(row, column, None)
            if value is not None and len(value):
                failed.update(str(check) for check in value)
        if not failed:
            continue
        input_id = str(row.input_id)
        families.setdefault(input_id, str(row.family))
        checks.setdefault(input_id, set()).update(failed)
        phases.setdefault(input_id, {})[str(row.phase)] = None
        requests[input_id] = requests.get(input_id, 0) + 1
    return [
        flakiness.Failing(
            input_id,
            family,
            tuple(sorted(checks[input_id])),
            tuple(phases[input_id]),
            requests[input_id],
        )
        for input_id, family in families.items()
    ]


lists = st.one_of(st.none(), st.lists(st.sampled_from(CHECKS), max_size=3))
row = st.fixed_dictionaries(
    {
        "seq": st.integers(1, 30),
        "worker": st.integers(0, 2),
        "input": st.integers(0, 6),
        "phase": st.sampled_from(["baseline", "load", "soak"]),
        "failed_checks": st.lists(st.sampled_from(CHECKS), max_size=3),
        "warned_checks": st.lists(st.sampled_from(CHECKS), max_size=2),
        "info_checks": lists,
    }
)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    data = {
        "seq": [r["seq"] for r in rows],
        "worker": [r["worker"] for r in rows],
        "input_id": [f"fam{r['input'] % 3}-{r['input']:04d}" for r in rows],
        "family": [f"fam{r['input'] % 3}" for r in rows],
        "phase": [r["phase"] for r in rows],
        "failed_checks": [r["failed_checks"] for r in rows],
        "warned_checks": [r["warned_checks"] for r in rows],
        "info_checks": [r["info_checks"] for r in rows],
    }
    schema = pa.schema(
        [
            ("seq", pa.int64()),
            ("worker", pa.int32()),
            ("input_id", pa.string()),
            ("family", pa.string()),
            ("phase", pa.string()),
            ("failed_checks", pa.list_(pa.string())),
            ("warned_checks", pa.list_(pa.string())),
            ("info_checks", pa.list_(pa.string())),
        ]
    )
    # As the report has them: an Arrow table (Parquet parts) converted by to_pandas.
    return pa.Table.from_pydict(data, schema=schema).to_pandas()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(row, max_size=40),
    st.sampled_from([["error"], ["error", "warning"], ["warning", "info"], []]),
)
def test_the_vectorised_failing_inputs_equal_the_row_loop(
    rows: list[dict[str, Any]], fail_on: list[str]
) -> None:
    records = frame(rows)
    assert flakiness.failing_inputs(records, fail_on) == reference(records, fail_on)


def test_order_is_first_failure_by_seq_then_worker_and_phases_in_order() -> None:
    records = frame(
        [
            {
                "seq": 5,
                "worker": 0,
                "input": 1,
                "phase": "soak",
                "failed_checks": ["leaks"],
                "warned_checks": [],
                "info_checks": None,
            },
            {
                "seq": 2,
                "worker": 1,
                "input": 2,
                "phase": "load",
                "failed_checks": ["no_timeout"],
                "warned_checks": [],
                "info_checks": None,
            },
            {
                "seq": 2,
                "worker": 0,
                "input": 1,
                "phase": "load",
                "failed_checks": ["response_shape", "leaks"],
                "warned_checks": [],
                "info_checks": [],
            },
            {
                "seq": 1,
                "worker": 0,
                "input": 2,
                "phase": "baseline",
                "failed_checks": [],
                "warned_checks": ["leaks"],
                "info_checks": None,
            },
        ]
    )
    found = flakiness.failing_inputs(records, ["error"])
    assert found == [
        flakiness.Failing("fam1-0001", "fam1", ("leaks", "response_shape"), ("load", "soak"), 2),
        flakiness.Failing("fam2-0002", "fam2", ("no_timeout",), ("load",), 1),
    ]
    # With warnings, input 2 failed first (seq 1, baseline).
    assert [f.input_id for f in flakiness.failing_inputs(records, ["error", "warning"])] == [
        "fam2-0002",
        "fam1-0001",
    ]
