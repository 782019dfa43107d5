"""A tabular classifier served the MLflow way and the KServe v1 way, careful or careless.

    python -m tests.reference.tabular PORT [--careless FAULT,...]

Endpoints: ``POST /invocations`` (MLflow scoring: dataframe_split, dataframe_records,
instances or inputs bodies), ``POST /v1/models/iris:predict`` (KServe v1: ``instances`` as
lists or records), ``GET /ping``, ``/health``, ``/version`` and ``/v1/models/iris``.

Each row of four iris measurements gets ``{"label", "score", "probabilities"}``: the label
is one of LABELS, the score a finite logit, the probabilities a dict of label -> softmax
probability (so a client, and ``stress init``, can see every class).

Careful (no ``--careless``): every answer is finite, every probability in [0, 1], every label
declared; anything it cannot score (not JSON, a wrong layout, a missing or extra column, a
non-number, NaN or Infinity, a value far outside the measurements' range, no rows, more
than MAX_ROWS rows) gets a 400 JSON error ``{"error_code", "message"}``, never a 5xx.

Careless: the same server, except that an input whose id (the X-Stress-Input-Id header)
``planted`` picks gets that fault answered with HTTP 200, whatever the input, even one the
careful server refuses:

    null_prediction            the row's prediction is null
    nan_score                  the score is NaN (a bare NaN token in the body)
    probability_out_of_range   a probability of 1.3
    infinity_token             the score is a bare Infinity token
    undeclared_label           the label "unknown", not one of LABELS
"""

from __future__ import annotations

import json
import math
import re
import sys
import zlib
from http.server import ThreadingHTTPServer
from typing import Any

from tests.reference import OtherMethods

FEATURES = {
    "sepal_length": (4.3, 7.9),
    "sepal_width": (2.0, 4.4),
    "petal_length": (1.0, 6.9),
    "petal_width": (0.1, 2.5),
}
COLUMNS = list(FEATURES)
LABELS = ("setosa", "versicolor", "virginica")
# Values beyond this many range widths outside a column's range cannot be measurements.
SLACK = 5.0
MAX_ROWS = 1000
MODEL = "iris"
FAULTS = (
    "null_prediction",
    "nan_score",
    "probability_out_of_range",
    "infinity_token",
    "undeclared_label",
)
# One weight row per label over the four columns, and a bias: a fixed linear model.
WEIGHTS = ((0.4, 1.2, -1.6, -1.8), (0.3, -0.6, 0.4, -0.2), (-0.6, -0.8, 1.2, 2.0))
BIAS = (1.0, 1.5, -0.5)
ID_HEADER = "X-Stress-Input-Id"
# Re-chosen when the corpus init writes changes (its families, their ids): each fault must
# still meet at least two valid and two invalid inputs for either protocol.
SALT = "cg"


def planted(input_id: str | None, faults: tuple[str, ...] = FAULTS) -> str | None:
    """The fault the careless server plants in its answer to ``input_id`` (None: none).

    Five ids in seven get one, spread evenly over FAULTS (the salt is chosen so that, with
    `stress init`'s seed 1 and 60 inputs, each fault meets valid and invalid inputs, and the
    probe's input gets none); the tests call this too, to know which answer carried which."""
    if not input_id:
        return None
    slot = zlib.crc32(f"{SALT}{input_id}".encode()) % (len(FAULTS) + 2)
    fault = FAULTS[slot] if slot < len(FAULTS) else None
    return fault if fault in faults else None


class Refused(ValueError):
    """Input the model cannot score: a 400 with this message."""


