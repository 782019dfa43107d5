"""The report's findings: the stored failures worth showing first, errors before warnings,
warnings before info.

A failure's severity is its gravest finding's: any error finding makes it an error; else any
warning (a check that judged the answer questionable but not wrong) a warning; else info (a
server version in a header). report.html shows the errors first and keeps the warnings and
then the info one click away (collapsed <details>); the console and summary.md list errors
and warnings only. Every string from a failure goes through markup.text.
"""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stress.report.markup import command, details, number, text

# The failures table shows this many stored failures: one per (check, family) first, then
# the rest in the order they were stored; failures.jsonl has them all.
MAX_FAILURES = 50
# Errors shown open; the others are one click away, as are the warnings.
SHOWN = 10
# Characters of a request or response body shown per failure.
EXCERPT_CHARS = 300


# Gravest first: a failure's rank is its gravest finding's.
RANK = {"error": 0, "warning": 1, "info": 2}


def severity(item: Mapping[str, Any]) -> str:
    """The failure's gravest finding's severity: error, warning or info (error when it
    names none, as a failure line from before severities)."""
    findings = [f for f in item.get("findings") or [] if isinstance(f, Mapping)]
    if not findings:
        return "error"
    return min((str(f.get("severity") or "error") for f in findings), key=_rank)


def gravest(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The failure's gravest finding, with its check and message (the failure itself when
    it lists none)."""
    findings = [f for f in item.get("findings") or [] if isinstance(f, Mapping)]
    if not findings:
        return item
    return min(findings, key=lambda f: _rank(str(f.get("severity") or "error")))


def _rank(name: str) -> int:
    return RANK.get(name, 0)


def top_failures(
    items: Iterable[Mapping[str, Any]], summary: Mapping[str, Any], *, limit: int = MAX_FAILURES
) -> list[Mapping[str, Any]]:
    """The failures worth showing first: one per (check, family), errors, then warnings, then
    info, each the most frequent first.

    Frequency is how many requests of the family had that check's finding
    (summary["families"]); the remaining slots go to further failures, errors first, each
    severity in stored order.
    """
    # (check, family) -> (its gravest severity's rank, requests), from the summary: what a
    # failure line without findings is ranked by.
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for family in summary.get("families", []):
        name = str(family.get("name"))
        for field, grade in (("checks", 0), ("check_warnings", 1), ("check_info", 2)):
            for check, n in (family.get(field) or {}).items():
                counts.setdefault((str(check), name), (grade, int(n)))

    def rank(key: tuple[str, str], item: Mapping[str, Any]) -> int:
        if item.get("findings"):
            return _rank(severity(item))
        return counts.get(key, (0, 0))[0]

    first: dict[tuple[str, str], Mapping[str, Any]] = {}
    rest: dict[int, list[Mapping[str, Any]]] = {rank: [] for rank in RANK.values()}
    for item in items:
        key = (str(item.get("check")), str(item.get("family")))
        if key not in first:
            first[key] = item
        elif len(kept := rest[rank(key, item)]) < limit:
            kept.append(item)
    ordered = sorted(first, key=lambda key: (rank(key, first[key]), -counts.get(key, (0, 0))[1]))
    chosen = [first[key] for key in ordered][:limit]
    further = [item for rank in sorted(rest) for item in rest[rank]]
    return chosen + further[: limit - len(chosen)]


def is_warning(item: Mapping[str, Any]) -> bool:
    """True when the failure's gravest finding is a warning."""
    return severity(item) == "warning"


