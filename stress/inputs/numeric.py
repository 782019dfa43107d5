"""Number edge cases in the number fields of the request schema (max_tokens, temperature,
top_p, ... for chat; every cell for tabular), written as exact JSON text.

Values go out as Tokens, so ``1e400``, ``-0`` and a 5,000-digit integer reach the server as
written instead of as whatever Python's float would print.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from stress.inputs.family import ALL_PROTOCOLS as BOTH
from stress.inputs.family import TABULAR, Draw, Expect, Family, Kind
from stress.inputs.protocol_schemas import MAY_REFUSE, SIZE
from stress.inputs.realistic import row
from stress.inputs.schemas import Field, bounds
from stress.inputs.structure import fitting, reachable, targeted

# Python refuses to parse integers longer than this many digits (CVE-2020-10735): a server
# in Python answers such a number with whatever its JSON layer does with ValueError.
PYTHON_INT_DIGITS = 4300


def _number(field: Field, everything: Sequence[Field]) -> bool:
    if field.schema.get(SIZE):  # a tensor's shape: see stress.inputs.tensors
        return False
    return bool(field.types & {"integer", "number"}) and (
        field.required or reachable(field, everything)
    )


def _answerable(
    choose: Callable[[Field, Sequence[Field]], bool],
) -> Callable[[Field, Sequence[Field]], bool]:
    return lambda field, everything: choose(field, everything) and not field.schema.get(MAY_REFUSE)


def _only(kind: str) -> Callable[[Field, Sequence[Field]], bool]:
    def choose(field: Field, everything: Sequence[Field]) -> bool:
        return _number(field, everything) and kind in field.types

    return choose


def _with(test: Callable[[Field], bool]) -> Callable[[Field, Sequence[Field]], bool]:
    return lambda field, everything: _number(field, everything) and test(field)


def _range(field: Field) -> tuple[float, float]:
    return bounds(field.schema, integer="integer" in field.types)


def _declared(field: Field) -> bool:
    return "minimum" in field.schema or "maximum" in field.schema


def _text(value: float, *, integer: bool) -> str:
    return str(int(value)) if integer else repr(float(value))


def _set(token: str) -> dict[str, Any]:
    return {"op": "set", "token": token}


def _numbers(
    draw: Draw,
    tokens: Callable[[Draw, Field], str],
    choose: Callable[[Field, Sequence[Field]], bool] = _number,
    prefer: Callable[[Field, Sequence[Field]], bool] | None = None,
) -> dict[str, Any]:
    """Damage a number field matching ``choose`` (one matching ``prefer``, if any does)."""
    return targeted(draw, choose, lambda d, f: _set(tokens(d, f)), prefer=prefer)


def _nan(draw: Draw, field: Field) -> str:
    return "NaN"


def _infinity(draw: Draw, field: Field) -> str:
    return draw.random.choice(("Infinity", "-Infinity"))


def _overflow(draw: Draw, field: Field) -> str:
    return draw.random.choice(("1e400", "-1e400", "1e309", "2e308", "1E+999"))


def _negative_zero(draw: Draw, field: Field) -> str:
    return "-0" if "integer" in field.types else draw.random.choice(("-0.0", "-0", "-0e0"))


def _huge_integer(draw: Draw, field: Field) -> str:
    return draw.random.choice(
        (
            str(2**63),
            str(2**64 + 1),
            str(-(2**63) - 1),
            str(10**30),
            "1" + "0" * (PYTHON_INT_DIGITS + draw.random.randint(1, 800)),
        )
    )


# Doubles that round-trip badly or sit at the edges of the format, all between 0 and 1.
_EDGE_FRACTIONS = (
    "5e-324",  # smallest subnormal
    "2.2250738585072014e-308",  # smallest normal
    "1e-15",
    "0.30000000000000004",
    "0.1000000000000000055511151231257827",  # more digits than a double holds
    "0.9999999999999999",
    "0.333333333333333314829616256247390992939472198486328125",
)


def _float_edge(draw: Draw, field: Field) -> str:
    low, high = _range(field)
    fraction = draw.random.choice(_EDGE_FRACTIONS)
    if low <= 0 and float(fraction) <= high:
        return fraction
    # Shift into the range: low plus a tiny fraction of its width keeps 17 digits busy.
    return repr(min(high, low + float(fraction) * (high - low)))


def _declared_bounds(field: Field) -> list[int | float]:
    """The declared minimum and maximum as written (integers stay exact)."""
    return [field.schema[key] for key in ("minimum", "maximum") if key in field.schema]


def _at_bound(draw: Draw, field: Field) -> str:
    value = draw.random.choice(_declared_bounds(field))
    return str(value) if "integer" in field.types else repr(float(value))


def _out_of_range(draw: Draw, field: Field) -> str:
    integer = "integer" in field.types
    low, high = _range(field)
    width = max(high - low, 1.0)
    if draw.context.tabular:  # realistic ranges, not hard limits: go far outside them
        return _text(draw.random.choice((low - 10 * width, high + 10 * width)), integer=False)
    value = draw.random.choice(_declared_bounds(field))
    outward = -1 if value == field.schema.get("minimum") else 1
    if integer:
        return str(int(value) + outward)
    return repr(float(value) + outward * max(width * 1e-6, 1e-9))


def _numeric_string(draw: Draw, field: Field) -> str:
    integer = "integer" in field.types
    low, high = _range(field)
    value = _text((low + high) / 2, integer=integer)
    variant = draw.random.choice((value, f" {value} ", "1e2", "0x10", "1_000", "∞"))
    return '"' + variant + '"'


def _boolean(draw: Draw, field: Field) -> str:
    return draw.random.choice(("true", "false"))


def _negative(draw: Draw, field: Field) -> str:
    integer = "integer" in field.types
    high = _range(field)[1]
    magnitude = draw.random.choice((1.0, max(high, 1.0), 1e-3 if not integer else 1.0))
    return _text(-magnitude, integer=integer)


def _non_finite_rows(draw: Draw) -> dict[str, Any]:
    rows = [row(draw) for _ in range(draw.random.randint(1, 4))]
    target = draw.random.choice(rows)
    column = draw.random.choice(sorted(target))
    target[column] = draw.random.choice((math.nan, math.inf, -math.inf))
    return {"rows": rows}


def _includes_zero(field: Field) -> bool:
    low, high = _range(field)
    return low <= 0 <= high


def families() -> list[Family]:
    reject, accept = Expect.REJECT, Expect.ACCEPT

    def family(
        name: str,
        description: str,
        expect: Expect,
        tokens: Callable[[Draw, Field], str],
        why: str,
        choose: Callable[[Field, Sequence[Field]], bool] = _number,
        need: str = "number field",
        prefer: Callable[[Field, Sequence[Field]], bool] | None = None,
    ) -> Family:
        if expect is accept:  # a valid value a careful server may still refuse is no test
            choose = _answerable(choose)
        return Family(
            f"numbers.{name}",
            description,
            expect,
            Kind.RAW,
            BOTH,
            lambda d: _numbers(d, tokens, choose, prefer),
            why,
            fits=fitting(choose, need),
        )

    return [
        family(
            "nan",
            "a number field set to the bare token NaN (not JSON, but Python and JS emit it)",
            reject,
            _nan,
            "NaN passes every < and > comparison, so range checks let it through to the model",
        ),
        family(
            "infinity",
            "a number field set to Infinity or -Infinity (not JSON)",
            reject,
            _infinity,
            "lenient parsers accept it; arithmetic and int() on it then raise",
        ),
        family(
            "overflow",
            "a number field set to 1e400 and friends: valid JSON syntax, too big for a double",
            reject,
            _overflow,
            "parses to infinity silently in most languages",
        ),
        family(
            "negative_zero",
            "a number field set to -0, -0.0 or -0e0 where zero is allowed",
            accept,
            _negative_zero,
            "-0 is equal to 0 but prints, hashes and divides differently",
            _with(_includes_zero),
            "number field whose range includes 0",
        ),
        family(
            "huge_integer",
            "a number field (integers first) set to 2**63, 2**64+1, 10**30 or 4,300+ digits",
            reject,
            _huge_integer,
            "int64 overflow; Python refuses over 4,300 digits with ValueError",
            _with(lambda f: _range(f)[1] < 2**63),
            "number field bounded below 2**63",
            prefer=_only("integer"),
        ),
        family(
            "float_edges",
            "a number field set to a subnormal, 0.30000000000000004 or a 40-digit decimal in range",
            accept,
            _float_edge,
            "valid values that round-trip badly; a healthy server answers normally",
            _only("number"),
            "non-integer number field",
        ),
        family(
            "at_bounds",
            "a number field set exactly to its declared minimum or maximum",
            accept,
            _at_bound,
            "off-by-one: the bounds themselves are valid and must be accepted",
            _with(_declared),
            "number field with declared bounds",
        ),
        family(
            "out_of_range",
            "a number field just outside its declared bounds (tabular: far outside the ranges)",
            reject,
            _out_of_range,
            "off-by-one the other way; unchecked values reach the model",
            _with(_declared),
            "number field with declared bounds",
        ),
        family(
            "numeric_string",
            'a number field sent as a string: "0.5", " 48 ", "1e2", "0x10", "1_000"',
            reject,
            _numeric_string,
            "lax coercion accepts some spellings and not others: behaviour depends on luck",
        ),
        family(
            "boolean_for_number",
            "a number field set to true or false",
            reject,
            _boolean,
            "in Python True is an int: isinstance checks pass and True means 1",
        ),
        family(
            "negative",
            "a field that only makes sense positive (max_tokens, n, a length) set negative",
            reject,
            _negative,
            "negative counts turn into huge unsigned values or empty slices",
            _with(lambda f: _range(f)[0] >= 0),
            "number field with a minimum of 0 or more",
        ),
        Family(
            "numbers.non_finite",
            "rows with NaN or Infinity in a cell (invalid JSON tokens)",
            reject,
            Kind.ROWS,
            TABULAR,
            _non_finite_rows,
            "scikit-learn and numpy raise on non-finite input: a 500 unless validated",
        ),
    ]