def _number(value: Any, column: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(f"column {column!r}: expected a number, got {json.dumps(value)[:40]}")
    number = float(value)
    low, high = FEATURES[column]
    width = high - low
    if not math.isfinite(number):
        raise Refused(f"column {column!r}: {number} is not a finite number")
    if number < 0:
        raise Refused(f"column {column!r}: {number:g} is negative; a length cannot be")
    if not low - SLACK * width <= number <= high + SLACK * width:
        raise Refused(f"column {column!r}: {number:g} is far outside [{low:g}, {high:g}]")
    return number


def _record(row: Any) -> list[float]:
    if isinstance(row, dict):
        if set(row) != set(COLUMNS):
            raise Refused(f"a row must have exactly the columns {COLUMNS}, got {sorted(row)}")
        return [_number(row[column], column) for column in COLUMNS]
    if isinstance(row, list):
        if len(row) != len(COLUMNS):
            raise Refused(f"a row must have {len(COLUMNS)} values, got {len(row)}")
        return [_number(value, column) for value, column in zip(row, COLUMNS, strict=True)]
    raise Refused("a row must be a list of values or an object of columns")


def rows_of(document: Any) -> list[list[float]]:
    """The rows of an MLflow or KServe v1 body (Refused when it is not one)."""
    if not isinstance(document, dict) or len(document) != 1:
        raise Refused("expected one of dataframe_split, dataframe_records, instances or inputs")
    ((key, value),) = document.items()
    if key == "dataframe_split":
        if not isinstance(value, dict) or set(value) - {"columns", "data", "index"}:
            raise Refused("dataframe_split takes columns, data and an optional index")
        columns, data = value.get("columns"), value.get("data")
        if not isinstance(columns, list) or sorted(map(str, columns)) != sorted(COLUMNS):
            raise Refused(f"dataframe_split.columns must name the columns {COLUMNS}")
        if not isinstance(data, list) or not all(
            isinstance(row, list) and len(row) == len(columns) for row in data
        ):
            raise Refused(f"dataframe_split.data must be rows of {len(columns)} values")
        raw = [dict(zip(columns, row, strict=True)) for row in data]
    elif key in ("dataframe_records", "instances"):
        if not isinstance(value, list):
            raise Refused(f"{key} must be a list of rows")
        raw = value
    elif key == "inputs":
        if not isinstance(value, dict) or set(value) != set(COLUMNS):
            raise Refused(f"inputs must be an object of the columns {COLUMNS}")
        lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
        if len(lengths) != 1 or -1 in lengths:
            raise Refused("inputs: every column must be a list, all of one length")
        raw = [{c: value[c][i] for c in COLUMNS} for i in range(lengths.pop())]
    else:
        raise Refused(f"unknown input layout {key!r}")
    if not raw:
        raise Refused("no rows to score")
    if len(raw) > MAX_ROWS:
        raise Refused(f"{len(raw)} rows: at most {MAX_ROWS} per request")
    return [_record(row) for row in raw]


def predict(row: list[float]) -> dict[str, Any]:
    """The model: softmax over three linear scores, computed stably (always finite)."""
    logits = [
        sum(w * x for w, x in zip(weights, row, strict=True)) + b
        for weights, b in zip(WEIGHTS, BIAS, strict=True)
    ]
    top = max(logits)
    exps = [math.exp(logit - top) for logit in logits]
    total = sum(exps)
    probabilities = {label: round(e / total, 6) for label, e in zip(LABELS, exps, strict=True)}
    best = max(range(len(LABELS)), key=lambda i: logits[i])
    return {"label": LABELS[best], "score": round(logits[best], 6), "probabilities": probabilities}


def faulty(fault: str, count: int) -> bytes:
    """An answer of ``count`` rows, the first carrying ``fault`` (a body Python's json would
    write only with allow_nan, as careless servers do)."""
    rows: list[Any] = [predict([5.8, 3.0, 4.3, 1.3]) for _ in range(max(count, 1))]
    if fault == "null_prediction":
        rows[0] = None
    elif fault == "nan_score":
        rows[0]["score"] = math.nan
    elif fault == "infinity_token":
        rows[0]["score"] = math.inf
    elif fault == "probability_out_of_range":
        rows[0]["probabilities"]["setosa"] = 1.3
    elif fault == "undeclared_label":
        rows[0]["label"] = "unknown"
    return json.dumps({"predictions": rows}, allow_nan=True).encode()


class Handler(OtherMethods):
    protocol_version = "HTTP/1.1"
    server_version = "reference"  # no product version in the Server header
    sys_version = ""
    faults: tuple[str, ...] = ()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def answer(self, status: int, document: Any = None, *, body: bytes | None = None) -> None:
        data = body if body is not None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, status: int, message: str) -> None:
        code = {400: "BAD_REQUEST", 404: "NOT_FOUND", 413: "TOO_LARGE", 415: "UNSUPPORTED"}
        self.answer(status, {"error_code": code.get(status, "BAD_REQUEST"), "message": message})

    def do_GET(self) -> None:
        if self.path in ("/ping", "/health"):
            self.answer(200, {"status": "ok"})
        elif self.path == "/version":
            self.answer(200, {"version": "reference-1"})
        elif self.path == f"/v1/models/{MODEL}":
            self.answer(200, {"name": MODEL, "ready": True})
        elif self.path in ("/invocations", f"/v1/models/{MODEL}:predict"):
            self.refuse(405, "use POST")  # as MLflow and KServe answer a GET there
        else:
            self.refuse(404, f"no such path {self.path[:80]!r}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 10 * 1024 * 1024:
            self.refuse(413, "body over 10 MiB")
            self.close_connection = True
            return
        body = self.rfile.read(length)
        if self.path not in ("/invocations", f"/v1/models/{MODEL}:predict"):
            self.refuse(404, f"no such path {self.path[:80]!r}")
            return
        fault = planted(self.headers.get(ID_HEADER), self.faults)
        try:
            rows = self.rows(body)
        except Refused as exc:
            if fault is not None:  # careless: answered anyway, and wrongly
                self.answer(200, body=faulty(fault, 1))
            else:
                self.refuse(400, str(exc))
            return
        if fault is not None:
            self.answer(200, body=faulty(fault, len(rows)))
            return
        self.answer(200, {"predictions": [predict(row) for row in rows]})

    def rows(self, body: bytes) -> list[list[float]]:
        media = (self.headers.get("Content-Type") or "").partition(";")[0].strip().lower()
        if media != "application/json":
            raise Refused(f"Content-Type must be application/json, got {media or 'none'!r}")
        try:
            document = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise Refused(f"not a JSON body: {str(exc)[:80]}") from None
        return rows_of(document)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def main(argv: list[str]) -> None:
    port = int(argv[0])
    faults: tuple[str, ...] = ()
    if len(argv) >= 3 and argv[1] == "--careless":
        faults = tuple(f for f in re.split(r"[,\s]+", argv[2]) if f)
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            raise SystemExit(f"--careless: unknown faults {unknown}; known: {list(FAULTS)}")
    Handler.faults = faults
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
