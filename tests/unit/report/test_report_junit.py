"""junit.xml: one suite per check, one case per family or phase, counts CI can trust."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from stress.report import write_reports
from stress.report.junit import write_junit


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name", ""): suite for suite in root.iter("testsuite")}


def failing(suite: ET.Element) -> list[str]:
    return [c.get("name", "") for c in suite.iter("testcase") if c.find("failure") is not None]


def test_suites_cases_and_failure_counts(run_dir: Path) -> None:
    write_reports(run_dir)
    root = ET.parse(run_dir / "junit.xml").getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("17", "3", "0")
    found = suites(root)
    assert list(found) == [
        "not_a_server_error",
        "no_timeout",
        "no_connection_error",
        "response_shape",
        "status_expectation",
        "stream_integrity",
        "slo.error_rate",
        "slo.p95_ms",
        "requests_recorded",
    ]
    families = ["malformed.wrong_type", "realistic.chat_prompt"]
    for name in ("not_a_server_error", "no_timeout", "response_shape", "status_expectation"):
        assert [c.get("name") for c in found[name].iter("testcase")] == families
    assert failing(found["not_a_server_error"]) == ["realistic.chat_prompt"]
    assert failing(found["response_shape"]) == ["malformed.wrong_type"]
    assert failing(found["status_expectation"]) == []  # warnings only
    assert failing(found["slo.error_rate"]) == []
    assert failing(found["slo.p95_ms"]) == ["load"]
    for suite in found.values():
        assert suite.get("tests") == str(len(list(suite.iter("testcase"))))
        assert suite.get("failures") == str(len(failing(suite)))
    failure = found["slo.p95_ms"].find("testcase/failure")
    assert failure is not None
    assert "380.5 ms" in failure.get("message", "")
    warned = found["status_expectation"].find("testcase/system-out")
    assert warned is not None
    assert warned.text == "2 of 20 requests had warnings"


def test_an_empty_run_fails_in_junit(empty_run_dir: Path) -> None:
    write_reports(empty_run_dir)
    root = ET.parse(empty_run_dir / "junit.xml").getroot()
    found = suites(root)
    assert failing(found["requests_recorded"]) == ["run"]
    assert failing(found["slo.p95_ms"]) == ["baseline", "load"]
    assert found["not_a_server_error"].get("tests") == "0"
    assert root.get("failures") == "5"


def test_characters_xml_cannot_hold_are_replaced(tmp_path: Path) -> None:
    message = 'bad \x00 nul \ud800 surrogate \x1b esc <tag> & "quote" \U0001f600'
    summary = {
        "scenario": "x\x00y",
        "families": [],
        "checks": [
            {
                "name": "slo.p95_ms",
                "kind": "slo",
                "phase": "load",
                "passed": False,
                "message": message,
            },
        ],
    }
    path = tmp_path / "junit.xml"
    write_junit(summary, path)
    root = ET.parse(path).getroot()
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == (
        'bad \ufffd nul \ufffd surrogate \ufffd esc <tag> & "quote" \U0001f600'
    )
    assert root.get("name") == "stress x\ufffdy"
