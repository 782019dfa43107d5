"""Personal data in logged requests, replaced with consistent substitutes before anything is
written: the entry point stress.logs.seeds uses (the detectors live in stress.logs.pii).

``Scrubber(seed, skip, patterns, region, locale)``: ``learn`` every value of the log, then
``scrub`` each (strings, integers, JSON documents inside strings, table rows; keys kept);
``counts`` says how many values of each kind were replaced; ``names`` lists the substitute
names in a scrubbed text. ``KINDS`` lists the kinds, in the order they win when two overlap;
docs/logs.md describes each and what is not found.
"""

from __future__ import annotations

from stress.logs.pii.names import NAME_LOCALES
from stress.logs.pii.scrubber import KINDS, Pattern, Scrubber

__all__ = ["KINDS", "NAME_LOCALES", "Pattern", "Scrubber"]