def listed(failures: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The failures a short list (the console's, summary.md's) shows: errors, then warnings;
    never info, whatever its count."""
    ranked = [item for item in failures if severity(item) != "info"]
    return sorted(ranked, key=lambda item: _rank(severity(item)))


def findings_section(failures: Sequence[Mapping[str, Any]], run_dir: str) -> str:
    """The first SHOWN errors; the other errors, then the warnings, then the info, in
    collapsed <details>."""
    errors = [item for item in failures if severity(item) == "error"]
    warnings = [item for item in failures if severity(item) == "warning"]
    infos = [item for item in failures if severity(item) == "info"]
    if not failures:
        return "<p><i>no failures stored</i></p>"
    parts = [
        "<p>One row per check and input family first, the most frequent on top. Every "
        "command runs on this run directory; <code>failures.jsonl</code> holds them all.</p>",
        failures_table(errors[:SHOWN], run_dir) if errors else "<p><i>no errors among them</i></p>",
    ]
    if len(errors) > SHOWN:
        parts.append(
            details(
                f"{number(len(errors) - SHOWN)} more errors",
                failures_table(errors[SHOWN:], run_dir, first=SHOWN + 1),
            )
        )
    if warnings:
        parts.append(
            details(
                f"{number(len(warnings))} with warnings only (answers judged questionable, "
                "not wrong)",
                failures_table(warnings, run_dir, first=len(errors) + 1),
            )
        )
    if infos:
        parts.append(
            details(
                f"{number(len(infos))} with info only (noted, not a fault)",
                failures_table(infos, run_dir, first=len(errors) + len(warnings) + 1),
            )
        )
    return "".join(parts)


def failures_table(failures: Iterable[Mapping[str, Any]], run_dir: str, *, first: int = 1) -> str:
    """Two rows per failure: what failed and how to reproduce it; then the bodies, wide."""
    blocks = []
    for position, item in enumerate(failures, first):
        request = _mapping(item.get("request"))
        response = _mapping(item.get("response"))
        checks, messages = _findings(item)
        where = (
            f"<b>{text(item.get('input_id'))}</b><br>family {text(item.get('family'))}"
            f"<br>phase {text(item.get('phase'))}"
        )
        method_path = f"{text(request.get('method'))} {text(request.get('path'))}"
        blocks.append(
            '<tbody class="failure">'
            f'<tr><td class="num" rowspan="2">{number(position)}</td><td>{where}</td>'
            f"<td>{checks}</td><td>{messages}</td><td>{text(_status(response))}</td>"
            f"<td>{_commands(run_dir, item.get('input_id'))}</td></tr>"
            f'<tr><td colspan="2"><b>request</b> {method_path}'
            f'<div class="body">{text(_excerpt(_request_body(request)))}</div></td>'
            f'<td colspan="3"><b>response</b>'
            f'<div class="body">{text(_excerpt(response.get("body_excerpt")))}</div></td></tr>'
            "</tbody>"
        )
    if not blocks:
        return "<p><i>no failures stored</i></p>"
    head = "".join(
        f"<th>{name}</th>"
        for name in ("#", "input", "check", "message", "status", "reproduce (on this run)")
    )
    return f'<table class="failures"><thead><tr>{head}</tr></thead>{"".join(blocks)}</table>'


def commands(run_dir: str, input_id: object) -> list[str]:
    """The shell commands that replay, export and shrink one stored failure."""
    where = shlex.quote(run_dir)
    which = shlex.quote(str(input_id))
    return [
        f"stress replay {where} --id {which}",
        f"stress repro {where} --id {which} --format curl",
        f"stress shrink {where} --id {which}",
    ]


def _commands(run_dir: str, input_id: object) -> str:
    if not isinstance(input_id, str):
        return ""
    return "".join(command(line) for line in commands(run_dir, input_id))


def _findings(item: Mapping[str, Any]) -> tuple[str, str]:
    """The failure's checks (warnings marked) and messages, one line each, as HTML."""
    findings = [f for f in item.get("findings") or [] if isinstance(f, Mapping)]
    if not findings:
        return text(item.get("check")), text(item.get("message"))
    checks = [
        text(f.get("check")) + (f" ({f['severity']})" if f.get("severity") in _MARKED else "")
        for f in findings
    ]
    return "<br>".join(checks), "<br>".join(text(f.get("message")) for f in findings)


_MARKED = ("warning", "info")


def _status(response: Mapping[str, Any]) -> str:
    status, kind = response.get("status"), response.get("error_kind")
    if not status:
        return f"no answer ({kind})" if kind else "no answer"
    return f"{status} ({kind})" if kind else str(status)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _request_body(request: Mapping[str, Any]) -> str | None:
    if isinstance(request.get("body"), str):
        return str(request["body"])
    encoded = request.get("body_b64")
    if not isinstance(encoded, str):
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return "(body_b64 is not valid base64)"
    # Not UTF-8, so show the bytes: \xNN for each one that is not.
    return raw.decode("utf-8", "backslashreplace")


def excerpt(value: object) -> str | None:
    """``value`` as text, cut to EXCERPT_CHARS with the full length said."""
    if value is None:
        return None
    raw = str(value)
    return raw if len(raw) <= EXCERPT_CHARS else f"{raw[:EXCERPT_CHARS]}… ({len(raw)} chars)"


_excerpt = excerpt
