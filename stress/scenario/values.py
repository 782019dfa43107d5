"""Scalar values of a scenario: durations, fractions, sizes, and the strict base model."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"1.5m"``, ``"500ms"`` or ``"1h"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    else:
        raise ValueError(f"expected a duration like 30s, 2m or 500ms, got {value!r}")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"expected a positive duration like 30s, 2m or 500ms, got {value!r}")
    return seconds


def parse_fraction(value: object) -> float:
    """A fraction in [0, 1] from ``0.01`` or ``"1%"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected a fraction like 0.01 or 1%, got {value!r}")
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            fraction = float(value.strip()[:-1]) / 100
        elif isinstance(value, int | float | str):
            fraction = float(value)
        else:
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"expected a fraction like 0.01 or 1%, got {value!r}") from None
    if not 0 <= fraction <= 1:
        raise ValueError(f"expected a fraction between 0 and 1 (or 0% to 100%), got {value!r}")
    return fraction


def format_duration(seconds: float) -> str:
    """The shortest of ``"500ms"``, ``"45s"``, ``"2m"`` that says exactly ``seconds``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


_BYTE_SIZE = TypeAdapter(ByteSize)


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"16MiB"``, ``"512KB"``; raises ValueError."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(_BYTE_SIZE.validate_python(value))
    except (ValueError, ValidationError):
        raise ValueError(
            f"expected a size like 16MiB, 512KB or 1048576 (bytes), got {value!r}"
        ) from None


Size = Annotated[int, BeforeValidator(parse_size)]

Duration = Annotated[
    float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_enum_values=False)
