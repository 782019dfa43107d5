"""Judging a sampling endpoint's answers by their distribution, not by equality.

An endpoint samples when the same input, re-sent alone at low load, gets a different answer
from the baseline's (stress.checks.degradation counts those pairs as *unstable*). Its answers
under load cannot be compared one by one: a different answer is what sampling gives. Instead
the answers of each load level are compared, as a group, with the baseline's answers and the
quiet re-sends (the spread the endpoint shows with no load at all):

==========  ===========================================================================
feature     the level is degraded when
==========  ===========================================================================
length      the median answer length under load is below ``min_length_ratio`` times
            the baseline's median (or above its inverse)
vocabulary  the share of answer words seen in the baseline's answers is more than
            ``VOCABULARY_MARGIN`` below the share the quiet re-sends had
refusals    the share of empty or refusing answers is more than ``REFUSAL_MARGIN``
            above the baseline's and the re-sends'
==========  ===========================================================================

Only then are the level's changed answers that show the feature themselves (too short, too
few known words, a refusal) counted as degraded; the other changed answers are sampling.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

VOCABULARY_MARGIN = 0.25
REFUSAL_MARGIN = 0.25
# At least this many answers under load before a level is judged by its distribution.
MIN_ANSWERS = 3
_WORD = re.compile(r"\w+", re.UNICODE)
_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry,|i can(?:'|no)t|i cannot|i am unable|i'm unable|"
    r"as an ai\b)",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(text)]


def refuses(text: str) -> bool:
    """An empty answer or one that opens with a refusal."""
    return not text.strip() or _REFUSAL.match(text) is not None


def known_share(text: str, vocabulary: set[str]) -> float:
    """The share of ``text``'s words found in ``vocabulary`` (1.0 for no words)."""
    found = words(text)
    return sum(word in vocabulary for word in found) / len(found) if found else 1.0


@dataclass(frozen=True)
class Reference:
    """What the baseline answers and the quiet re-sends look like."""

    median_chars: float
    vocabulary: set[str]
    # Mean known-word share of the quiet re-sends, against the baseline's vocabulary.
    resend_share: float
    refusal_rate: float
    min_length_ratio: float

    @classmethod
    def of(
        cls, baseline: Sequence[str], resends: Sequence[str], min_length_ratio: float
    ) -> Reference:
        vocabulary = {word for text in baseline for word in words(text)}
        shares = [known_share(text, vocabulary) for text in resends] or [1.0]
        everything = [*baseline, *resends]
        refusals = sum(refuses(text) for text in everything) / max(1, len(everything))
        return cls(
            statistics.median(len(text) for text in baseline) if baseline else 0.0,
            vocabulary,
            statistics.fmean(shares),
            refusals,
            min_length_ratio,
        )

    def level_problems(self, answers: Sequence[str]) -> dict[str, str]:
        """{feature: why} for each feature by which a level's answers differ as a group."""
        if len(answers) < MIN_ANSWERS:
            return {}
        found: dict[str, str] = {}
        median = statistics.median(len(text) for text in answers)
        if self.median_chars:
            ratio = median / self.median_chars
            if ratio < self.min_length_ratio or ratio > 1 / self.min_length_ratio:
                found["length"] = (
                    f"median length {median:g} characters against the baseline's "
                    f"{self.median_chars:g} (ratio {ratio:.2f}, min_length_ratio "
                    f"{self.min_length_ratio:g})"
                )
        share = statistics.fmean(known_share(text, self.vocabulary) for text in answers)
        if share < self.resend_share - VOCABULARY_MARGIN:
            found["vocabulary"] = (
                f"{share:.0%} of the words are the baseline's, against {self.resend_share:.0%} "
                f"for answers re-sent alone"
            )
        refusals = sum(refuses(text) for text in answers) / len(answers)
        if refusals > self.refusal_rate + REFUSAL_MARGIN:
            found["refusals"] = (
                f"{refusals:.0%} empty or refusing answers, against {self.refusal_rate:.0%} "
                f"at the baseline"
            )
        return found

    def shows(self, feature: str, text: str) -> bool:
        """Whether one answer shows the feature its level was found degraded by."""
        if feature == "length":
            chars = len(text)
            return (
                chars < self.min_length_ratio * self.median_chars
                or chars * self.min_length_ratio > self.median_chars
            )
        if feature == "vocabulary":
            return known_share(text, self.vocabulary) < self.resend_share - VOCABULARY_MARGIN
        return refuses(text)
