"""junit.xml: the summary's checks as JUnit test suites, for CI test dashboards.

One ``<testsuite>`` per check, named after it. A per-request check has one ``<testcase>`` per
input family (it fails when a request of that family got an error finding from the check);
an SLO (``slo.error_rate``, ``slo.p95_ms``, ``slo.goodput``, ...) has one per phase and per
family it judged; the run check ``requests_recorded`` has one; a group check (degradation,
invariance) one per phase it judged, else one. Warnings never fail a test case; they appear
in its ``<system-out>``.
Each suite carries the run's start as ``timestamp`` and, as ``<properties>``, the scenario,
target and run directory, so a CI dashboard can link a red case back to its run.
The shape is tested against tests/unit/report/junit.xsd (what CI reporters read).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stress.rundir.write import replacing

# What XML 1.0 cannot hold at all, even escaped: most C0 controls (NUL included), lone
# surrogates and U+FFFE/U+FFFF. Messages quote inputs and answers, which can carry any of it.
# xs:dateTime, as run.json writes it (datetime.isoformat); anything else is left out.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_junit(summary: Mapping[str, Any], path: Path) -> None:
    """Write ``summary``'s checks to ``path`` as JUnit XML (UTF-8)."""
    root = junit_tree(summary)
    ET.indent(root)
    with replacing(path, "wb") as handle:
        ET.ElementTree(root).write(handle, encoding="utf-8", xml_declaration=True)


def junit_tree(summary: Mapping[str, Any]) -> ET.Element:
    """The ``<testsuites>`` element for ``summary`` (see the module docstring)."""
    families = list(summary.get("families", []))
    checks = list(summary.get("checks", []))
    root = ET.Element("testsuites", name=_clean(f"stress {summary.get('scenario', '')}"))
    duration = summary.get("totals", {}).get("duration_s")
    if isinstance(duration, int | float):
        root.set("time", f"{duration:.3f}")
    suites: dict[str, ET.Element] = {}
    for check in checks:
        name = str(check.get("name", ""))
        suite = suites.get(name)
        if suite is None:
            suite = suites[name] = _suite(root, name, summary)
        if check.get("kind") == "request":
            _request_cases(suite, check, families, summary.get("fail_on") or ["error"])
        else:
            case_name = check.get("family") or check.get("phase") or check.get("kind") or name
            _case(
                suite,
                name,
                str(case_name),
                failure=_failure(check),
                output=None,
                skipped=check.get("message") if check.get("status") == "not run" else None,
            )
    for suite in suites.values():
        _count(suite)
    _count(root)
    return root


def _suite(root: ET.Element, name: str, summary: Mapping[str, Any]) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", name=_clean(name))
    started = summary.get("started_at")
    if isinstance(started, str) and _DATETIME.match(started):
        suite.set("timestamp", started)
    properties = ET.SubElement(suite, "properties")
    for key in ("scenario", "target", "run_dir"):
        value = summary.get(key)
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=_clean(str(value)))
    return suite


def _request_cases(
    suite: ET.Element,
    check: Mapping[str, Any],
    families: Iterable[Mapping[str, Any]],
    fail_on: Iterable[str] = ("error",),
) -> None:
    name = str(check.get("name", ""))
    for family in families:
        requests = family.get("requests", 0)
        errors = int(family.get("checks", {}).get(name, 0))
        warnings = int(family.get("check_warnings", {}).get(name, 0))
        # The scenario's fail_on may make warnings (or info) fail the run: then they fail here.
        if "warning" in fail_on:
            errors, warnings = errors + warnings, 0
        if "info" in fail_on:
            errors += int(family.get("check_info", {}).get(name, 0))
        failure = None
        if errors:
            failure = (
                f"{errors} of {requests} requests of family {family.get('name')} failed {name}",
                str(check.get("message", "")),
            )
        output = f"{warnings} of {requests} requests had warnings" if warnings else None
        _case(suite, name, str(family.get("name", "")), failure=failure, output=output)


def _failure(check: Mapping[str, Any]) -> tuple[str, str] | None:
    if check.get("passed"):
        return None
    message = str(check.get("message", ""))
    return message, message


def _case(
    suite: ET.Element,
    classname: str,
    name: str,
    *,
    failure: tuple[str, str] | None,
    output: str | None,
    skipped: str | None = None,
) -> None:
    case = ET.SubElement(suite, "testcase", classname=_clean(classname), name=_clean(name))
    if skipped is not None:
        # Its phase never began (report.status): not judged, so neither passed nor failed.
        ET.SubElement(case, "skipped", message=_clean(skipped))
    if failure is not None:
        message, text = failure
        element = ET.SubElement(case, "failure", message=_clean(message), type="stress")
        element.text = _clean(text)
    if output is not None:
        ET.SubElement(case, "system-out").text = _clean(output)


def _count(element: ET.Element) -> None:
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(1 for case in cases if case.find("failure") is not None)))
    element.set("errors", "0")
    element.set("skipped", str(sum(1 for case in cases if case.find("skipped") is not None)))


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
