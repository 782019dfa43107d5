"""The catalog: every built-in input family, by group, plus a scenario's custom families.

Groups, in the order reports list them: realistic, unicode, size, numbers, structure,
encoding, injection, perturbation. docs/catalog.md describes each family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stress.inputs import (
    characters,
    custom,
    injection,
    numeric,
    perturbation,
    realistic,
    sizes,
    structure,
    tensors,
    wire,
)
from stress.inputs.damage import MANGLERS, invalid_utf8, truncated
from stress.inputs.family import (
    ALL_PROTOCOLS,
    CHAT,
    LOCALES,
    TABULAR,
    Cache,
    Context,
    Draw,
    Expect,
    Family,
    Kind,
    Limits,
)

GROUPS = (
    "realistic",
    "unicode",
    "size",
    "numbers",
    "structure",
    "encoding",
    "injection",
    "perturbation",
)

__all__ = [
    "ALL_PROTOCOLS",
    "CHAT",
    "GROUPS",
    "LOCALES",
    "MANGLERS",
    "TABULAR",
    "Cache",
    "Context",
    "Draw",
    "Expect",
    "Family",
    "Kind",
    "Limits",
    "catalog",
    "invalid_utf8",
    "truncated",
]


def catalog(custom_families: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Family]:
    """Every family by name: the built-in ones, then ``custom_families`` (a scenario's
    ``inputs.custom``). A new dict each call: callers may filter it freely.

    Raises custom.CustomFamilyError when a custom family's function cannot be used.
    """
    modules = (
        realistic,
        characters,
        sizes,
        numeric,
        structure,
        tensors,
        wire,
        injection,
        perturbation,
    )
    families = [family for module in modules for family in module.families()]
    families.sort(key=lambda family: GROUPS.index(family.group))  # stable: module order within
    found = {family.name: family for family in families}
    for name, spec in (custom_families or {}).items():
        found[name] = custom.family(name, spec)
    return found
