"""The preparation of a run: scenario + overrides → PreparedRun (stress.prepare.run).

run.py     prepare() and PreparedRun: resolved scenario, log seeds, corpus, checks
names.py   Catalog: what a scenario's names are judged against (stress.scenario.Catalog)
corpus.py  a scenario's corpus (families, weights, counts, log seeds) and --family
"""

from stress.prepare.run import PreparedRun, ScenarioLike, prepare

__all__ = ["PreparedRun", "ScenarioLike", "prepare"]
