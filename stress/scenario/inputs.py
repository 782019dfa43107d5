"""The ``inputs`` section: families, weights, counts, features, limits, from_log."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from stress.scenario.messages import KeyedError
from stress.scenario.values import PositiveInt, StrictModel


class Feature(StrictModel):
    """The realistic range of one tabular feature column."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Feature:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max}); swap them")
        return self


class Limits(StrictModel):
    """The endpoint's declared limits, probed exactly by the size and numbers families."""

    max_prompt_chars: PositiveInt = 32_000
    max_rows: PositiveInt = 1_000
    max_tokens: PositiveInt = 4_096


class CustomFamily(StrictModel):
    """A family defined by the scenario: ``module:function`` returning a Hypothesis strategy."""

    function: str
    expect: Literal["accept", "reject", "resist", "accept_or_refuse"] = "accept"
    description: str = ""

    @field_validator("function")
    @classmethod
    def _reference(cls, function: str) -> str:
        if re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", function):
            return function
        raise ValueError(
            f"expected 'module:function' (e.g. my_package.inputs:greetings), got {function!r}"
        )


# Kinds of personal data scrubbed from logged requests (stress.logs.scrub.KINDS).
# Kept equal to stress.logs.scrub.KINDS by a test (the scenario imports nothing of logs/).
PiiKind = Literal[
    "email",
    "url",
    "iban",
    "card",
    "ssn",
    "national_id",
    "bic",
    "ip",
    "mac",
    "dob",
    "address",
    "phone",
    "name",
]
PII_KINDS: tuple[str, ...] = get_args(PiiKind)


class ScrubPattern(StrictModel):
    """A scenario's own kind of personal data: a regular expression and its substitute."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    regex: str
    # A Faker bothify template (# a digit, ? a letter); default: the match with each digit
    # and letter redrawn.
    replace: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc}), got {regex!r}") from None
        if compiled.fullmatch(""):
            raise ValueError(f"the pattern matches the empty string, got {regex!r}; tighten it")
        return regex


class Scrub(StrictModel):
    """Personal data replaced in logged requests before anything is written."""

    # Kinds to leave alone (e.g. [ip] when the log has no personal IP addresses).
    skip: list[PiiKind] = Field(default_factory=list)
    patterns: list[ScrubPattern] = Field(default_factory=list)
    # Phone numbers without a +country code are read as numbers of this region (ISO 3166).
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    # The Faker locale substitute names come from.
    locale: Annotated[str, Field(pattern=r"^[a-z]{2}_[A-Z]{2}$")] = "en_US"

    @model_validator(mode="after")
    def _unique_names(self) -> Scrub:
        names = [p.name for p in self.patterns]
        for index, name in enumerate(names):
            if name in PII_KINDS or name in names[:index]:
                raise KeyedError(
                    ("patterns", index, "name"),
                    f"{name!r} is already a kind of personal data; give the pattern its own name",
                )
        return self


class FromLog(StrictModel):
    """Real requests as the corpus's seeds (stress.logs): the realistic inputs, and what the
    perturbation and messy families vary."""

    # Relative to the scenario file.
    path: str
    format: Literal["auto", "jsonl", "har", "openai-batch"] = "auto"
    # At most this many logged requests, a random sample decided by inputs.seed.
    max: PositiveInt = 500
    scrub: Scrub = Field(default_factory=Scrub)


# What the endpoint does with text (stress.inputs.tasks.TASKS, kept equal by a test: the
# scenario imports nothing of inputs/).
TASKS = ("classify-sentiment", "classify-intent", "classify-topic", "embed", "chat", "tabular")


def is_glob(name: str) -> bool:
    return any(char in name for char in "*?[")


class Inputs(StrictModel):
    """The corpus: how many inputs, from which families, from which seed."""

    seed: Annotated[int, Field(strict=True, ge=0)] = 0
    count: PositiveInt = 200
    # Family name or glob (`unicode.*`) -> weight; an exact name beats a glob, a later glob
    # beats an earlier one.
    families: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)
    # Tabular protocols: the feature columns the model takes, with realistic ranges.
    features: dict[str, Feature] = Field(default_factory=dict)
    # Names or globs taken out of what `families` selects.
    exclude: list[str] = Field(default_factory=list)
    # Exact number of inputs for these families, taken out of `count`; the rest of `count`
    # is split over `families` by weight.
    counts: dict[str, PositiveInt] = Field(default_factory=dict)
    custom: dict[str, CustomFamily] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    # JSON Schema of the request body: valid bodies are generated from it and the structure
    # and numbers families damage its fields (default: the protocol's own schema).
    body_schema: dict[str, Any] | None = None
    # Logged requests to start from (docs/logs.md).
    from_log: FromLog | None = None
    # What the endpoint does with text: its realistic and perturbation seeds fit the task
    # (labelled texts for a classifier, passages for embeddings; docs/catalog.md). None: chat
    # prompts for text endpoints, rows for tabular ones.
    task: str | None = None

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str | None) -> str | None:
        if task is None or task in TASKS:
            return task
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)} or remove the key")

    def weights(self, available: Mapping[str, Sequence[str]], protocol: str) -> dict[str, float]:
        """Family -> weight after globs and excludes; ``available`` maps each family to the
        protocols it applies to. Families in ``counts`` are left to those counts."""
        usable = [name for name, protocols in available.items() if protocol in protocols]
        chosen: dict[str, float] = {}
        for key, weight in self.families.items():
            if is_glob(key):
                for name in fnmatch.filter(usable, key):
                    if name not in self.families:
                        chosen[name] = weight
            else:
                chosen[key] = weight
        for pattern in self.exclude:
            for name in fnmatch.filter(list(chosen), pattern):
                del chosen[name]
        return {name: weight for name, weight in chosen.items() if name not in self.counts}
