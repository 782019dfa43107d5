"""A scenario's corpus: the families it selects, with their weights, counts, limits, schema
and the log's seeds, turned into seeded inputs (stress.inputs.corpus.planned does the work).

``corpus_plan`` is called once per run, by the preparation (stress.prepare.run), which
generates (or streams) the inputs once; the other functions here are what selecting
families needs.
"""

from __future__ import annotations

from typing import Any

from stress.errors import UsageError
from stress.inputs import corpus as corpus_io
from stress.inputs.families import Context, Family, Limits, catalog
from stress.scenario import Scenario
from stress.scenario.inputs import is_glob

Seeds = tuple[dict[str, Any], ...]


def context(scenario: Scenario, logged: Seeds = ()) -> Context:
    """What the families generate for: the protocol, seed, features, limits, schema, log."""
    inputs = scenario.inputs
    return Context(
        protocol=scenario.target.protocol.value,
        seed=inputs.seed,
        features={name: (f.min, f.max) for name, f in inputs.features.items()},
        limits=Limits(**inputs.limits.model_dump()),
        schema=inputs.body_schema,
        body_format=scenario.target.format,
        logged=logged,
        task=inputs.task,
    )


def family_misfit(scenario: Scenario, name: str) -> str | None:
    """Why built-in family ``name`` cannot generate for this scenario's target (None: it can)."""
    family = catalog().get(name)
    if family is None:
        return None
    # The log is read after validation; here it matters only whether there is one.
    placeholder: Seeds = ()
    if scenario.inputs.from_log is not None:
        placeholder = ({"payload": {}},)
    return family.misfit(context(scenario, placeholder))


def build_corpus(
    scenario: Scenario, *, workers: int = 1, logged: Seeds | None = None
) -> list[corpus_io.Input]:
    """The scenario's corpus as a list (``corpus_plan``'s, generated at once)."""
    return list(corpus_plan(scenario, workers=workers, logged=logged).inputs())


def corpus_plan(
    scenario: Scenario, *, workers: int = 1, logged: Seeds | None = None
) -> corpus_io.Plan:
    """The scenario's corpus, not generated yet: its families, globs, excludes, counts,
    limits and schema (``.inputs()`` streams it).

    ``logged`` are inputs.from_log's scrubbed seeds (stress.logs.seeds); read here when not
    given (a caller outside a prepared run)."""
    inputs = scenario.inputs
    if logged is None:
        logged = _log_seeds(scenario)
    families = catalog({name: spec.model_dump() for name, spec in inputs.custom.items()})
    protocol = scenario.target.protocol.value
    made_for = context(scenario, logged)
    weights = chosen_weights(scenario, families, made_for)
    counts = dict(inputs.counts)
    if any(phase.logged for phase in scenario.load.phases):
        # A trace with inputs: logged sends arrival i's log entry: realistic.logged input i.
        # So the corpus holds every sampled entry once, in log order (the scenario model
        # refuses a count of its own for it); the rest of inputs.count goes to the others.
        counts["realistic.logged"] = len(made_for.logged)
        weights.pop("realistic.logged", None)
    return corpus_io.planned(
        families,
        weights,
        seed=inputs.seed,
        count=inputs.count,
        protocol=protocol,
        features=made_for.features,
        limits=made_for.limits,
        schema=inputs.body_schema,
        counts=counts,
        workers=workers,
        body_format=made_for.body_format,
        logged=made_for.logged,
        task=made_for.task,
    )


def chosen_weights(
    scenario: Scenario, families: dict[str, Family], made_for: Context
) -> dict[str, float]:
    """Family -> weight the scenario selects: its globs, names, excludes, less ``counts``.

    A family a glob picked that cannot work here (no number field whose range includes 0,
    say) is left out; one named exactly is reported by corpus.build. With a log, the
    logged requests are the realistic inputs: globs leave the Faker-made ones out.
    `stress generate --family` selects through here too, so it takes every glob a
    scenario takes."""
    inputs = scenario.inputs
    protocol = scenario.target.protocol.value
    available = {name: list(family.protocols) for name, family in families.items()}
    return {
        name: weight
        for name, weight in inputs.weights(available, protocol).items()
        if name in inputs.families
        or (
            families[name].misfit(made_for) is None
            and not (made_for.logged and _synthetic_realistic(families[name]))
        )
    }


def _log_seeds(scenario: Scenario) -> Seeds:
    if scenario.inputs.from_log is None:
        return ()
    from stress.logs import seeds

    return seeds.load(scenario).seeds


def _synthetic_realistic(family: Family) -> bool:
    return family.group == "realistic" and family.name != "realistic.logged" and not family.custom


def select_families(scenario: Scenario, pattern: str, *, count: int | None = None) -> Scenario:
    """A copy whose corpus is every family matching ``pattern`` that fits the target, equally
    weighted (for previews: `stress generate --family`), chosen as `inputs.families:
    {pattern: 1}` would choose them. Raises UsageError if none does."""
    protocol = scenario.target.protocol.value
    families = catalog({name: spec.model_dump() for name, spec in scenario.inputs.custom.items()})
    inputs = scenario.inputs.model_copy(
        update={"families": {pattern: 1.0}, "counts": {}, "exclude": []}
    )
    narrowed = scenario.model_copy(update={"inputs": inputs})
    placeholder: Seeds = ({"payload": {}},) if inputs.from_log is not None else ()
    matches = chosen_weights(narrowed, families, context(narrowed, placeholder))
    if not is_glob(pattern) and (
        pattern not in families or protocol not in families[pattern].protocols
    ):
        matches = {}
    if not matches:
        raise UsageError(
            f"--family: {pattern!r} matches no input family for protocol {protocol!r}; "
            f"`stress families` lists them"
        )
    inputs = inputs.model_copy(update={"count": count or len(matches)})
    return scenario.model_copy(update={"inputs": inputs})
