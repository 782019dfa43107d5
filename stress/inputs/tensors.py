"""Open Inference Protocol (KServe v2, Triton) tensors broken the ways tensor servers break.

A v2 infer request carries each input as ``{name, shape, datatype, data}``: the server has to
check that the element count matches the shape, that the data fit the datatype and that the
inputs are the model's. Each family here is a raw payload whose ``op`` the kserve-v2 adapter
applies to its own valid body (one input tensor of rows × columns), so the input name and
datatype stay the scenario's. They sit in the structure and numbers groups, where init's
default mix and a `structure.*` glob pick them up.
"""

from __future__ import annotations

from typing import Any

from stress.inputs.family import Draw, Expect, Family, Kind
from stress.inputs.realistic import rows

V2 = ("kserve-v2",)
TENSOR = ["inputs", 0]

# Per integer and half-precision datatype: values just past its range (as JSON numbers).
OVERFLOWS: dict[str, tuple[int | float, ...]] = {
    "INT8": (128, -129, 300),
    "UINT8": (256, -1, 1000),
    "INT16": (32768, -32769),
    "UINT16": (65536, -1),
    "INT32": (2**31, -(2**31) - 1),
    "UINT32": (2**32, -1),
    "INT64": (2**63, -(2**63) - 1),
    "UINT64": (2**64, -1),
    "FP16": (65520.0, 1e5, -7e4),
}


def _shape(draw: Draw) -> tuple[dict[str, Any], int, int]:
    """A valid base of 1-4 rows, its row count and its column count."""
    base = rows(draw, draw.random.randint(1, 4))
    return base, len(base["rows"]), max(len(draw.context.features), 1)


def _shape_mismatch(draw: Draw) -> dict[str, Any]:
    base, count, columns = _shape(draw)
    wrong = draw.random.choice(
        ([count + 1, columns], [count, columns + 1], [count * columns + 3], [count, columns, 2])
    )
    return {"op": "set", "path": [*TENSOR, "shape"], "value": wrong, "base": base}


def _bad_shape(draw: Draw) -> dict[str, Any]:
    base, count, columns = _shape(draw)
    # -1 is a wildcard in model metadata, never in a request; the others are not sizes at all.
    wrong = draw.random.choice(([-1, columns], [count, -1], [-count, -columns], [count, 0], []))
    return {"op": "set", "path": [*TENSOR, "shape"], "value": wrong, "base": base}


def _datatype_mismatch(draw: Draw) -> dict[str, Any]:
    base, count, columns = _shape(draw)
    rng = draw.random
    choice = rng.randrange(3)
    if choice == 0:  # floats labelled as booleans or integers
        change = {"datatype": rng.choice(("BOOL", "INT8", "UINT8"))}
        return {"op": "merge", "path": TENSOR, "value": change, "base": base}
    if choice == 1:  # strings where numbers are declared
        data = [rng.choice(("a", "1.5", "")) for _ in range(count * columns)]
        return {"op": "merge", "path": TENSOR, "value": {"data": data}, "base": base}
    # a datatype the protocol does not define
    change = {"datatype": rng.choice(("FLOAT32", "fp32", "DOUBLE", "STRING", "INT128"))}
    return {"op": "merge", "path": TENSOR, "value": change, "base": base}


def _overflow(draw: Draw) -> dict[str, Any]:
    base, count, columns = _shape(draw)
    rng = draw.random
    datatype = rng.choice(sorted(OVERFLOWS))
    data: list[int | float] = [rng.randint(0, 100) for _ in range(count * columns)]
    data[rng.randrange(len(data))] = rng.choice(OVERFLOWS[datatype])
    change = {"datatype": datatype, "data": data}
    return {"op": "merge", "path": TENSOR, "value": change, "base": base, "datatype": datatype}


def _no_inputs(draw: Draw) -> dict[str, Any]:
    base, _, _ = _shape(draw)
    return {"op": "set", "path": ["inputs"], "value": [], "base": base}


def _duplicate_input(draw: Draw) -> dict[str, Any]:
    base, _, _ = _shape(draw)
    return {"op": "repeat", "path": TENSOR, "base": base}


def _extra_input(draw: Draw) -> dict[str, Any]:
    base, _, _ = _shape(draw)
    extra = {
        "name": draw.random.choice(("stress_unexpected", "input-99", "__debug__")),
        "shape": [1, 1],
        "datatype": "FP32",
        "data": [0.5],
    }
    return {"op": "append", "path": ["inputs"], "value": extra, "base": base}


def _nested_data(draw: Draw) -> dict[str, Any]:
    """The same data as a nested row-major list: the protocol allows both forms."""
    base, _, _ = _shape(draw)
    columns_of = list(draw.context.features)
    nested = [[row[c] for c in columns_of] for row in base["rows"]]
    return {"op": "merge", "path": TENSOR, "value": {"data": nested}, "base": base}


def families() -> list[Family]:
    reject, accept = Expect.REJECT, Expect.ACCEPT
    return [
        Family(
            "structure.tensor_shape_mismatch",
            "a v2 input tensor whose shape does not match its element count",
            reject,
            Kind.RAW,
            V2,
            _shape_mismatch,
            "a reshape without a check reads past the data or silently drops values",
        ),
        Family(
            "structure.tensor_bad_shape",
            "a v2 input tensor with a wildcard (-1), negative, zero or empty shape",
            reject,
            Kind.RAW,
            V2,
            _bad_shape,
            "-1 is metadata's wildcard; numpy reshapes with it instead of refusing",
        ),
        Family(
            "structure.tensor_datatype_mismatch",
            "a v2 input tensor whose datatype does not fit its data, or is not a v2 datatype",
            reject,
            Kind.RAW,
            V2,
            _datatype_mismatch,
            "a cast to the declared type truncates floats or raises deep in the model",
        ),
        Family(
            "numbers.tensor_overflow",
            "a v2 integer or FP16 tensor with a value just past its datatype's range",
            reject,
            Kind.RAW,
            V2,
            _overflow,
            "numpy casts wrap around (300 as INT8 is 44) unless the server checks the range",
        ),
        Family(
            "structure.tensor_no_inputs",
            "a v2 infer request with an empty inputs list",
            reject,
            Kind.RAW,
            V2,
            _no_inputs,
            "inputs[0] on an empty list: an IndexError and a 500",
        ),
        Family(
            "structure.tensor_duplicate_input",
            "a v2 infer request naming the same input tensor twice",
            reject,
            Kind.RAW,
            V2,
            _duplicate_input,
            "a dict keyed by name keeps one of the two: which one depends on the server",
        ),
        Family(
            "structure.tensor_extra_input",
            "a v2 infer request with an input tensor the model does not have",
            reject,
            Kind.RAW,
            V2,
            _extra_input,
            "unknown inputs ignored hide a client sending the wrong tensors",
        ),
        Family(
            "structure.tensor_nested_data",
            "a v2 input tensor's data as a nested row-major list (valid: the protocol allows it)",
            accept,
            Kind.RAW,
            V2,
            _nested_data,
            "servers that only take flat data refuse valid requests from other clients",
        ),
    ]
