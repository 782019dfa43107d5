"""SLO messages show numbers rounded for people: 0.849%, not 0.8489%."""

from __future__ import annotations

import pandas as pd

from stress.checks.slo import _error_rate


def test_an_error_rate_is_said_with_three_significant_digits() -> None:
    # 17 failed of 2,003: 0.84873...%.
    group = pd.DataFrame({"ok": [False] * 17 + [True] * 1986})
    result = _error_rate("load", 0.01, group)
    assert "error rate 0.849% (17 of 2003 requests) is within the limit of 1%" in result.message


def test_a_rate_just_over_its_limit_does_not_look_equal_to_it() -> None:
    group = pd.DataFrame({"ok": [False] * 52 + [True] * 4948})  # 1.04%
    result = _error_rate("load", 0.01, group)
    assert "error rate 1.04% (52 of 5000 requests) exceeds the limit of 1%" in result.message
