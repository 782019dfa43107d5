"""What a run did with its log, in words, for the console and the reports (from logs.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe(report: Mapping[str, Any]) -> str:
    """One line: logged requests used and skipped, personal data replaced per kind."""
    scrubbed = report.get("scrubbed") or {}
    found = ", ".join(f"{count} {kind}" for kind, count in scrubbed.items()) or "none found"
    skipped = sum((report.get("skipped") or {}).values())
    return (
        f"{report.get('used')} of {report.get('entries')} logged requests used "
        f"({report.get('format')}, {skipped} skipped); personal data replaced: {found}"
    )
