"""Turn an MLflow scoring request body into a numeric row matrix for the demo classifier.

Accepts the four JSON layouts MLflow's /invocations accepts; exactly one must be present:

=====================  ==============================================================
key                    value
=====================  ==============================================================
``dataframe_split``    ``{"columns": [...], "data": [[...], ...]}`` (``index`` ignored)
``dataframe_records``  ``[{column: value, ...}, ...]``
``instances``          ``[[v, v, v, v], ...]`` (columns in model order) or records
``inputs``             ``[[v, v, v, v], ...]``, records, or ``{column: [v, ...], ...}``
=====================  ==============================================================

Extra columns are ignored, as MLflow's schema enforcement drops them. Non-finite numbers
(NaN, Infinity, 1e400) pass through: whether they are an error is the server's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["FORMATS", "MAX_ROWS", "PayloadError", "rows_from_payload"]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")

# A cap like real deployments put in front of a model: a batch of a million rows would tie
# up a slot for seconds, and an honest client splits big batches anyway.
MAX_ROWS = 1000


class PayloadError(ValueError):
    """The body does not describe a table the model can score; the message is for the client."""


def rows_from_payload(
    payload: object, columns: Sequence[str], *, max_rows: int = MAX_ROWS
) -> npt.NDArray[np.float64]:
    """Rows of `payload` as an (n, len(columns)) float array in `columns` order.

    Raises PayloadError naming the offending key, row or column.
    """
    if not isinstance(payload, dict):
        raise PayloadError(f"the body must be a JSON object, got {_type_name(payload)}")
    present = [key for key in FORMATS if key in payload]
    if len(present) != 1:
        found = f"got {', '.join(present)}" if present else "got none"
        raise PayloadError(f"the body must have exactly one of {', '.join(FORMATS)}; {found}")
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        rows = _split(value, columns)
    elif key == "dataframe_records":
        rows = _records(value, columns, where=key)
    elif key == "inputs" and isinstance(value, dict):
        rows = _columnar(value, columns)
    else:
        rows = _list_rows(value, columns, where=key)
    if not rows:
        raise PayloadError(f"{key}: no rows to score")
    if len(rows) > max_rows:
        raise PayloadError(f"{key}: {len(rows)} rows is over the limit of {max_rows} per request")
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))


def _split(value: object, columns: Sequence[str]) -> list[list[float]]:
    if not isinstance(value, dict):
        raise PayloadError(f"dataframe_split: expected an object, got {_type_name(value)}")
    names, data = value.get("columns"), value.get("data")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PayloadError("dataframe_split.columns: expected a list of column names")
    if len(set(names)) != len(names):
        raise PayloadError("dataframe_split.columns: column names must be unique")
    _require_columns(names, columns, where="dataframe_split.columns")
    if not isinstance(data, list):
        raise PayloadError(f"dataframe_split.data: expected a list of rows, got {_type_name(data)}")
    positions = [names.index(column) for column in columns]
    rows = []
    for i, row in enumerate(data):
        where = f"dataframe_split.data[{i}]"
        if not isinstance(row, list) or len(row) != len(names):
            raise PayloadError(f"{where}: expected a list of {len(names)} values, one per column")
        rows.append([_number(row[p], f"{where}[{p}]") for p in positions])
    return rows


def _records(value: object, columns: Sequence[str], *, where: str) -> list[list[float]]:
    if not isinstance(value, list):
        raise PayloadError(f"{where}: expected a list of records, got {_type_name(value)}")
    rows = []
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise PayloadError(f"{where}[{i}]: expected an object, got {_type_name(record)}")
        _require_columns(record, columns, where=f"{where}[{i}]")
        rows.append([_number(record[c], f"{where}[{i}].{c}") for c in columns])
    return rows


def _list_rows(value: object, columns: Sequence[str], *, where: str) -> list[list[float]]:
    """Positional rows ([[...], ...]) or records ([{...}, ...]), not a mix."""
    if not isinstance(value, list):
        raise PayloadError(f"{where}: expected a list of rows, got {_type_name(value)}")
    if value and all(isinstance(row, dict) for row in value):
        return _records(value, columns, where=where)
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != len(columns):
            raise PayloadError(
                f"{where}[{i}]: expected a list of {len(columns)} numbers"
                f" ({', '.join(columns)}), got {_describe(row)}"
            )
        rows.append([_number(v, f"{where}[{i}][{j}]") for j, v in enumerate(row)])
    return rows


def _columnar(value: Mapping[str, object], columns: Sequence[str]) -> list[list[float]]:
    _require_columns(value, columns, where="inputs")
    series = []
    for column in columns:
        cells = value[column]
        if not isinstance(cells, list):
            raise PayloadError(f"inputs.{column}: expected a list, got {_type_name(cells)}")
        series.append([_number(v, f"inputs.{column}[{i}]") for i, v in enumerate(cells)])
    if len({len(cells) for cells in series}) != 1:
        raise PayloadError("inputs: every column must have the same number of values")
    return [list(row) for row in zip(*series, strict=True)]


def _require_columns(
    present: Sequence[str] | Mapping[str, object], columns: Sequence[str], *, where: str
) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise PayloadError(
            f"{where}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}"
        )


def _number(value: object, where: str) -> float:
    # bool is an int subclass; true/false in a feature column is a client mistake.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{where}: expected a number, got {_describe(value)}")
    try:
        return float(value)
    except OverflowError:  # a 400-digit JSON integer: too large for float64
        raise PayloadError(f"{where}: number is too large for a 64-bit float") from None


def _describe(value: object) -> str:
    text = repr(value)
    # Messy-input tests send megabyte strings; echoing them back helps nobody.
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({_type_name(value)})"


def _type_name(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "value")
