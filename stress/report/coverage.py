"""What a run covered: inputs sent of inputs generated, and per family selection how many
families ran and how many were left out (summary["coverage"]).

A run against a slow endpoint may end its phases after sending a tenth of its corpus; a glob
such as ``numbers.*`` may select nine families of which one fits the target. A report that
says "300 inputs, numbers.* (11%)" then claims a coverage the run did not have, so the summary
states both::

    "coverage": {
      "generated": int | null,        # inputs in corpus.jsonl (null: the run kept none)
      "sent": int,                    # of them, inputs sent at least once
      "share": float | null,          # sent / generated
      "families_generated": int, "families_sent": int,
      "selections": [{                # one per key of inputs.families, in scenario order
        "key": str, "weight_share": float,   # the key's share of the weights
        "matching": int,              # families the key names for the target's protocol
        "generated": int,             # of them, families with inputs in the corpus
        "ran": int,                   # of them, families with an input sent
        "inapplicable": int,          # matching, not excluded, yet not generated (misfit)
        "excluded": int               # matching and taken out by inputs.exclude
      }],
      "message": str                  # one line: "sent 28 of 300 inputs (9%) ..."
    }
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from stress.rundir.read import RunData, iter_corpus
from stress.scenario import Scenario


def coverage_of(run: RunData) -> dict[str, Any]:
    """summary["coverage"] of a loaded run (the schema is in the module docstring)."""
    corpus = _corpus_families(run)
    sent_ids = {str(i) for i in run.records["input_id"].unique()} if len(run.records) else set()
    if corpus is None:
        generated, sent = None, len(sent_ids)
        families_generated = set(str(f) for f in run.records.get("family", []))
        families_sent = families_generated
    else:
        generated = len(corpus)
        sent_in_corpus = sent_ids & corpus.keys()
        sent = len(sent_in_corpus)
        families_generated = set(corpus.values())
        families_sent = {corpus[i] for i in sent_in_corpus}
    share = sent / generated if generated else None
    selections = _selections(run.scenario, families_generated, families_sent)
    return {
        "generated": generated,
        "sent": sent,
        "share": share,
        "families_generated": len(families_generated),
        "families_sent": len(families_sent),
        "selections": selections,
        "message": _message(generated, sent, share, selections),
    }


def selection_label(selection: Mapping[str, Any]) -> str:
    """``numbers.* (11%: 1 of 9 families ran, 8 inapplicable)``, for the setup lines."""
    share = f"{100 * float(selection['weight_share']):.0f}%"
    matching = int(selection["matching"])
    if matching <= 1 and not any(c in str(selection["key"]) for c in "*?["):
        ran = "" if selection["ran"] else ": sent no input"
        return f"{selection['key']} ({share}{ran})"
    parts = [f"{selection['ran']} of {matching} families ran"]
    if selection["inapplicable"]:
        parts.append(f"{selection['inapplicable']} inapplicable")
    if selection["excluded"]:
        parts.append(f"{selection['excluded']} excluded")
    not_sent = int(selection["generated"]) - int(selection["ran"])
    if not_sent > 0:
        parts.append(f"{not_sent} generated but not sent")
    return f"{selection['key']} ({share}: {', '.join(parts)})"


def short(coverage: Mapping[str, Any] | None) -> str | None:
    """The coverage line when the run sent less than it generated (None: it sent it all)."""
    if not coverage:
        return None
    share = coverage.get("share")
    if share is None or share >= 1.0:
        return None
    return str(coverage.get("message"))


def _corpus_families(run: RunData) -> dict[str, str] | None:
    """Input id -> family of every line of corpus.jsonl (None: no corpus)."""
    items = iter_corpus(run.run_dir)
    if items is None:
        return None
    return {item["id"]: str(item.get("family")) for item in items}


def _available(scenario: Scenario) -> list[str]:
    """Family names that apply to the scenario's protocol (built-in and custom)."""
    from stress.inputs.families import catalog

    protocol = scenario.target.protocol.value
    names = [name for name, family in catalog().items() if protocol in family.protocols]
    return names + [name for name in scenario.inputs.custom if name not in names]


def _selections(scenario: Scenario, generated: set[str], sent: set[str]) -> list[dict[str, Any]]:
    inputs = scenario.inputs
    available = _available(scenario)
    total = sum(inputs.families.values()) or 1.0
    exact = set(inputs.families)
    rows = []
    for key, weight in inputs.families.items():
        if any(c in key for c in "*?["):
            matching = [n for n in fnmatch.filter(available, key) if n not in exact]
        else:
            matching = [key]
        excluded = [n for n in matching if any(fnmatch.fnmatchcase(n, p) for p in inputs.exclude)]
        made = [n for n in matching if n in generated]
        rows.append(
            {
                "key": key,
                "weight_share": weight / total,
                "matching": len(matching),
                "generated": len(made),
                "ran": sum(n in sent for n in matching),
                "inapplicable": len(matching) - len(excluded) - len(made),
                "excluded": len(excluded),
            }
        )
    return rows


def _message(
    generated: int | None, sent: int, share: float | None, selections: list[dict[str, Any]]
) -> str:
    if generated is None:
        inputs = f"sent {sent:,} inputs (the run kept no corpus.jsonl to count them against)"
    elif share is not None and share < 1.0:
        inputs = (
            f"sent {sent:,} of {generated:,} inputs generated ({100 * share:.0f}%): the phases "
            f"ended before the rest were sent; lengthen them or lower inputs.count for a full pass"
        )
    else:
        inputs = f"sent all {generated:,} inputs generated"
    dropped = sum(int(s["inapplicable"]) for s in selections)
    matching = sum(int(s["matching"]) for s in selections)
    families = (
        f"; {dropped} of {matching} selected families left out as inapplicable to the target"
        if dropped
        else ""
    )
    return inputs + families
